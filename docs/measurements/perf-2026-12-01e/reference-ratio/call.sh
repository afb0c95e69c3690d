# The reference ratio on the space-to-depth code, FP16 compiled, one run.
DEADLINE=${DEADLINE:-200}
source .devscripts/common.sh
B=$OUT/u; mkdir -p $B
step 180 "bench ref/train/infer fp16 compiled" python3 -m avbench bench --device cuda --what reference,train,infer --precision 16-mixed --compile --out $B

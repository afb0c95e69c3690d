DEADLINE=${DEADLINE:-200}
source .devscripts/common.sh
B=$OUT/s; mkdir -p $B
step 90 "conv s2d" python3 .devscripts/conv_s2d.py $B/conv-s2d.json

# The first conv as space-to-depth on GPUs: GPU tests, then BF16 and FP16 speed (compiled, eager),
# end to end, and one standard cell (BF16 eager: speed and AUC).
DEADLINE=${DEADLINE:-570}
source .devscripts/common.sh
B=$OUT/t; mkdir -p $B
step 120 "gpu tests" bash -c "python3 -m pytest -o addopts='' -q -m gpu -p no:cacheprovider tests/methods tests/bench/test_reference_loop.py tests/test_training.py > $B/gpu-tests.txt 2>&1; tail -1 $B/gpu-tests.txt; grep -h 'FAILED\|^E ' $B/gpu-tests.txt | head -12"
step 70 "make+decode dataset" python3 -m avbench data prepare --workers 16
step 100 "bf16 compiled train/e2e" python3 -m avbench bench --device cuda --what train,e2e --precision bf16-mixed --compile --loader-threads 8 --out $B/bf16c
step 90 "fp16 compiled train/e2e" python3 -m avbench bench --device cuda --what train,e2e --precision 16-mixed --compile --loader-threads 8 --out $B/fp16c
step 40 "bf16 eager train" python3 -m avbench bench --device cuda --what train --precision bf16-mixed --out $B/bf16e
B=$B python3 - <<'PY'
import json, glob, os
for f in sorted(glob.glob(os.environ["B"] + "/*/bench*.json")):
    for r in json.load(open(f))["results"]:
        print(f.split("/")[-2], r.get("benchmark"), r.get("loader_workers"), round(r.get("clips_per_s") or 0, 1), r.get("resident_clips_per_s"), r.get("data_path_share"))
PY
step 115 "standard cell seed 0" bash -c "python3 -m avbench run --method f5c_featdiff --protocol overall --seed 0 --device cuda --profile standard --db $B/cell/results.sqlite > $B/cell.log 2>&1; grep -h 'epoch 6/6\|trained in\|rror' $B/cell.log; tail -n 4 $B/cell.log"
find $B -name models -type d -prune -exec rm -rf {} +

# Next session, first call: verify the read-back fix and BF16 fused-AdamW skip on a GPU, then
# the official benches (e2e at 8 and 4 threads) and a standard cell (BF16 speed).
DEADLINE=${DEADLINE:-580}
source .devscripts/common.sh
B=$OUT/o; mkdir -p $B
step 110 "gpu tests" bash -c "python3 -m pytest -o addopts='' -q -m gpu -p no:cacheprovider tests/ops tests/test_training.py tests/bench/test_reference_loop.py tests/data/test_prefetch.py > $B/gpu-tests.txt 2>&1; tail -3 $B/gpu-tests.txt; grep -h 'FAILED\|^E ' $B/gpu-tests.txt | head -12"
step 80 "make+decode dataset" python3 -m avbench data prepare --workers 16
step 200 "bench ref/train/infer/e2e fp16 compiled" python3 -m avbench bench --device cuda --what reference,train,infer,e2e --precision 16-mixed --compile --loader-threads 8,4 --out $B
B=$B python3 - <<'PY'
import json, glob, os
for f in glob.glob(os.environ["B"] + "/bench*.json"):
    for r in json.load(open(f))["results"]:
        print(r.get("benchmark"), r.get("loader_workers"), round(r.get("clips_per_s") or 0, 1), r.get("resident_clips_per_s"), r.get("data_path_share"), r.get("host_ms_per_step"), r.get("wait_ms_per_step"))
PY
step 120 "standard cell fused seed 0" bash -c "python3 -m avbench run --method f5c_featdiff --protocol overall --seed 0 --device cuda --profile standard --db $B/cell/results.sqlite > $B/cell.log 2>&1; grep -h 'epoch 6/6\|trained in\|rror' $B/cell.log; tail -n 6 $B/cell.log"
find $B -name models -type d -prune -exec rm -rf {} +
ls -la $B

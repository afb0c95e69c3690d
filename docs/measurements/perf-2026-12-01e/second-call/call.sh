# Second instance: the whole GPU suite, e2e FP16 and BF16 compiled, e2e on 4 of the 16 cores.
DEADLINE=${DEADLINE:-580}
source .devscripts/common.sh
B=$OUT/p; mkdir -p $B
step 140 "gpu tests (all)" bash -c "python3 -m pytest -o addopts='' -q -m gpu -p no:cacheprovider tests > $B/gpu-tests-all.txt 2>&1; tail -1 $B/gpu-tests-all.txt; grep -h 'FAILED\|^E ' $B/gpu-tests-all.txt | head -12"
step 80 "make+decode dataset" python3 -m avbench data prepare --workers 16
step 120 "bench train/e2e fp16 compiled" python3 -m avbench bench --device cuda --what train,e2e --precision 16-mixed --compile --loader-threads 8 --out $B/fp16
step 90 "bench train/e2e bf16 compiled" python3 -m avbench bench --device cuda --what train,e2e --precision bf16-mixed --compile --loader-threads 8 --out $B/bf16
step 90 "bench e2e fp16 compiled on 4 cores" taskset -c 0-3 python3 -m avbench bench --device cuda --what e2e --precision 16-mixed --compile --loader-threads 3 --out $B/cores4
B=$B python3 - <<'PY'
import json, glob, os
for f in sorted(glob.glob(os.environ["B"] + "/*/bench*.json")):
    for r in json.load(open(f))["results"]:
        print(f.split("/")[-2], r.get("benchmark"), r.get("loader_workers"), round(r.get("clips_per_s") or 0, 1), r.get("resident_clips_per_s"), r.get("data_path_share"), r.get("host_ms_per_step"), r.get("wait_ms_per_step"))
PY
ls -la $B

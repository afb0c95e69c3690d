# BF16 vs FP16 convs by layer and layout; e2e on 4 and 8 of the 16 cores (default, CUDA graphs).
DEADLINE=${DEADLINE:-560}
source .devscripts/common.sh
B=$OUT/r; mkdir -p $B
step 90 "conv layouts" python3 .devscripts/conv_layouts.py $B/conv-layouts.json
step 70 "make+decode dataset" python3 -m avbench data prepare --workers 16
step 90 "e2e 8 cores" taskset -c 0-7 python3 -m avbench bench --device cuda --what train,e2e --precision 16-mixed --compile --loader-threads 6 --out $B/cores8
step 90 "e2e 4 cores" taskset -c 0-3 python3 -m avbench bench --device cuda --what e2e --precision 16-mixed --compile --loader-threads 3,2 --out $B/cores4
step 120 "e2e 4 cores cuda graphs" taskset -c 0-3 python3 -m avbench bench --device cuda --what train,e2e --precision 16-mixed --compile --compile-mode reduce-overhead --loader-threads 3 --out $B/cores4-graphs
B=$B python3 - <<'PY'
import json, glob, os
for f in sorted(glob.glob(os.environ["B"] + "/*/bench*.json")):
    for r in json.load(open(f))["results"]:
        print(f.split("/")[-2], r.get("benchmark"), r.get("loader_workers"), round(r.get("clips_per_s") or 0, 1), r.get("resident_clips_per_s"), r.get("data_path_share"), r.get("host_ms_per_step"), r.get("wait_ms_per_step"))
PY

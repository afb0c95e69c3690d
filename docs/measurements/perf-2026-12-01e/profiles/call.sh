# Why compiled BF16 trains slower than compiled FP16: kernel tables of both, and eager of both.
DEADLINE=${DEADLINE:-560}
source .devscripts/common.sh
B=$OUT/q; mkdir -p $B
step 150 "profile bf16+fp16 compiled" python3 -m avbench bench --device cuda --what profile,train --precision bf16-mixed --compile --out $B/bf16c
step 120 "profile fp16 compiled" python3 -m avbench bench --device cuda --what profile,train --precision 16-mixed --compile --out $B/fp16c
step 80 "train eager bf16" python3 -m avbench bench --device cuda --what train --precision bf16-mixed --out $B/bf16e
step 80 "train eager fp16" python3 -m avbench bench --device cuda --what train --precision 16-mixed --out $B/fp16e
find $B -name '*.trace.json' -delete
B=$B python3 - <<'PY'
import json, glob, os
for f in sorted(glob.glob(os.environ["B"] + "/*/bench*.json")):
    for r in json.load(open(f))["results"]:
        if r.get("benchmark") == "profile":
            print(f.split("/")[-2], "kernel ms/step", round(r["self_time_ms_per_step"], 2))
            for t in r["top"][:25]:
                print("   %7.3f ms %5.1f%% x%-4g %s" % (t["ms_per_step"], 100 * t["share"], t["calls_per_step"], t["name"][:110]))
        else:
            print(f.split("/")[-2], r.get("benchmark"), round(r.get("clips_per_s") or 0, 1), round(r.get("step_ms") or 0, 2))
PY

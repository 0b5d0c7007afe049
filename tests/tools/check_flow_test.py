#!/usr/bin/env python3
"""CPU test of tools/gpu/check.sh's flow, with stand-ins for the GPU machine's programs.

check.sh runs once per GPU lease, so a slip in its shell logic costs a lease. This test runs the
real script (and the real summarize.py, retry_variants.py, ptxas_report.py) in a copy of tools/gpu
with cmake, ctest, nvidia-smi and the built programs replaced by small scripts: the stand-in
gallop_kernel_bench writes rows with the real fields, and in the side-by-side process
gallop-sm90-ws-p2-s3 "traps" on the third shape, after which every row of that process fails, as a
broken CUDA context makes them. Checked: each backend left with a broken row is timed again alone,
the summary holds one timed row per shape and backend with the side-by-side row where there is one,
names the broken rows (the culprit first) and is not all_passed, and the whole-DiT steps still run.
Exit status 0 or 1."""
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = sys.executable
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def script(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


FAKE_BENCH = f"""#!{PY}
import json, sys
args = sys.argv[1:]
def value(flag, default=None):
    return args[args.index(flag) + 1] if flag in args else default
shapes = [("1.3B-480p", 12, 32760, 32760), ("1.3B-720p", 12, 75600, 75600), ("14B-480p", 40, 32760, 32760),
          ("14B-720p", 40, 75600, 75600), ("14B-720p-cross", 40, 75600, 512)]
backends = value("--attention", "cudnn").split(",")
doc = {{"date": "2026-11-27T00:00:00Z", "device": {{"name": "NVIDIA H100 80GB HBM3", "sm_count": 132,
        "max_sm_clock_mhz": 1980, "max_mem_clock_mhz": 2619, "bus_width_bits": 5120, "peak_gbps": 3352.0,
        "driver": "13.0", "runtime": "13.0", "torch": "2.11.0", "cudnn": "91900"}}}}
if "--no-attention" not in args:
    rows, broken = [], False
    for i, (name, h, lq, lk) in enumerate(shapes):
        for b in backends:
            r = {{"shape": name, "heads": h, "len_q": lq, "len_k": lk, "head_dim": 128, "dtype": "bf16", "backend": b}}
            if b == "gallop-sm90-ws-p2-s3" and len(backends) > 1 and i == 2:
                broken = True
            if broken:
                r["error"] = "CUDA error: an illegal instruction was encountered"
            else:
                tf = (560.0 if b in ("cudnn", "flash") else 600.0) - (150.0 if lk == 512 else 0.0)
                ms = 4.0 * h * lq * lk * 128 / (tf * 1e12) * 1e3
                r.update(tflops=tf, ms_median=ms, ms_min=ms, ms_max=ms, verified=True, sm_clock_mhz_after=1700,
                         iters=8 if len(backends) > 1 else 5)
            rows.append(r)
    doc["attention"] = rows
if "--no-fused" not in args:
    doc["fused"] = [{{"kernel": "layer_norm_modulate", "types": "bf16 -> fp32, 32760 x 1536", "ms_median": 0.1,
                     "gbps": 2800.0, "pct_peak": 83.5}}]
if "--no-ceilings" not in args:
    doc["ceilings"] = {{"copy_gbps": 2900.0, "gemm_bf16_8192_tflops": 780.0}}
with open(value("--json"), "w") as f:
    json.dump(doc, f)
print("fake gallop_kernel_bench:", " ".join(args), file=sys.stderr)
"""

FAKE_GALLOP = f"""#!{PY}
import json, sys
args = sys.argv[1:]
if args and args[0] == "bench":
    backends = args[args.index("--attention") + 1].split(",")
    with open(args[args.index("--json") + 1], "w") as f:
        json.dump({{"model": "t2v-1.3b", "dit": [{{"attention": b, "seconds_per_forward": 0.5}} for b in backends]}}, f)
sys.exit(0)
"""

FAKE_CMAKE = f"""#!/usr/bin/env bash
# configure: print and succeed; --build DIR: put the stand-in programs there.
if [ "$1" = "--build" ]; then
  mkdir -p "$2/tests"
  cp "{{STUBS}}/fake_bench" "$2/gallop_kernel_bench"
  cp "{{STUBS}}/fake_gallop" "$2/gallop"
  printf '#!/bin/sh\\nexit 0\\n' > "$2/tests/kernels_gpu_test"
  chmod +x "$2/gallop_kernel_bench" "$2/gallop" "$2/tests/kernels_gpu_test"
  echo "ptxas info    : Used 168 registers, used 1 barriers"
fi
echo "fake cmake $*"
"""

FAKE_CTEST = """#!/usr/bin/env bash
junit=""
while [ $# -gt 0 ]; do [ "$1" = "--output-junit" ] && junit=$2; shift; done
cat > "$junit" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="gpu" tests="2" failures="0" skipped="0">
  <testcase name="Kernels/GallopAttention.MatchesReference/gallop_sm90_ws_p2_bf16_d128" status="run" time="1.0"/>
  <testcase name="QkNormRopeGpu.MatchesTheOfficialOpOrder" status="run" time="2.0"/>
</testsuite>
XML
echo "100% tests passed, 0 tests failed out of 2"
"""

FAKE_SMI = """#!/usr/bin/env bash
case "$*" in
  *--query-gpu*)
    while true; do
      echo "2026/11/27 00:00:00.000, 1700 MHz, 2619 MHz, 600.00 W, 60, 100 %"
      sleep 0.2
    done ;;
  *) echo "NVIDIA H100 80GB HBM3 (stand-in)" ;;
esac
"""


def main():
    with tempfile.TemporaryDirectory() as tmp:
        repo = os.path.join(tmp, "repo")
        shutil.copytree(os.path.join(ROOT, "tools", "gpu"), os.path.join(repo, "tools", "gpu"))
        os.makedirs(os.path.join(repo, ".gpu-deps", "googletest"))
        open(os.path.join(repo, ".gpu-deps", "googletest", "CMakeLists.txt"), "w").close()
        stubs = os.path.join(tmp, "stubs")
        os.makedirs(stubs)
        script(os.path.join(stubs, "fake_bench"), FAKE_BENCH)
        script(os.path.join(stubs, "fake_gallop"), FAKE_GALLOP)
        script(os.path.join(stubs, "cmake"), FAKE_CMAKE.replace("{STUBS}", stubs))
        script(os.path.join(stubs, "ctest"), FAKE_CTEST)
        script(os.path.join(stubs, "nvidia-smi"), FAKE_SMI)
        out = os.path.join(tmp, "out")
        variants = "ws-p2 ws-p2-c2 ws-p2-prof ws-p2-c2-s3 ws-p2-s3 ws-pingpong-p2 ws-p2-n144".split()
        env = dict(os.environ, PATH=stubs + os.pathsep + os.environ.get("PATH", ""), PYTHON=PY,
                   GALLOP_CHECK_BUILD_DIR=os.path.join(tmp, "build-gpu"), GALLOP_CHECK_JOBS="2",
                   GALLOP_CHECK_SM90=" ".join(variants))
        run = subprocess.run(["bash", os.path.join(repo, "tools", "gpu", "check.sh"), out], env=env,
                             capture_output=True, text=True, timeout=300)
        check(run.returncode == 1, f"check.sh exits 1 when a kernel broke its process (got {run.returncode})")
        if failures:
            print(run.stderr[-2000:])
        with open(os.path.join(out, "summary.json")) as f:
            s = json.load(f)
        steps = {x["name"]: x["status"] for x in s["steps"]}
        check(steps.get("bench-attention") == "ok", f"the side-by-side step ran: {steps}")
        # bench-gallop-sm80 is a step of its own (the sm_80 kernel, last), not a retry.
        retried = sorted(n[len("bench-"):] for n in steps
                         if n.startswith(("bench-gallop-sm90-", "bench-cudnn")))
        backends = ["cudnn"] + ["gallop-sm90-" + v for v in variants]
        check(retried == sorted(backends), f"every backend with a broken row was timed again alone: {retried}")
        check(all(steps.get(n) == "ok" for n in ("gallop-bench", "gallop-bench-variants", "gallop-generate")),
              f"the whole-DiT steps ran: {steps}")
        rows = s["attention"]
        keys = [(r["shape"], r["backend"]) for r in rows]
        # The side-by-side backends, flash (the library process) and gallop-sm80 (its own step).
        check(len(keys) == len(set(keys)) == 5 * (len(backends) + 2) and all("tflops" in r for r in rows),
              f"one timed row per shape and backend ({len(keys)} rows, {len(set(keys))} distinct)")
        broken = [x for x in s["failures"] if "timed again" in x.get("note", "")]
        check(broken and broken[0]["bench"] == "14B-480p gallop-sm90-ws-p2-s3",
              f"the summary names the broken rows, the culprit first: {broken[:1]}")
        check(s["all_passed"] is False, "not all_passed")
        check(s.get("dit_bench", {}).get("dit") and s.get("tests", {}).get("passed") == 2,
              "the DiT timings and the test results are in the summary")
        with open(os.path.join(out, "bench.json")) as f:
            merged = json.load(f)
        first = [r.get("iters") for r in merged["attention"] if r["backend"] == "gallop-sm90-ws-p2"]
        check(first == [8, 8, 8, 5, 5], f"side-by-side rows where they were timed, retried rows elsewhere: {first}")
    print("FAILED: " + "; ".join(failures) if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

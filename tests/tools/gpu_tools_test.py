#!/usr/bin/env python3
"""CPU test of the scripts that turn a tools/gpu/check.sh run into decisions: which Hopper variants
check.sh times again after a broken kernel took down the shared benchmark process
(tools/gpu/retry_variants.py), how the summary merges those processes' rows (summarize.py: a timed
row wins over a broken one), and the `auto` table rows that tuning_rows.py derives from one or several
runs of a card.
The rows are made up; their fields are those gallop_kernel_bench writes. Exit status 0 or 1."""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "gpu"))

import retry_variants  # noqa: E402
import summarize  # noqa: E402

SHAPES = [("1.3B-480p", 12, 32760, 32760), ("1.3B-720p", 12, 75600, 75600), ("14B-480p", 40, 32760, 32760),
          ("14B-720p", 40, 75600, 75600), ("14B-720p-cross", 40, 75600, 512)]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def row(shape, backend, tflops=None, error=None, iters=8):
    name, heads, lq, lk = shape
    r = {"shape": name, "heads": heads, "len_q": lq, "len_k": lk, "head_dim": 128, "dtype": "bf16",
         "backend": backend}
    if tflops is not None:
        ms = 4.0 * heads * lq * lk * 128 / (tflops * 1e12) * 1e3
        r.update(tflops=tflops, ms_median=ms, ms_min=ms, ms_max=ms, iters=iters, verified=True,
                 sm_clock_mhz_after=1700)
    else:
        r["error"] = error
    return r


# Each backend's speed (TFLOP/s) on self-attention; cross-attention (512 keys): 200 less for gallop's
# kernels, 100 less for cuDNN, so cuDNN stays faster there.
SPEED = {"cudnn": 560.0, "ws-p2": 600.0, "ws-p2-c2": 640.0, "ws-p2-prof": 590.0, "ws-p2-s3": 610.0,
         "ws-pingpong-p2": 630.0}


def speed(backend, shape):
    name = backend[len("gallop-sm90-"):] if backend.startswith("gallop-sm90-") else backend
    return SPEED[name] - ((100 if name == "cudnn" else 200) if shape[3] == 512 else 0)


def main():
    variants = ["ws-p2", "ws-p2-c2", "ws-p2-prof", "ws-p2-s3", "ws-pingpong-p2"]
    # The shared process: cuDNN, ws-p2 and ws-p2-c2 fine; ws-p2-s3 traps on the third shape and every
    # later row of the process fails (the context is gone); ws-pingpong-p2 computes a wrong result on
    # the first shape (not a reason to time it again).
    shared = []
    broken = False
    for i, sh in enumerate(SHAPES):
        for b in ["cudnn"] + ["gallop-sm90-" + v for v in variants]:
            if b == "gallop-sm90-ws-p2-s3" and i == 2:
                broken = True
            if broken:
                shared.append(row(sh, b, error="CUDA error: an illegal instruction was encountered"))
            elif b == "gallop-sm90-ws-pingpong-p2" and i == 0:
                shared.append(row(sh, b, error="wrong result: not timed"))
            else:
                shared.append(row(sh, b, tflops=speed(b, sh)))
    backends = ["cudnn"] + ["gallop-sm90-" + v for v in variants]
    retry = retry_variants.backends_to_retry(shared, backends)
    check(retry == backends, f"after the trap every backend with a broken row is timed again: {retry}")
    healthy = [r for r in shared if "illegal" not in r.get("error", "")]
    retry = retry_variants.backends_to_retry(healthy, backends + ["gallop-sm90-ws-p2-split"])
    check(retry == ["gallop-sm90-ws-p2-split"], f"a wrong result is not timed again, a backend with no row is: {retry}")
    check(retry_variants.backends_to_retry([], backends) == backends, "no rows (the process died): all of them")
    check(retry_variants.backends_to_retry(healthy, backends, partial=True) == backends,
          "a process stopped part way (the shapes after it have no rows): all of them")

    with tempfile.TemporaryDirectory() as tmp:
        files = []
        docs = [{"attention": shared, "device": {"name": "NVIDIA H100 80GB HBM3"}}]
        # Every backend timed again, each alone (later files; 5 runs where the shared process made 8).
        for b in backends:
            docs.append({"attention": [row(sh, b, tflops=speed(b, sh), iters=5) for sh in SHAPES]})
        for i, d in enumerate(docs):
            files.append(os.path.join(tmp, f"bench_{i}.json"))
            with open(files[-1], "w") as f:
                json.dump(d, f)
        merged = summarize.merge_bench(files)
        keys = [(r["shape"], r["backend"]) for r in merged["attention"]]
        check(len(keys) == len(set(keys)) == len(SHAPES) * (1 + len(variants)),
              f"one row per shape and backend after the merge ({len(keys)} rows, {len(set(keys))} distinct)")
        s3 = [r for r in merged["attention"] if r["backend"] == "gallop-sm90-ws-p2-s3"]
        check(all("tflops" in r for r in s3), "the variant's timed rows replace its broken ones")
        gone = merged["broken_rows_timed_again"]
        culprit = (gone[0]["shape"], gone[0]["backend"]) if gone else None
        check(len(gone) == 2 + 2 * 6 and culprit == ("14B-480p", "gallop-sm90-ws-p2-s3"),
              f"the summary names the rows the broken kernel took down, the culprit first ({len(gone)})")
        pp = [r for r in merged["attention"] if r["backend"] == "gallop-sm90-ws-pingpong-p2"]
        check("wrong result" in pp[0].get("error", "") and all("tflops" in r for r in pp[1:]),
              "a wrong result stands even where another process timed the kernel")
        # ws-p2 ran before the trap on the third shape, ws-p2-s3 trapped there.
        first = [r["iters"] for r in merged["attention"] if r["backend"] == "gallop-sm90-ws-p2"]
        check(first == [8, 8, 8, 5, 5],
              f"the side-by-side rows stand where they were timed, the retried ones elsewhere: {first}")
        table, _ = summarize.bench_table(merged)
        summary = os.path.join(tmp, "summary.json")
        with open(summary, "w") as f:
            json.dump({"device": "NVIDIA H100 80GB HBM3", "date": "2026-11-27T00:00:00Z", "attention": table,
                       "fused": []}, f)
        out = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gpu", "tuning_rows.py"), summary],
                             capture_output=True, text=True)
        check(out.returncode == 0, f"tuning_rows.py runs ({out.stderr[-300:]})")
        rows = [line for line in out.stdout.splitlines() if "AttentionBackend::Gallop" in line]
        # Self-attention (32760 and 75600 keys): ws-p2-c2 has the best worst ratio; cross (512 keys):
        # 455 vs 460, cuDNN stays, so no row covers it.
        check(len(rows) == 2 and all('"gallop-sm90-ws-p2-c2"' in r for r in rows),
              f"ws-p2-c2 gets the self-attention rows and cross-attention gets none: {rows}")
        check(all('"H100", 9, 0' in r for r in rows), "the rows name the measured card")

        # Several runs of one card: a check.sh summary and the benchmark's own JSON of a second run.
        # ws-p2-c2 leads in run 1 but falls behind ws-p2-s3 in run 2 (its worst ratio over both runs
        # decides); ws-pingpong-p2 is fastest but timed in run 1 alone, so it is not compared.
        def run_rows(run_speed):
            out = []
            for sh in SHAPES[:4]:
                for b, tf in run_speed.items():
                    out.append(dict(row(sh, b, tflops=tf), ms=0.0))
            return out
        run1 = run_rows({"cudnn": 560.0, "gallop-sm90-ws-p2-c2": 660.0, "gallop-sm90-ws-p2-s3": 640.0,
                         "gallop-sm90-ws-pingpong-p2": 700.0})
        run2 = run_rows({"cudnn": 580.0, "gallop-sm90-ws-p2-c2": 600.0, "gallop-sm90-ws-p2-s3": 650.0})
        run2[0]["tflops"] = 590.0  # cuDNN on 1.3B-480p in run 2: ws-p2-s3's worst ratio at 32760 keys
        first = os.path.join(tmp, "run1.json")
        second = os.path.join(tmp, "run2.json")
        with open(first, "w") as f:
            json.dump({"device": "NVIDIA H100 80GB HBM3", "date": "2026-11-27T00:00:00Z", "attention": run1}, f)
        with open(second, "w") as f:
            json.dump({"device": {"name": "NVIDIA H100 80GB HBM3"}, "date": "2026-11-28T00:00:00Z",
                       "attention": run2}, f)
        tuning = os.path.join(ROOT, "tools", "gpu", "tuning_rows.py")
        out = subprocess.run([sys.executable, tuning, first, second], capture_output=True, text=True)
        check(out.returncode == 0, f"tuning_rows.py takes two runs ({out.stderr[-300:]})")
        rows = [line for line in out.stdout.splitlines() if "AttentionBackend::Gallop" in line]
        # ws-p2-s3: worst 650 / 590 at 32760 keys, 650 / 580 at 75600 (run 2); ws-p2-c2: 600 / 580.
        check(len(rows) == 2 and '"gallop-sm90-ws-p2-s3", 650.0, 590.0' in rows[0]
              and '"gallop-sm90-ws-p2-s3", 650.0, 580.0' in rows[1],
              f"the best worst ratio over both runs wins, with the figures of its worst shape and run: {rows}")
        check("over 2 runs" in out.stdout and "2026-11-28" in out.stdout, "the rows say how many runs, the last date")
        check("ws-pingpong-p2 worst ratio to cuDNN 1.250, timed in 1 of the 2 runs" in out.stderr,
              "a kernel timed in fewer runs than the others is named and left out")
        other = os.path.join(tmp, "run3.json")
        with open(other, "w") as f:
            json.dump({"device": "NVIDIA H200", "attention": run2}, f)
        out = subprocess.run([sys.executable, tuning, first, other], capture_output=True, text=True)
        check(out.returncode == 2 and "different cards" in out.stderr and "AttentionBackend" not in out.stdout,
              "runs of two kinds of card are refused")
    print("FAILED: " + "; ".join(failures) if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

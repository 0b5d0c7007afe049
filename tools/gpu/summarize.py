#!/usr/bin/env python3
"""Writes OUTDIR/summary.json (and the merged OUTDIR/bench.json) for tools/gpu/check.sh.

usage: summarize.py --out OUTDIR --steps STEPS_TSV --start EPOCH [--bench FILE ...]

Reads what check.sh left in OUTDIR (junit.xml, build.log, tests.log, bench.log, gpu.log) and the
per-process benchmark JSON files, and records: device and driver, clocks (maximum, and samples
taken during the benchmark), each step's status and time, every test's result, the ptxas resource
table, the benchmark table (attention TFLOP/s next to cuDNN from the same run, fused-kernel GB/s
and % of peak), and the failures with the tail of their logs. Standard library only.
"""
import argparse
import datetime
import glob
import json
import os
import re
import statistics
import sys
import time
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # leave no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptxas_report  # noqa: E402

# The log each check.sh step appends to; every bench-* step (one per timed kernel) writes bench.log.
STEP_LOGS = {"nvidia-smi": "gpu.log", "tools": "gpu.log", "pack-deps": "build.log", "configure": "build.log",
             "build": "build.log", "tests": "tests.log", "gallop-bench": "bench.log",
             "gallop-bench-variants": "bench.log", "gallop-generate": "bench.log"}


def step_log(name):
    name = name.split(" ")[0]
    if name == "bench" or name.startswith("bench-"):
        return "bench.log"
    return STEP_LOGS.get(name, "gpu.log")


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def tail(text, lines=40, chars=4000):
    return "\n".join(text.splitlines()[-lines:])[-chars:]


def steps_from(path):
    steps = []
    for line in read(path).splitlines():
        parts = line.split("\t")
        if len(parts) >= 3:
            steps.append({"name": parts[0], "status": parts[1], "seconds": int(parts[2] or 0),
                          "note": parts[3] if len(parts) > 3 else ""})
    return steps


def log_section(text, name):
    """The part of a log that check.sh's step `name` wrote (after its '===== name:' header)."""
    m = re.search(r"^===== " + re.escape(name) + r": .*$", text, re.M)
    if not m:
        return text
    rest = text[m.end():]
    n = re.search(r"^===== ", rest, re.M)
    return rest[: n.start()] if n else rest


def tests_from(junit_path):
    out = {"passed": 0, "failed": 0, "skipped": 0, "cases": [], "failures": []}
    if not os.path.exists(junit_path):
        return out
    try:
        root = ET.parse(junit_path).getroot()
    except ET.ParseError as e:
        out["error"] = f"junit.xml unreadable: {e}"
        return out
    for tc in root.iter("testcase"):
        name = tc.get("name", "?")
        status = tc.get("status", "run")
        text = "".join(tc.itertext())
        if tc.find("failure") is not None or status == "fail":
            result = "failed"
        elif tc.find("skipped") is not None or status in ("notrun", "disabled"):
            result = "skipped"
        else:
            result = "passed"
        out[result] += 1
        case = {"name": name, "result": result, "seconds": float(tc.get("time", 0) or 0)}
        if result == "skipped":
            why = re.search(r"GPU test skipped: .*|is not available on .*", text)
            if why:
                case["why"] = why.group(0)[:300]
        out["cases"].append(case)
        if result == "failed":
            out["failures"].append({"name": name, "output_tail": tail(text, 60, 6000)})
    return out


def clock_samples(gpu_log):
    section = gpu_log.split("===== clocks during the benchmark", 1)
    if len(section) < 2:
        return {}
    sm, mem, power, temp = [], [], [], []
    for line in section[1].splitlines():
        cols = [c.strip() for c in line.split(",")]
        if len(cols) < 6 or not re.match(r"\d", cols[1]):
            continue
        try:
            sm.append(float(cols[1].split()[0]))
            mem.append(float(cols[2].split()[0]))
            power.append(float(cols[3].split()[0]))
            temp.append(float(cols[4].split()[0]))
        except (ValueError, IndexError):
            continue

    def stats(v):
        return {"min": min(v), "median": statistics.median(v), "max": max(v)} if v else None

    return {"samples": len(sm), "sm_mhz": stats(sm), "mem_mhz": stats(mem), "power_w": stats(power),
            "temperature_c": stats(temp)}


def merge_bench(files):
    merged = {"attention": [], "fused": [], "ceilings": {}, "runs": []}
    for path in files:
        try:
            with open(path) as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            merged["runs"].append({"file": os.path.basename(path), "error": str(e)})
            continue
        run = {"file": os.path.basename(path), "date": doc.get("date")}
        if doc.get("partial"):  # the benchmark was stopped part way (check.sh's time limit)
            run["partial"] = True
        merged["runs"].append(run)
        merged.setdefault("device", doc.get("device"))
        merged["attention"] += doc.get("attention", [])
        merged["fused"] += doc.get("fused", [])
        if doc.get("ceilings"):
            merged["ceilings"] = doc["ceilings"]
    kept = keep_timed_rows(merged["attention"])
    # Rows a broken kernel took down in the shared process, measured again alone: not failures of
    # their own backend, but the summary names them (the kernel that broke is among them).
    kept_ids = {id(r) for r in kept}
    timed = {(r.get("shape"), r.get("backend")) for r in kept if "tflops" in r}
    merged["broken_rows_timed_again"] = [
        {"shape": r.get("shape"), "backend": r.get("backend"), "error": r["error"]}
        for r in merged["attention"]
        if "error" in r and id(r) not in kept_ids and (r.get("shape"), r.get("backend")) in timed]
    merged["attention"] = kept
    return merged


def keep_timed_rows(rows):
    """One row per (shape, backend), in the order the rows come: a wrong result where any process saw
    one, else the first timed row (check.sh merges the side-by-side process first), else the last
    row. check.sh times a backend again in a process of its own when a broken kernel took down its
    rows in the shared one, so one (shape, backend) can have several."""
    key = lambda r: (r.get("shape"), r.get("backend"))
    pick = {}
    for i, r in enumerate(rows):
        k = key(r)
        if k not in pick:
            pick[k] = i
            continue
        old = rows[pick[k]]
        if "wrong result" in old.get("error", ""):
            continue
        if "wrong result" in r.get("error", "") or ("tflops" not in old):
            pick[k] = i
    chosen = set(pick.values())
    return [r for i, r in enumerate(rows) if i in chosen]


def bench_table(bench):
    """Compact rows: per attention shape the cuDNN figure and each other backend relative to it."""
    table = []
    cudnn = {r["shape"]: r["tflops"] for r in bench["attention"] if r.get("backend") == "cudnn" and "tflops" in r}
    for r in bench["attention"]:
        row = {"shape": r.get("shape"), "heads": r.get("heads"), "len_q": r.get("len_q"), "len_k": r.get("len_k"),
               "backend": r.get("backend")}
        if "resident_ctas" in r:  # gallop's kernels: CTAs running at once (cluster kernels may leave SMs idle)
            row["resident_ctas"] = r["resident_ctas"]
        if "tflops" in r:
            row.update(ms=round(r["ms_median"], 3), ms_min=round(r.get("ms_min", r["ms_median"]), 3),
                       tflops=round(r["tflops"], 1), sm_clock_mhz=r.get("sm_clock_mhz_after"),
                       verified=r.get("verified"))
            # The card's power over the timed runs and why its clocks were below maximum (NVML): under
            # a power cap, energy per flop decides the clock.
            if "watts" in r:
                row.update(watts=round(r["watts"]), gflop_per_joule=round(r.get("gflop_per_joule", 0.0)))
            if "clock_reasons_after" in r:
                row["clock_reasons"] = r["clock_reasons_after"]
            if "profile" in r:  # gallop-sm90-ws-p2-prof: where its math warps' key loop goes
                row["profile"] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r["profile"].items()}
            if r.get("shape") in cudnn:
                row["vs_cudnn"] = round(r["tflops"] / cudnn[r["shape"]], 3)
        else:
            row["error"] = r.get("error", "?")
            if "max_err" in r:
                row.update(max_err=r["max_err"], bound=r.get("bound"))
        table.append(row)
    fused = []
    for r in bench["fused"]:
        row = {"kernel": r.get("kernel"), "types": r.get("types")}
        if "gbps" in r:
            row.update(ms=round(r["ms_median"], 3), gbps=round(r["gbps"]), pct_peak=round(r["pct_peak"], 1))
            if "aten_ms" in r:
                row.update(aten_ms=round(r["aten_ms"], 3), speedup_vs_aten=round(r["speedup_vs_aten"], 2))
        else:
            row["error"] = r.get("error", "?")
        fused.append(row)
    return table, fused


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", required=True)
    ap.add_argument("--start", type=int, default=int(time.time()))
    ap.add_argument("--bench", nargs="*", default=[])
    ap.add_argument("--dit-bench", nargs="*", default=[], help="JSON files written by `gallop bench` (merged)")
    a = ap.parse_args()
    out = a.out
    steps = steps_from(a.steps)
    gpu_log = read(os.path.join(out, "gpu.log"))
    build_log = read(os.path.join(out, "build.log"))
    tests = tests_from(os.path.join(out, "junit.xml"))
    bench_files = [f for f in a.bench if os.path.exists(f)] or sorted(glob.glob(os.path.join(out, "bench_*.json")))
    bench = merge_bench(bench_files)
    with open(os.path.join(out, "bench.json"), "w") as f:
        json.dump(bench, f, indent=1)
    attention_table, fused_table = bench_table(bench)

    nvsmi = re.search(r"Driver Version:\s*([\d.]+)\s+CUDA Version:\s*([\d.]+)", gpu_log)
    gpu_name = re.search(r"^\|\s+\d+\s+(NVIDIA [^|]*?)\s{2,}", gpu_log, re.M)
    device = bench.get("device") or {}
    summary = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "total_seconds": int(time.time()) - a.start,
        "device": device.get("name") or (gpu_name.group(1).strip() if gpu_name else None),
        "driver": nvsmi.group(1) if nvsmi else device.get("driver"),
        "cuda_driver_api": nvsmi.group(2) if nvsmi else None,
        "software": {k: device.get(k) for k in ("runtime", "torch", "cudnn")} if device else None,
        "clocks": {"max_sm_mhz": device.get("max_sm_clock_mhz"), "max_mem_mhz": device.get("max_mem_clock_mhz"),
                   "sm_mhz_at_start": device.get("sm_clock_mhz_at_start"),
                   "during_benchmark": clock_samples(gpu_log)},
        "peak_gbps": device.get("peak_gbps"),
        "steps": steps,
        "build_seconds": sum(s["seconds"] for s in steps if s["name"] in ("configure", "build")),
        "tests": {k: tests[k] for k in ("passed", "failed", "skipped")},
        "test_cases": tests["cases"],
        "ceilings": bench.get("ceilings"),
        "attention": attention_table,
        "fused": fused_table,
        "failures": [],
    }
    for path in [p for p in a.dit_bench if os.path.exists(p)]:
        try:
            with open(path) as f:
                doc = json.load(f)
            if "dit_bench" not in summary:
                summary["dit_bench"] = doc
            else:  # a later run (more attention backends): append its DiT rows
                summary["dit_bench"].setdefault("dit", []).extend(doc.get("dit", []))
        except (OSError, ValueError) as e:
            summary["dit_bench"] = {"error": str(e)}
    rows = ptxas_report.parse(build_log)
    for r, n in zip(rows, ptxas_report.demangle([r["kernel"] for r in rows])):
        r["kernel"] = ptxas_report.short(n)
    summary["ptxas_spilling_kernels"] = sorted({f"{r['arch']} {r['kernel']}" for r in rows
                                                if r["spill_stores"] or r["spill_loads"]})
    attention_kernels = sorted({(r["arch"], r["kernel"], r.get("registers"), r["spill_stores"], r["stack"])
                                for r in rows if "flash_fwd" in r["kernel"]})
    summary["ptxas_attention"] = [{"arch": a_, "kernel": k, "registers": g, "spill_stores": sp, "stack": st}
                                  for a_, k, g, sp, st in attention_kernels]

    for s in steps:
        if s["status"] == "skipped":
            summary["failures"].append({"step": s["name"], "status": "skipped", "note": s["note"]})
        elif s["status"] != "ok":
            logname = step_log(s["name"])
            text = log_section(read(os.path.join(out, logname)), s["name"])
            errors = [l for l in text.splitlines() if re.search(r"error|FAILED|Error|fatal", l)][:30]
            summary["failures"].append({"step": s["name"], "status": s["status"], "log": logname,
                                        "error_lines": errors, "tail": tail(text)})
    for t in tests["failures"]:
        summary["failures"].append({"test": t["name"], "log": "tests.log / junit.xml", "tail": t["output_tail"]})
    for r in bench["attention"] + bench["fused"]:
        if "error" in r:
            summary["failures"].append({"bench": f"{r.get('shape', r.get('kernel'))} {r.get('backend', r.get('types'))}",
                                        "error": r["error"]})
    for r in bench.get("broken_rows_timed_again", []):
        summary["failures"].append({"bench": f"{r['shape']} {r['backend']}", "error": r["error"],
                                    "note": "in the side-by-side process; timed again in a process of its own"})
    summary["all_passed"] = (all(s["status"] == "ok" for s in steps) and tests["failed"] == 0 and tests["passed"] > 0
                             and not any("error" in r for r in bench["attention"] + bench["fused"])
                             and not bench.get("broken_rows_timed_again"))
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(f"summary: {tests['passed']} passed, {tests['failed']} failed, {tests['skipped']} skipped; "
          f"steps: {', '.join(s['name'] + '=' + s['status'] for s in steps)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

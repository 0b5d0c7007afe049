#!/usr/bin/env python3
"""Turns tools/gpu/check.sh summaries into rows for kernels/attention/attention_tuning.h.

Usage: tools/gpu/tuning_rows.py RUN_JSON [RUN_JSON ...] [--device-key H100] [--cc 9.0]

Each RUN_JSON is one run on one card: a check.sh summary.json, or the JSON that gallop_kernel_bench
writes (--json). The kernel benchmark times cuDNN and every gallop kernel at the Wan shapes (bf16,
head dim 128) side by side in one process and keeps only results that passed its correctness check,
so a kernel's speed is compared with cuDNN's from its own run. For each key length measured, the
winner is the verified gallop kernel with the best worst-case ratio to cuDNN over the shapes of that
key length and over every run that timed it on all of them (several runs keep one lucky run from
deciding a 1% difference); it gets a row only where it beats cuDNN on every one of them (else `auto`
stays on cuDNN there). A kernel timed in fewer runs than others is named and not compared. All runs
must come from one kind of card. Rows cover key-length ranges split halfway (geometrically) between
measured lengths.
Prints the C++ rows on standard output and the per-shape comparison on standard error; prints no
rows (and says so) when no gallop kernel won anywhere. Also prints, on standard error, the fused
kernels' variants (row schedules, paired q/k) side by side, fastest first.
"""
import argparse
import datetime
import json
import math
import sys


def report_fused(rows, label=""):
    """Standard error: the fused kernels' variants side by side (row schedules, paired q/k), per
    kernel and tensor size, fastest first: what decides RowSchedule's and the paired kernel's
    defaults (kernels/common/fused_backend.h, kernels/qk_norm_rope/qk_norm_rope.h)."""
    groups = {}
    for r in rows:
        if "gbps" not in r:
            continue
        base, _, variant = r["kernel"].partition("-")
        groups.setdefault((base, r["types"]), []).append((variant or "per-row", r["pct_peak"], r["gbps"]))
    if groups:
        print(f"fused kernels{label}, % of peak bandwidth (fastest first):", file=sys.stderr)
    for (base, types), variants in sorted(groups.items()):
        ranked = sorted(variants, key=lambda v: -v[2])
        print(f"  {base} [{types}]: " + ", ".join(f"{v} {pct:.1f}%" for v, pct, _ in ranked), file=sys.stderr)


def load_run(path):
    """(device name, date, verified timed attention rows, fused rows) of one run's JSON."""
    with open(path) as f:
        s = json.load(f)
    device = s.get("device") or "?"
    if isinstance(device, dict):  # gallop_kernel_bench's JSON
        device = device.get("name") or "?"
    rows = [r for r in s.get("attention", []) if "tflops" in r and r.get("verified", True)]
    return device, (s.get("date") or "")[:10], rows, s.get("fused", [])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", metavar="RUN_JSON")
    ap.add_argument("--device-key", default=None, help="substring of the device name the rows match (default: "
                    "H100/H200/... taken from the runs' device name)")
    ap.add_argument("--cc", default="9.0", help="compute capability of the measured device (default 9.0)")
    a = ap.parse_args()
    runs = [load_run(p) for p in a.runs]
    devices = sorted({r[0] for r in runs})
    if len(devices) != 1:
        print(f"tuning_rows.py: the runs come from different cards ({', '.join(devices)}); give one card's runs",
              file=sys.stderr)
        return 2
    device = devices[0]
    key = a.device_key
    if key is None:
        key = next((k for k in ("H100", "H200", "H800", "H20", "GH200", "A100", "L40S") if k in device), device)
    cc_major, cc_minor = (int(x) for x in a.cc.split("."))
    date = max((r[1] for r in runs if r[1]), default=datetime.date.today().isoformat())
    # Per run, cuDNN's figure for each shape; shapes grouped by key length over all runs.
    cudnn = [{r["shape"]: r["tflops"] for r in rows if r["backend"] == "cudnn"} for _, _, rows, _ in runs]
    by_len = {}
    for (_, _, rows, _), base in zip(runs, cudnn):
        for r in rows:
            if r["shape"] in base:
                by_len.setdefault(r["len_k"], set()).add(r["shape"])
    winners = {}
    for len_k, shapes in sorted(by_len.items()):
        # Every gallop kernel but the profiling one (its counters are a diagnostic, not a choice):
        # (ratio to cuDNN, its figure, cuDNN's, shape, run) over the runs that timed it on every shape.
        timed = {}
        for backend in sorted({r["backend"] for _, _, rows, _ in runs for r in rows
                               if r["backend"].startswith("gallop-") and not r["backend"].endswith("-prof")}):
            ratios = []
            for i, ((_, _, rows, _), base) in enumerate(zip(runs, cudnn)):
                got = {r["shape"]: r["tflops"] for r in rows if r["backend"] == backend and r["shape"] in shapes}
                if set(got) == shapes and shapes <= set(base):
                    ratios += [(got[sh] / base[sh], got[sh], base[sh], sh, i) for sh in sorted(shapes)]
            if ratios:  # else not measured (or not verified) on every shape of this length in any run
                timed[backend] = ratios
        # Kernels compete only against kernels timed in as many runs: a worst case over one run is
        # not comparable with a worst case over two.
        most = max((len({r[4] for r in ratios}) for ratios in timed.values()), default=0)
        best = None
        for backend, ratios in timed.items():
            n = len({r[4] for r in ratios})
            worst = min(ratios)
            if n < most:
                print(f"len_k {len_k}: {backend} worst ratio to cuDNN {worst[0]:.3f}, timed in {n} of the "
                      f"{most} runs that timed others: not compared", file=sys.stderr)
                continue
            print(f"len_k {len_k}: {backend} worst ratio to cuDNN {worst[0]:.3f} over "
                  f"{n} run(s) ("
                  + ", ".join(f"{sh} {tf:.1f} vs {cd:.1f}" + (f" [run {i + 1}]" if len(runs) > 1 else "")
                              for _, tf, cd, sh, i in ratios) + ")", file=sys.stderr)
            if best is None or worst[0] > best[1][0]:
                best = (backend, worst, n)
        if best and best[1][0] > 1.0:
            _, tf, cd, sh, _ = best[1]
            winners[len_k] = (best[0], tf, cd, sh, best[2])
    for i, (_, _, _, fused) in enumerate(runs):
        report_fused(fused, f" (run {i + 1}, {a.runs[i]})" if len(runs) > 1 else "")
    if not winners:
        print("// no gallop kernel beat cuDNN on any measured key length: kAttentionTuning stays empty")
        return 0
    lens = sorted(by_len)
    out = []
    for i, len_k in enumerate(lens):
        if len_k not in winners:
            continue
        lo = 1 if i == 0 else int(math.sqrt(lens[i - 1] * len_k)) + 1
        hi = (1 << 31) - 1 if i == len(lens) - 1 else int(math.sqrt(len_k * lens[i + 1]))
        backend, tf, cd, sh, n = winners[len_k]
        over = f" over {n} runs" if n > 1 else ""
        out.append(f'    {{"{key}", {cc_major}, {cc_minor}, "bf16", 128, {lo}, {hi}, AttentionBackend::Gallop, '
                   f'"{backend}", {tf:.1f}, {cd:.1f},\n     "{date}, {device}, {sh} (worst shape of len_k {len_k}{over})"}},')
    print(f"inline constexpr std::array<AttentionTuningRow, {len(out)}> kAttentionTuning{{{{")
    print("\n".join(out))
    print("}};")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Turns a tools/gpu/check.sh summary into rows for kernels/attention/attention_tuning.h.

Usage: tools/gpu/tuning_rows.py SUMMARY_JSON [--device-key H100] [--cc 9.0]

The kernel benchmark times cuDNN and every gallop kernel at the Wan shapes (bf16, head dim 128) in
one run and keeps only results that passed its correctness check. For each key length measured,
the winner is the verified gallop kernel with the best worst-case ratio to cuDNN over the shapes of
that key length; it gets a row only where it beats cuDNN on every one of them (else `auto` stays on
cuDNN there). Rows cover key-length ranges split halfway (geometrically) between measured lengths.
Prints the C++ rows on standard output and the per-shape comparison on standard error; prints no
rows (and says so) when no gallop kernel won anywhere. Also prints, on standard error, the fused
kernels' variants (row schedules, paired q/k) side by side, fastest first.
"""
import argparse
import datetime
import json
import math
import sys


def report_fused(rows):
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
        print("fused kernels, % of peak bandwidth (fastest first):", file=sys.stderr)
    for (base, types), variants in sorted(groups.items()):
        ranked = sorted(variants, key=lambda v: -v[2])
        print(f"  {base} [{types}]: " + ", ".join(f"{v} {pct:.1f}%" for v, pct, _ in ranked), file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("summary")
    ap.add_argument("--device-key", default=None, help="substring of the device name the rows match (default: "
                    "H100/H200/... taken from the summary's device name)")
    ap.add_argument("--cc", default="9.0", help="compute capability of the measured device (default 9.0)")
    a = ap.parse_args()
    with open(a.summary) as f:
        s = json.load(f)
    device = s.get("device") or "?"
    key = a.device_key
    if key is None:
        key = next((k for k in ("H100", "H200", "H800", "H20", "GH200", "A100", "L40S") if k in device), device)
    cc_major, cc_minor = (int(x) for x in a.cc.split("."))
    rows = [r for r in s.get("attention", []) if "tflops" in r and r.get("verified", True)]
    cudnn = {r["shape"]: r["tflops"] for r in rows if r["backend"] == "cudnn"}
    by_len = {}
    for r in rows:
        if r["shape"] in cudnn:
            by_len.setdefault(r["len_k"], set()).add(r["shape"])
    date = (s.get("date") or datetime.date.today().isoformat())[:10]
    winners = {}
    for len_k, shapes in sorted(by_len.items()):
        best = None
        # Every gallop kernel but the profiling one (its counters are a diagnostic, not a choice).
        for backend in sorted({r["backend"] for r in rows
                               if r["backend"].startswith("gallop-") and not r["backend"].endswith("-prof")}):
            got = {r["shape"]: r["tflops"] for r in rows if r["backend"] == backend and r["shape"] in shapes}
            if set(got) != shapes:
                continue  # not measured (or not verified) on every shape of this length
            worst = min(got[sh] / cudnn[sh] for sh in shapes)
            print(f"len_k {len_k}: {backend} worst ratio to cuDNN {worst:.3f} "
                  f"({', '.join(f'{sh} {got[sh]:.1f} vs {cudnn[sh]:.1f}' for sh in sorted(shapes))})", file=sys.stderr)
            if best is None or worst > best[1]:
                best = (backend, worst, got)
        if best and best[1] > 1.0:
            sh = min(shapes, key=lambda x: best[2][x] / cudnn[x])
            winners[len_k] = (best[0], best[2][sh], cudnn[sh], sh)
    report_fused(s.get("fused", []))
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
        backend, tf, cd, sh = winners[len_k]
        out.append(f'    {{"{key}", {cc_major}, {cc_minor}, "bf16", 128, {lo}, {hi}, AttentionBackend::Gallop, '
                   f'"{backend}", {tf:.1f}, {cd:.1f},\n     "{date}, {device}, {sh} (worst shape of len_k {len_k})"}},')
    print(f"inline constexpr std::array<AttentionTuningRow, {len(out)}> kAttentionTuning{{{{")
    print("\n".join(out))
    print("}};")
    return 0


if __name__ == "__main__":
    sys.exit(main())

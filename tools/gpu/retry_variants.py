#!/usr/bin/env python3
"""Which attention backends tools/gpu/check.sh must time again, each in a process of its own.

Usage: retry_variants.py BENCH_JSON BACKEND...   (BACKEND: cudnn, gallop-sm90-ws-p2, ...)

check.sh times cuDNN and every Hopper variant in one gallop_kernel_bench process, interleaved. A
kernel that breaks its CUDA context (a trap, an illegal address) makes every later row of that
process fail, whatever its backend. Prints, space-separated on one line, the backends with a row
that failed for any other reason than "not compiled for this device" or a wrong result (which a
process of its own would only repeat), and the backends with no row at all (the process died or
the JSON is missing); all of them when the JSON says the process stopped part way ("partial": a
time limit killed it, perhaps on a hung kernel, and the shapes after that one have no rows). Exit
status 0; 2 for a usage error.
"""
import json
import sys

BENIGN = ("not compiled for this device", "wrong result: not timed")


def backends_to_retry(rows, backends, partial=False):
    if partial:
        return list(backends)
    seen = {r["backend"] for r in rows}
    broken = {r["backend"] for r in rows if "error" in r and r["error"] not in BENIGN}
    return [b for b in backends if b in broken or b not in seen]


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        with open(argv[1]) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        doc = {}
    print(" ".join(backends_to_retry(doc.get("attention", []), argv[2:], bool(doc.get("partial")))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

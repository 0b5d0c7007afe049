#!/usr/bin/env python3
"""Turns the ptxas -v lines of a build log into one line per (architecture, kernel):
registers, spill stores/loads, stack frame and static shared memory. Dynamic shared memory is set
at launch (see kernels/attention/tile_config.h) and does not appear here.

usage: tools/gpu/ptxas_report.py BUILD_LOG [--json]
"""
import json
import re
import shutil
import subprocess
import sys


def parse(text):
    rows, cur = [], None
    for line in text.splitlines():
        m = re.search(r"Compiling entry function '([^']+)' for '(sm_\w+)'", line)
        if m:
            cur = {"kernel": m.group(1), "arch": m.group(2), "stack": 0, "spill_stores": 0, "spill_loads": 0}
            continue
        if cur is None:
            continue
        m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if m:
            cur.update(stack=int(m.group(1)), spill_stores=int(m.group(2)), spill_loads=int(m.group(3)))
            continue
        m = re.search(r"Used (\d+) registers", line)
        if m:
            sm = re.search(r"(\d+) bytes smem", line)
            cur.update(registers=int(m.group(1)), static_smem=int(sm.group(1)) if sm else 0)
            rows.append(cur)
            cur = None
    return rows


def demangle(names):
    if not names or not shutil.which("c++filt"):
        return names
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True).stdout.splitlines()
    return out if len(out) == len(names) else names


def short(name):
    name = re.sub(r"gallop::kernels::\w+::", "", name).replace("(anonymous namespace)::", "")
    return re.sub(r"^void ", "", re.sub(r"\(.*\)$", "", name))


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], errors="replace") as f:
        rows = parse(f.read())
    for r, n in zip(rows, demangle([r["kernel"] for r in rows])):
        r["kernel"] = short(n)
    seen, unique = set(), []
    for r in rows:
        key = (r["arch"], r["kernel"])
        if key not in seen:
            seen.add(key)
            unique.append(r)
    unique.sort(key=lambda r: (r["arch"], r["kernel"]))
    if "--json" in sys.argv:
        json.dump(unique, sys.stdout, indent=1)
        return 0
    if not unique:
        print("no ptxas -v output found (was the build configured with -DGALLOP_PTXAS_VERBOSE=ON?)")
        return 0
    print(f"{'arch':7s} {'kernel':70s} {'regs':>4s} {'spill st/ld':>11s} {'stack':>5s} {'smem':>5s}")
    for r in unique:
        spill = f"{r['spill_stores']}/{r['spill_loads']}"
        flag = "  <-- spills" if r["spill_stores"] or r["spill_loads"] else ""
        print(f"{r['arch']:7s} {r['kernel'][:70]:70s} {r.get('registers', 0):4d} {spill:>11s} {r['stack']:5d} "
              f"{r.get('static_smem', 0):5d}{flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

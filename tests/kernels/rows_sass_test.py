#!/usr/bin/env python3
"""Checks the machine code of the row-wise fused kernels (layer_norm_modulate, qk_norm_rope) for the
row schedule their source asks for (kernels/common/rows.cuh).

Usage: rows_sass_test.py OBJECT...   (the object files of gallop_kernels; others are ignored)

The two schedules give bit-identical results, so no GPU test can tell a staged kernel whose ring
does nothing from one that keeps rows in flight. For every kernel of modulation.cu.o and
qk_norm_rope.cu.o, for each architecture in the object (sm_80, sm_90a):
  - no local-memory traffic (LDL/STL: register spills);
  - per-row kernels (template flag false): no cp.async (LDGSTS): the row goes to registers;
  - staged kernels (flag true): a loop whose body issues the refill copies (LDGSTS, then
    LDGDEPBAR to close the group) before it waits with DEPBAR.LE SB0, kStages-1 (kStages from
    rows.cuh), reads its row from shared memory (LDS.128) after that wait and only then reaches
    the block reduction (BAR.SYNC): the next rows' copies are in flight while this one is reduced.

Exit status: 0 all checks pass, 1 a check failed, 77 skipped (no such objects in this build, or no
cuobjdump/nvdisasm), 2 usage.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sass_schedule_test import SKIP, disassembler, functions  # noqa: E402

ROWS_CUH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "kernels", "common", "rows.cuh")
KERNELS = ("layer_norm_modulate_kernel", "qk_norm_rope_kernel", "qk_norm_rope_paired_kernel", "gated_residual_kernel")


def stages():
    with open(ROWS_CUH) as f:
        m = re.search(r"constexpr int kStages = (\d+);", f.read())
    if not m:
        raise SystemExit("rows_sass_test: kStages not found in " + ROWS_CUH)
    return int(m.group(1))


def staged_flag(name):
    """The kernel's last template argument (bool kStaged) from its mangled name; None for kernels
    without one (gated_residual)."""
    m = re.search(r"Lb([01])EEEv", name)
    return None if m is None else m.group(1) == "1"


def check_function(name, ins, k_stages):
    failures = []
    spills = [i for _, i in ins if re.match(r"(@!?U?P\w+\s+)?(LDL|STL)\b", i)]
    if spills:
        failures.append(f"{len(spills)} local-memory instructions (register spills), e.g. {spills[0]}")
    staged = staged_flag(name)
    copies = [a for a, i in ins if "LDGSTS" in i]
    if staged is None:
        return failures
    if not staged:
        if copies:
            failures.append(f"per-row kernel issues {len(copies)} cp.async (LDGSTS)")
        return failures
    wait = f"DEPBAR.LE SB0, 0x{k_stages - 1:x}"
    loops = []
    for a, i in ins:
        m = re.search(r"\bBRA\s+(?:`\(\.L_x_\d+\)\s*)?0x([0-9a-f]+)", i)
        if m and int(m.group(1), 16) < a:
            loops.append((int(m.group(1), 16), a))
    good = False
    for start, end in loops:
        body = [(a, i) for a, i in ins if start <= a <= end]
        waits = [k for k, (_, i) in enumerate(body) if wait in i]
        if not waits:
            continue
        w = waits[0]
        before = [i for _, i in body[:w]]
        after = [i for _, i in body[w + 1 :]]
        closes = [k for k, i in enumerate(before) if "LDGDEPBAR" in i]
        refills = any("LDGSTS" in i for i in before[: closes[-1]]) if closes else False
        first_bar = next((k for k, i in enumerate(after) if "BAR.SYNC" in i), None)
        reads = [k for k, i in enumerate(after) if re.search(r"\bLDS\.128\b", i)]
        if refills and first_bar is not None and reads and reads[0] < first_bar:
            good = True
            break
    if not good:
        failures.append(
            f"no loop that issues its refill copies (LDGSTS, LDGDEPBAR), then waits ({wait}), then reads the "
            "row from shared memory (LDS.128) before the block reduction (BAR.SYNC)"
        )
    return failures


def main(argv):
    args = [part for a in argv for part in a.split(";")]
    objects = sorted({a for a in args if re.search(r"(modulation|qk_norm_rope)\.cu\.o(bj)?$", a)})
    if not objects:
        print("SKIPPED: this build has no CUDA objects of the row-wise kernels (GALLOP_CUDA off)")
        return SKIP
    tools = disassembler()
    if tools is None:
        return SKIP
    cuobjdump, env = tools
    k_stages = stages()
    failed = checked = 0
    counts = {}
    for obj in objects:
        listing = subprocess.run([cuobjdump, "--list-elf", obj], capture_output=True, text=True, env=env).stdout
        archs = sorted(set(re.findall(r"\.(sm_\w+)\.cubin", listing)))
        if not archs:
            print(f"FAIL {os.path.basename(obj)}: no cubin in the object")
            failed += 1
            continue
        for arch in archs:
            res = subprocess.run([cuobjdump, "-sass", "-arch", arch, obj], capture_output=True, text=True, env=env)
            if res.returncode != 0:
                print(f"FAIL {os.path.basename(obj)} {arch}: cuobjdump: {res.stderr.strip()}")
                failed += 1
                continue
            funcs = {n: i for n, i in functions(res.stdout, addresses=True).items() if any(k in n for k in KERNELS)}
            if not funcs:
                print(f"FAIL {os.path.basename(obj)} {arch}: none of {', '.join(KERNELS)} in the SASS")
                failed += 1
                continue
            for name, ins in sorted(funcs.items()):
                failures = check_function(name, ins, k_stages)
                checked += 1
                flag = staged_flag(name)
                key = (arch, "staged" if flag else "per-row" if flag is not None else "elementwise")
                counts[key] = counts.get(key, 0) + 1
                if failures:
                    failed += 1
                    for f in failures:
                        print(f"FAIL {os.path.basename(obj)} {arch} {name}: {f}")
    for (arch, kind), n in sorted(counts.items()):
        print(f"ok   {arch}: {n} {kind} kernels checked")
    print(f"{checked} kernels checked, {failed} failed")
    if not counts.get(("sm_80", "staged")) and not counts.get(("sm_90a", "staged")):
        print("FAIL: no staged kernel found (the template flag's mangling changed?)")
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Checks the compiled Hopper attention kernels' SASS for the schedule their source asks for.

Usage: sass_schedule_test.py OBJECT...   (the object files of gallop_kernels; others are ignored)

ptxas may move a wgmma wait anywhere earlier in its basic block, and it did: in the first
overlapped schedule the wait for P(j-1)·V(j-1) landed above the softmax of block j, which made the
"overlapped" kernel serial again without any change in its results (flash_sm90.cuh, keep_live).
No GPU test can see that, so this test reads the machine code instead. For every sm_90a kernel of
flash_sm90_*.cu.o:
  - no local-memory traffic (LDL/STL: register spills), and wgmma not serialized (products issued
    as groups of HGMMA instructions, not one instruction per wait);
  - every schedule but serial: somewhere in the code the S product and the P·V product are
    issued back to back (an HGMMA group reading shared memory for both operands, then one taking
    A from registers, with no wgmma wait between them), and between the wait that leaves one group
    in flight (WARPGROUP.DEPBAR.LE gsb0, 0x1) and the next full wait (0x0) there are at least
    block_n / 2 MUFU.EX2, i.e. the whole softmax of one block (each thread holds block_n / 2
    scores; block_n is the kernel's template argument);
  - serial schedule: no wait that leaves a group in flight (its products never overlap);
  - every schedule: the O rescale is behind a warp-uniform branch (VOTE.ANY, a predicated BRA,
    then the run of FMULs), so that warps whose row maxima did not move skip it;
  - every schedule but serial, too: P's conversion to 16 bits (block_n / 4 F2FP per thread) lies
    between those two waits, i.e. overlaps P·V, which is what the second P buffer is for;
  - ws-p2-c2, ws-pingpong-p2-c2: K and V come in through multicast TMA loads (UTMALDG...MULTICAST), the stages are
    released on the other CTA's barriers (SYNCS.ARRIVE...RED), and no GPU-scope memory barrier
    (MEMBAR.ALL.GPU) is left in the code but the one of the start-up cluster barrier: an arrival with
    release semantics at cluster scope puts one before every release, in the math loop.

Needs cuobjdump and nvdisasm (CUDA toolkit, or the PyPI wheels nvidia-cuda-cuobjdump and
nvidia-cuda-nvdisasm that tools/setup.sh installs into .venv). Exit status: 0 all checks pass,
1 a check failed, 77 skipped (no sm_90a objects in this build, or no disassembler), 2 usage.
"""
import glob
import os
import re
import shutil
import subprocess
import sys

SKIP = 77
# Sm90Schedule's values (tile_config.h); 1-4 were overlap, pingpong, ws and ws-pingpong, since removed.
SCHEDULES = {"0": "serial", "5": "ws-p2", "6": "ws-pingpong-p2", "7": "ws-p2-c2", "8": "ws-p2-prof",
             "9": "ws-pingpong-p2-c2"}


def find_tool(name):
    """cuobjdump / nvdisasm: $GALLOP_<NAME>, PATH, the CUDA toolkit, then pip's nvidia wheels."""
    env = os.environ.get("GALLOP_" + name.upper())
    if env and os.access(env, os.X_OK):
        return env
    found = shutil.which(name)
    if found:
        return found
    candidates = [os.path.join(os.environ.get("CUDA_HOME", "/usr/local/cuda"), "bin", name)]
    for base in sys.path + [os.path.join(sys.prefix, "lib")]:
        candidates += glob.glob(os.path.join(base, "nvidia", "cu*", "bin", name))
        candidates += glob.glob(os.path.join(base, "python3*", "site-packages", "nvidia", "cu*", "bin", name))
    for c in candidates:
        if os.path.isfile(c):
            if not os.access(c, os.X_OK):
                try:
                    os.chmod(c, os.stat(c).st_mode | 0o111)  # wheels do not always keep the x bit
                except OSError:
                    continue
            return c
    return None


def functions(sass, addresses=False):
    """{mangled name: [instruction text]} from cuobjdump -sass output ([(address, text)] with
    addresses=True)."""
    out = {}
    for chunk in re.split(r"\n\s*Function : ", sass)[1:]:
        name = chunk.split("\n", 1)[0].strip()
        ins = []
        for line in chunk.split("\n"):
            m = re.match(r"\s+/\*([0-9a-f]{4,})\*/\s+(.*?)\s*;", line)
            if m:
                ins.append((int(m.group(1), 16), m.group(2)) if addresses else m.group(2))
        out[name] = ins
    return out


def disassembler():
    """(cuobjdump, environment with nvdisasm on PATH), or None after printing why the test skips."""
    cuobjdump, nvdisasm = find_tool("cuobjdump"), find_tool("nvdisasm")
    if not cuobjdump or not nvdisasm:
        print("SKIPPED: cuobjdump/nvdisasm not found (install the CUDA toolkit's, or pip install "
              "nvidia-cuda-cuobjdump nvidia-cuda-nvdisasm)")
        return None
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(nvdisasm) + os.pathsep + env.get("PATH", "")
    return cuobjdump, env


def most_between_waits(ins, partial, wanted):
    """The most instructions matching `wanted` between one of the partial wgmma waits (indices in
    `partial`) and the next full wait (WARPGROUP.DEPBAR.LE gsb0, 0x0)."""
    best = 0
    for k in partial:
        n = 0
        for i in ins[k + 1 :]:
            if "WARPGROUP.DEPBAR.LE gsb0, 0x0" in i:
                break
            n += bool(wanted(i))
        best = max(best, n)
    return best


def check_function(name, ins):
    """Returns a list of failures for one kernel (empty: fine)."""
    failures = []
    # flash_fwd_sm90_kernel<T, kHeadDim, Sm90Schedule, kBlockN, kStageCount> mangles as
    # ...Sm90ScheduleE<s>ELi<n>ELi<stages>E... (stages 0: the tile's)
    m = re.search(r"Sm90ScheduleE(\d)ELi(\d+)ELi(\d+)E", name)
    schedule = SCHEDULES.get(m.group(1), "?") if m else "?"
    block_n = int(m.group(2)) if m else 128
    stages = int(m.group(3)) if m else 0
    schedule = schedule if block_n == 128 else f"{schedule}-n{block_n}"
    schedule = schedule if stages == 0 else f"{schedule}-s{stages}"
    spills = [i for i in ins if re.match(r"(@!?U?P\w+\s+)?(LDL|STL)\b", i)]
    if spills:
        failures.append(f"{len(spills)} local-memory instructions (register spills), e.g. {spills[0]}")
    # Each product is a group of k16 steps ending in one HGMMA marked gsb0; when ptxas serializes
    # wgmma (C7510-style register or pipeline trouble) every HGMMA carries gsb0 and a wait follows.
    hgmma = [i for i in ins if i.startswith("HGMMA")]
    if hgmma and all("gsb0" in i for i in hgmma):
        failures.append(f"all {len(hgmma)} HGMMA instructions end their own group: ptxas serialized the wgmmas")
    # The O rescale sits behind a warp-uniform branch (VOTE.ANY, then a predicated BRA over at least
    # head_dim / 2 >= 32 FMULs) so that a warp whose maxima did not move skips it; if-converted
    # (predicated) multiplies would cost their issue slots every block.
    skippable = False
    for k, i in enumerate(ins):
        if not i.startswith("VOTE.ANY"):
            continue
        for j in range(k + 1, min(k + 200, len(ins))):
            if re.match(r"@!?P\d+\s+BRA\b", ins[j]):
                fmul = 0
                for n in ins[j + 1 : j + 200]:
                    if not n.startswith("FMUL"):
                        break
                    fmul += 1
                skippable = skippable or fmul >= 32
                break
    if not skippable:
        failures.append("the O rescale is not behind a VOTE.ANY branch (a run of >= 32 FMULs after it)")
    partial = [k for k, i in enumerate(ins) if "WARPGROUP.DEPBAR.LE gsb0, 0x1" in i]
    if schedule.startswith("serial"):
        if partial:
            failures.append("the serial schedule leaves a wgmma group in flight")
        return schedule, failures
    # S (both operands from shared memory: "gdesc[..], gdesc[..]" is how SS shows; RS has an A register)
    # followed by P·V (".tnspB" with a register A operand) without a wait between.
    back_to_back = False
    last_ss = None
    for k, i in enumerate(ins):
        if "DEPBAR" in i:
            last_ss = None
        elif i.startswith("HGMMA") and "tnspB" not in i:
            last_ss = k
        elif i.startswith("HGMMA") and "tnspB" in i and last_ss is not None:
            back_to_back = True
            break
    if not back_to_back:
        failures.append("S and P·V are never issued back to back (no HGMMA.tnspB after an S HGMMA without a wait)")
    best = most_between_waits(ins, partial, lambda i: "MUFU.EX2" in i)
    if best < block_n // 2:
        failures.append(
            f"at most {best} MUFU.EX2 between the partial and the full wgmma wait (need {block_n // 2}: "
            "the softmax no longer overlaps P·V)"
        )
    best = most_between_waits(ins, partial, lambda i: i.startswith("F2FP"))
    if best < block_n // 4:
        failures.append(
            f"at most {best} F2FP between the partial and the full wgmma wait (need {block_n // 4}: "
            "P's conversion does not overlap P·V)"
        )
    if schedule.startswith(("ws-p2-c2", "ws-pingpong-p2-c2")):
        if not any(i.startswith("UTMALDG") and "MULTICAST" in i for i in ins):
            failures.append("no multicast TMA load (UTMALDG...MULTICAST): the CTAs do not share K/V loads")
        if not any(re.match(r"(@!?U?P\w+\s+)?SYNCS\.ARRIVE\.\S*RED", i) for i in ins):
            failures.append("no remote mbarrier arrival (SYNCS.ARRIVE...RED): stages are not released to the other CTA")
        membar = [i for i in ins if "MEMBAR" in i and "GPU" in i]
        if len(membar) > 1:
            failures.append(f"{len(membar)} MEMBAR.ALL.GPU (at most the start-up one): a release at cluster scope "
                            "crept into the math loop")
    return schedule, failures


def main(argv):
    args = [part for a in argv for part in a.split(";")]  # a CMake list may arrive as one argument
    objects = sorted({a for a in args if re.search(r"flash_sm90_\w+\.cu\.o(bj)?$", a)})
    if not objects:
        print("SKIPPED: this build has no sm_90a attention objects (GALLOP_CUDA off or 90a not in the archs)")
        return SKIP
    tools = disassembler()
    if tools is None:
        return SKIP
    cuobjdump, env = tools
    failed = 0
    checked = 0
    for obj in objects:
        res = subprocess.run([cuobjdump, "-sass", obj], capture_output=True, text=True, env=env)
        if res.returncode != 0:
            print(f"FAIL {os.path.basename(obj)}: cuobjdump: {res.stderr.strip()}")
            failed += 1
            continue
        funcs = {n: i for n, i in functions(res.stdout).items() if "flash_fwd_sm90_kernel" in n}
        if not funcs:
            print(f"FAIL {os.path.basename(obj)}: no flash_fwd_sm90_kernel in the SASS")
            failed += 1
            continue
        for name, ins in sorted(funcs.items()):
            schedule, failures = check_function(name, ins)
            label = f"{os.path.basename(obj)} {schedule} ({len(ins)} instructions)"
            checked += 1
            if failures:
                failed += 1
                for f in failures:
                    print(f"FAIL {label}: {f}")
            else:
                print(f"ok   {label}")
    print(f"{checked} kernels checked, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))

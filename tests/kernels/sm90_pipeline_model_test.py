#!/usr/bin/env python3
"""Protocol model of the Hopper attention kernel's load pipeline (kernels/attention/flash_sm90.cuh).

The kernel's K/V stages are guarded by mbarriers: "full" (the loader's expected bytes plus TMA's
completion) and "empty" (one arrival per math warp; here one per warpgroup), waited on by phase
parity. This model replays each schedule's sequence of waits, arrivals, loads and stage reads for
two math warpgroups (and the producer of the warp-specialized schedules) under many random
interleavings, with TMA loads landing at random later times, and checks that
  - no interleaving deadlocks (every process blocked on a wait that nothing can satisfy),
  - every read of a stage finds the block the schedule expects there,
  - every ping-pong turn (a hardware named barrier, bar.sync over the two math warpgroups) is
    completed by exactly one warpgroup's wait and the other's arrival: named barriers count
    arrivals without phases, so two arrivals before a wait would complete a turn that nobody
    took; and no arrival is left over at the end.
It mirrors the code by hand: a change to the kernel's loop must be made here too. The schedules are
the kernel's: serial, ws-p2 and ws-pingpong-p2 (ws-p2-prof and the -split, -n144 and -s3 kernels
run ws-p2's sequence; the second P buffer changes no wait or arrival). To show that the model can
fail, it also runs ws-p2 with the math warps' release of K(0) missing, which must deadlock once
there are more blocks than stages (as the first overlapped loop did on the H100, which never
refilled K's stage 0), and a ping-pong where warpgroup 1 also arrives after its last segment, which
must leave an arrival over. run_cluster models ws-p2-c2, two CTAs of a cluster sharing each block's
loads (see its docstring), with two broken variants that must fail, and ws-pingpong-p2-c2, the same
with each CTA's math warpgroups taking turns (with an arrival left over, it must fail too).

Exit status 0 when every schedule passes (and each broken variant fails), 1 otherwise.
"""
import random
import sys


class Barrier:
    """An mbarrier: `count` arrivals (plus expected transaction bytes) complete a phase."""

    events = 0  # any state change anywhere (for deadlock detection)

    def __init__(self, count):
        self.count, self.pending, self.phase, self.tx = count, count, 0, 0

    def arrive(self):
        self.pending -= 1
        self._advance()

    def arrive_expect_tx(self, n):
        self.tx += n
        self.arrive()

    def complete_tx(self, n):
        self.tx -= n
        self._advance()

    def _advance(self):
        Barrier.events += 1
        assert self.pending >= 0, "more arrivals than the barrier's count"
        if self.pending == 0 and self.tx == 0:
            self.phase, self.pending = self.phase + 1, self.count

    def completed(self, parity):  # try_wait.parity: the phase with this parity has completed
        return (self.phase & 1) != parity


class NamedBarrier:
    """A named barrier over the two math warpgroups (bar.sync / bar.arrive with 256 threads): the
    second arrival of a generation (a wait counts as one) completes it and releases the waiter."""

    def __init__(self):
        self.arrivals, self.waits, self.generation = 0, 0, 0

    def _arrive(self, wait):
        Barrier.events += 1
        self.arrivals += 1
        self.waits += wait
        if self.arrivals == 2:
            assert self.waits == 1, f"a turn barrier completed with {self.waits} waits (two arrivals, no turn)"
            self.arrivals, self.waits, self.generation = 0, 0, self.generation + 1

    def arrive(self):
        self._arrive(0)

    def sync(self):
        generation = self.generation
        self._arrive(1)
        while self.generation == generation:
            yield "blocked"


def step_one(procs, runnable, finished, at_sync, rnd):
    """Advances the first of the runnable processes (in random order) that is not blocked; returns
    (whether anything progressed, an error message or None). A process yielding "sync" waits in
    at_sync until the caller releases everyone."""
    rnd.shuffle(runnable)
    for k in runnable:
        try:
            r = next(procs[k])
        except StopIteration:
            finished.add(k)
            return True, None
        except AssertionError as e:
            return False, f"{k}: {e}"
        if r == "sync":
            at_sync.add(k)
        if r != "blocked":
            return True, None
    return False, None


def run(stages, n_blocks, schedule, seed, skip_release_k0=False, extra_last_arrival=False):
    """One random interleaving; returns 'ok' or what went wrong."""
    rnd = random.Random(seed)
    ws = schedule != "serial"  # every other schedule has the producer warpgroup and overlaps
    pingpong = schedule == "ws-pingpong-p2"
    full = {x: [Barrier(1) for _ in range(stages)] for x in "kv"}
    empty = {x: [Barrier(2) for _ in range(stages)] for x in "kv"}
    turn = [NamedBarrier(), NamedBarrier()]
    turns_taken = [0, 0]
    stage = {x: [None] * stages for x in "kv"}
    in_flight = []

    def load(x, j):
        full[x][j % stages].arrive_expect_tx(1)
        in_flight.append((x, j))

    def wait(bar, parity):
        while not bar.completed(parity):
            yield "blocked"

    def read(x, j):
        found = stage[x][j % stages]
        assert found == j, f"read {x.upper()}({j}) from stage {j % stages}, found {x.upper()}({found})"

    def math(c):
        loader = c == 0 and not ws

        def refill(x, j):  # the loader refills block j's stage with block j + stages
            if loader and j + stages < n_blocks:
                yield from wait(empty[x][j % stages], (j // stages) & 1)
                load(x, j + stages)

        def take_turn():
            if pingpong:
                yield from turn[c].sync()
                turns_taken[c] += 1

        def pass_turn(last):
            if pingpong and not (last and c == 1 and not extra_last_arrival):
                turn[1 - c].arrive()

        if loader:
            for j in range(min(stages, n_blocks)):
                load("k", j)
                load("v", j)
        yield "sync"
        if pingpong and c == 1 and n_blocks > 0:
            turn[0].arrive()
        if not ws:
            for j in range(n_blocks):
                p = (j // stages) & 1
                yield from wait(full["k"][j % stages], p)
                read("k", j)
                empty["k"][j % stages].arrive()
                yield from wait(full["v"][j % stages], p)
                read("v", j)
                empty["v"][j % stages].arrive()
                yield from refill("k", j)
                yield from refill("v", j)
            return
        if n_blocks == 0:
            return
        yield from wait(full["k"][0], 0)
        yield from take_turn()
        read("k", 0)
        pass_turn(False)
        yield None
        if not skip_release_k0:
            empty["k"][0].arrive()
        for j in range(1, n_blocks):  # the producer refills the stages
            yield from wait(full["k"][j % stages], (j // stages) & 1)
            yield from wait(full["v"][(j - 1) % stages], ((j - 1) // stages) & 1)
            yield from take_turn()
            read("k", j)
            read("v", j - 1)
            pass_turn(False)
            yield None
            empty["k"][j % stages].arrive()
            yield None
            empty["v"][(j - 1) % stages].arrive()
        last = n_blocks - 1
        yield from wait(full["v"][last % stages], (last // stages) & 1)
        yield from take_turn()
        read("v", last)
        pass_turn(True)
        empty["v"][last % stages].arrive()

    def producer():
        for j in range(min(stages, n_blocks)):
            load("k", j)
            load("v", j)
        yield "sync"
        for j in range(stages, n_blocks):
            r = j - stages
            yield from wait(empty["k"][r % stages], (r // stages) & 1)
            load("k", j)
            yield from wait(empty["v"][r % stages], (r // stages) & 1)
            load("v", j)

    procs = {"wg0": math(0), "wg1": math(1)}
    if ws:
        procs["producer"] = producer()
    at_sync, finished = set(), set()
    for _ in range(200000):
        if len(finished) == len(procs):
            break
        if in_flight and rnd.random() < 0.5:  # TMA lands one load
            x, j = in_flight.pop(rnd.randrange(len(in_flight)))
            stage[x][j % stages] = j
            full[x][j % stages].complete_tx(1)
        runnable = [k for k in procs if k not in finished and k not in at_sync]
        if not runnable:
            at_sync.clear()  # everyone reached __syncthreads
            continue
        before = Barrier.events
        progressed, error = step_one(procs, runnable, finished, at_sync, rnd)
        if error:
            return error
        if not progressed and not in_flight and Barrier.events == before:
            return "deadlock"
    else:
        return "no progress in 200000 steps"
    if any(turn[c].generation != turns_taken[c] or turn[c].arrivals for c in (0, 1)):
        return (f"turns completed {[b.generation for b in turn]}, turns taken {turns_taken}, arrivals left over "
                f"{[b.arrivals for b in turn]}")
    return "ok"


def run_cluster(stages, n_blocks, seed, producer_tail=True, release_to_both=True, pingpong=False,
                extra_last_arrival=False):
    """ws-p2-c2: two CTAs of a cluster, each a producer and two math warpgroups running the ws loop
    (with pingpong, ws-pingpong-p2-c2: the math warpgroups of each CTA also take turns, as in run()).
    Each CTA's producer expects the whole block on its own "full" barrier and loads one half of it,
    multicast: the half lands in both CTAs, each landing completing its bytes on that CTA's barrier,
    at independent random times. Math warpgroups release a stage on their own CTA's "empty" barrier
    and on the other CTA's (a remote arrival, landing later), so each "empty" barrier counts four
    arrivals (two per CTA; eight warps per CTA in the kernel). After its loads each producer waits
    for its CTA's last releases. Checks, besides deadlock and the blocks read: nothing lands in a CTA
    (a TMA half or a remote arrival) after all its threads have exited. With producer_tail=False a
    CTA can exit while the other still arrives on its barriers; with release_to_both=False a producer
    can overwrite a stage the other CTA still reads; both must fail."""
    rnd = random.Random(seed)
    ctas = (0, 1)
    full = {c: {x: [Barrier(1) for _ in range(stages)] for x in "kv"} for c in ctas}
    empty = {c: {x: [Barrier(4 if release_to_both else 2) for _ in range(stages)] for x in "kv"} for c in ctas}
    stage = {c: {x: [[None, None] for _ in range(stages)] for x in "kv"} for c in ctas}
    turn = {c: [NamedBarrier(), NamedBarrier()] for c in ctas}  # pingpong: each CTA's own turns
    turns_taken = {c: [0, 0] for c in ctas}
    in_flight = []  # ("tma", dst, x, j, half) or ("arrive", dst, x, s)
    procs_of = {c: [] for c in ctas}
    finished = set()

    def exited(c):
        return all(k in finished for k in procs_of[c])

    def load(c, x, j):  # c's producer: its half of block j, to both CTAs
        full[c][x][j % stages].arrive_expect_tx(2)
        for dst in ctas:
            in_flight.append(("tma", dst, x, j, c))

    def wait(bar, parity):
        while not bar.completed(parity):
            yield "blocked"

    def read(c, x, j):
        found = stage[c][x][j % stages]
        assert found == [j, j], f"CTA {c} read {x.upper()}({j}) from stage {j % stages}, found halves {found}"

    def release(c, x, j):
        empty[c][x][j % stages].arrive()
        if release_to_both:
            in_flight.append(("arrive", 1 - c, x, j % stages))

    def math(c, w):  # math warpgroup w of CTA c
        def take_turn():
            if pingpong:
                yield from turn[c][w].sync()
                turns_taken[c][w] += 1

        def pass_turn(last):
            if pingpong and not (last and w == 1 and not extra_last_arrival):
                turn[c][1 - w].arrive()

        yield "sync"
        if pingpong and w == 1 and n_blocks > 0:
            turn[c][0].arrive()
        if n_blocks == 0:
            return
        yield from wait(full[c]["k"][0], 0)
        yield from take_turn()
        read(c, "k", 0)
        pass_turn(False)
        yield None
        release(c, "k", 0)
        for j in range(1, n_blocks):
            yield from wait(full[c]["k"][j % stages], (j // stages) & 1)
            yield from wait(full[c]["v"][(j - 1) % stages], ((j - 1) // stages) & 1)
            yield from take_turn()
            read(c, "k", j)
            read(c, "v", j - 1)
            pass_turn(False)
            yield None
            release(c, "k", j)
            yield None
            release(c, "v", j - 1)
        last = n_blocks - 1
        yield from wait(full[c]["v"][last % stages], (last // stages) & 1)
        yield from take_turn()
        read(c, "v", last)
        pass_turn(True)
        release(c, "v", last)

    def producer(c):
        yield "sync"  # barriers of both CTAs initialized before any multicast or remote arrival
        for j in range(min(stages, n_blocks)):
            load(c, "k", j)
            load(c, "v", j)
        for j in range(stages, n_blocks):
            r = j - stages
            yield from wait(empty[c]["k"][r % stages], (r // stages) & 1)
            load(c, "k", j)
            yield from wait(empty[c]["v"][r % stages], (r // stages) & 1)
            load(c, "v", j)
        if producer_tail:
            for r in range(max(0, n_blocks - stages), n_blocks):
                yield from wait(empty[c]["k"][r % stages], (r // stages) & 1)
                yield from wait(empty[c]["v"][r % stages], (r // stages) & 1)

    procs = {}
    for c in ctas:
        for name, gen in ((f"producer{c}", producer(c)), (f"wg0.{c}", math(c, 0)), (f"wg1.{c}", math(c, 1))):
            procs[name] = gen
            procs_of[c].append(name)
    at_sync = set()
    for _ in range(400000):
        if len(finished) == len(procs) and not in_flight:
            for c in ctas:
                if any(turn[c][w].generation != turns_taken[c][w] or turn[c][w].arrivals for w in (0, 1)):
                    return f"CTA {c}: turns completed and taken differ, or an arrival is left over"
            return "ok"
        if in_flight and (rnd.random() < 0.5 or len(finished) == len(procs)):
            event = in_flight.pop(rnd.randrange(len(in_flight)))
            dst = event[1]
            if exited(dst):
                return f"{event[0]} landed in CTA {dst} after it exited"
            if event[0] == "tma":
                _, _, x, j, half = event
                stage[dst][x][j % stages][half] = j
                full[dst][x][j % stages].complete_tx(1)
            else:
                _, _, x, s_ = event
                try:
                    empty[dst][x][s_].arrive()
                except AssertionError as e:
                    return f"remote arrival on CTA {dst}: {e}"
            continue
        runnable = [k for k in procs if k not in finished and k not in at_sync]
        if not runnable:
            if at_sync:
                at_sync.clear()  # everyone reached the cluster barrier
                continue
            return "deadlock"
        before = Barrier.events
        progressed, error = step_one(procs, runnable, finished, at_sync, rnd)
        if error:
            return error
        if not progressed and not in_flight and Barrier.events == before:
            return "deadlock"
    return "no progress in 400000 steps"


def main():
    failures = 0
    for schedule in ("serial", "ws-p2", "ws-pingpong-p2"):
        for stages in (2, 3):
            for n_blocks in range(0, 9):
                for seed in range(120):
                    result = run(stages, n_blocks, schedule, seed)
                    if result != "ok":
                        print(f"FAIL {schedule}, {stages} stages, {n_blocks} blocks, seed {seed}: {result}")
                        failures += 1
                        break
        print(f"{'ok  ' if not failures else '    '} {schedule}")
    for pingpong, name in ((False, "ws-p2-c2"), (True, "ws-pingpong-p2-c2")):
        for stages in (2, 3):
            for n_blocks in range(0, 9):
                for seed in range(120):
                    result = run_cluster(stages, n_blocks, seed, pingpong=pingpong)
                    if result != "ok":
                        print(f"FAIL {name}, {stages} stages, {n_blocks} blocks, seed {seed}: {result}")
                        failures += 1
                        break
        print(f"{'ok  ' if not failures else '    '} {name} (two CTAs, multicast halves, releases to both)")
    # The cluster protocol's two safeguards must each be needed.
    no_tail = [run_cluster(2, n, seed, producer_tail=False) for n in (1, 2, 4) for seed in range(60)]
    local_only = [run_cluster(2, n, seed, release_to_both=False) for n in (3, 5) for seed in range(60)]
    if not any("after it exited" in r for r in no_tail):
        print(f"FAIL a cluster whose producers skip the final waits should let a CTA exit too early: {set(no_tail)}")
        failures += 1
    elif not any("found halves" in r for r in local_only):
        print(f"FAIL a cluster whose math warps release only their own CTA's stages should read overwritten data: "
              f"{set(local_only)}")
        failures += 1
    else:
        print("ok   without the producers' final waits a CTA exits early; with releases to its own CTA only, a "
              "stage is overwritten under the other")
    # The model must be able to fail: without the release of K(0) the producer never refills its
    # stage, so the pipeline deadlocks once n > stages.
    broken = [run(2, 3, s, seed, skip_release_k0=True) for s in ("ws-p2", "ws-pingpong-p2") for seed in range(20)]
    if not all(r == "deadlock" for r in broken):
        print(f"FAIL a loop that never releases K(0) should deadlock at 3 blocks: {set(broken)}")
        failures += 1
    else:
        print("ok   a loop that never releases K(0) deadlocks")
    extra = [run(2, 3, "ws-pingpong-p2", seed, extra_last_arrival=True) for seed in range(20)]
    extra += [run_cluster(2, 3, seed, pingpong=True, extra_last_arrival=True) for seed in range(20)]
    if any(r == "ok" for r in extra):
        print(f"FAIL a ping-pong whose warpgroup 1 arrives after its last segment should fail: {set(extra)}")
        failures += 1
    else:
        print("ok   a ping-pong with an arrival left over fails")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# tools/gpu/check.sh OUTDIR — build gallop's CUDA kernels on a GPU machine, run every `gpu` test and
# the kernel microbenchmark, and leave a JSON summary plus logs in OUTDIR.
#
# Made for the lent H100 (x86-64, 16 cores, torch 2.11.0+cu130 in python3, nvcc 13, cmake, ninja,
# SentencePiece; no network, no FFmpeg, no GoogleTest/nlohmann-json/CLI11 packages): the tree must
# carry .gpu-deps/ (run tools/gpu/pack_deps.sh on the development machine first). Every step runs
# under a timeout inside one overall budget (default 470 s: the kernel issue allows 8 minutes), a
# failed step is recorded and the script goes on, and the summary is always written. Steps run in
# the order of what a short run must not lose: build, tests, the Hopper kernels' timings, the DiT
# timings, then the rest. Exit status: 0 when every step and test
# passed, 1 otherwise (the summary says what failed).
#
# OUTDIR receives at most 8 files:
#   summary.json  device, driver, clocks, step results and times, per-test pass/fail/skip,
#                 the benchmark table, failures with the tail of their logs
#   build.log     configure + build output (with ptxas -v resource reports)
#   ptxas.txt     registers / spills / stack / shared memory per kernel, from build.log
#   tests.log     ctest output;   junit.xml  ctest's JUnit report
#   bench.log     the benchmark's tables and progress;   bench.json  its merged results
#   gpu.log       nvidia-smi, tool versions, and clock/power samples taken during the benchmark
#
# Environment overrides: GALLOP_CHECK_BUDGET (s), GALLOP_CHECK_BUILD_DIR (default build-gpu),
# GALLOP_CHECK_ARCHS (default 90a), GALLOP_CHECK_JOBS (default: all cores), PYTHON (default python3),
# GALLOP_CHECK_TEST_JOBS (ctest's parallel jobs, default 8),
# GALLOP_CHECK_LIBRARIES (library attention backends timed in a process of their own, with the
# ceilings; default flash: cuDNN, the baseline, is timed beside the Hopper variants),
# GALLOP_CHECK_DIT (the attention backends the whole-DiT benchmark compares, default
# auto,sdpa,cudnn,flash,gallop),
# GALLOP_CHECK_SM90 (the Hopper variants timed beside cuDNN, in one process; default ws-p2 ws-p2-c2
# ws-p2-prof ws-p2-c2-s3 ws-p2-c2-split ws-p2-split ws-p2-s3 ws-pingpong-p2 ws-pingpong-p2-c2
# ws-p2-n144 ws-p2-n144-split: ws-p2, ws-p2 with cycle counters (where its time goes) and the nine
# variants built on it, all timed on an H100 and an H200 on 2026-11-27, where the clusters (c2,
# c2-split) led; ws-p2-n144-c2 and serial on request (overlap, pingpong, ws,
# ws-pingpong, ws-n176 and ws-pingpong-n176 trailed ws-p2 on 2026-11-26 and were removed from the
# build on 2026-11-27, which gives their GPU test time to the contenders' timings). A backend whose
# rows a broken kernel took down is timed again alone, unless that could leave less than
# GALLOP_CHECK_DIT_RESERVE seconds (default 90) for the whole-DiT timings),
# GALLOP_CHECK_SM80 (1: time the sm_80 kernel too, the default, with whatever time is left at the
# end; 0: skip it).
set -u
export LC_ALL=C
cd "$(dirname "$0")/../.." || exit 2
ROOT=$PWD

if [ $# -ne 1 ]; then
  echo "usage: tools/gpu/check.sh OUTDIR" >&2
  exit 2
fi
OUT=$1
mkdir -p "$OUT" || exit 2
OUT=$(cd "$OUT" && pwd)
TMP=$(mktemp -d)
START=$(date +%s)
BUDGET=${GALLOP_CHECK_BUDGET:-470}
BUILD=${GALLOP_CHECK_BUILD_DIR:-build-gpu}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
ARCHS=${GALLOP_CHECK_ARCHS:-90a}
JOBS=${GALLOP_CHECK_JOBS:-$(nproc)}
TEST_JOBS=${GALLOP_CHECK_TEST_JOBS:-8}
LIBRARIES=${GALLOP_CHECK_LIBRARIES:-flash}
DIT_BACKENDS=${GALLOP_CHECK_DIT:-auto,sdpa,cudnn,flash,gallop}
DEFAULT_SM90="ws-p2 ws-p2-c2 ws-p2-prof ws-p2-c2-s3 ws-p2-c2-split ws-p2-split ws-p2-s3 ws-pingpong-p2"
DEFAULT_SM90="$DEFAULT_SM90 ws-pingpong-p2-c2 ws-p2-n144 ws-p2-n144-split"
SM90_VARIANTS=${GALLOP_CHECK_SM90:-$DEFAULT_SM90}
SM80=${GALLOP_CHECK_SM80:-1}
DIT_RESERVE=${GALLOP_CHECK_DIT_RESERVE:-90}
PYTHON=${PYTHON:-$(command -v python3 || echo python3)}
STEPS=$TMP/steps.tsv
sampler_pid=""
# Whatever happens, stop the clock sampler this script started and remove the scratch folder.
cleanup() {
  [ -n "$sampler_pid" ] && kill "$sampler_pid" 2> /dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
: > "$STEPS"
: > "$OUT/gpu.log"
: > "$OUT/bench.log"

log() { printf '[check %4ds] %s\n' "$(( $(date +%s) - START ))" "$*" >&2; }
remaining() { echo $(( BUDGET - ($(date +%s) - START) )); }

# run_step NAME MAX_SECONDS LOGFILE COMMAND...: runs COMMAND with a timeout of
# min(MAX_SECONDS, time left - 25 s reserved for the summary), appending to LOGFILE.
run_step() {
  local name=$1 max=$2 logfile=$3
  shift 3
  local left=$(( $(remaining) - 25 ))
  local limit=$(( max < left ? max : left ))
  if [ "$limit" -lt 5 ]; then
    printf '%s\tskipped\t0\t%s\n' "$name" "no time left in the ${BUDGET}s budget" >> "$STEPS"
    log "$name: skipped (no time left)"
    return 124
  fi
  log "$name (timeout ${limit}s)"
  local t0=$(date +%s)
  printf '\n===== %s: %s\n' "$name" "$*" >> "$logfile"
  timeout --kill-after=10 "$limit" "$@" >> "$logfile" 2>&1
  local rc=$?
  local dt=$(( $(date +%s) - t0 ))
  local status=ok
  [ $rc -ne 0 ] && status=failed
  [ $rc -eq 124 ] || [ $rc -eq 137 ] && status=timeout
  printf '%s\t%s\t%s\trc=%s\n' "$name" "$status" "$dt" "$rc" >> "$STEPS"
  log "$name: $status (rc=$rc, ${dt}s)"
  return $rc
}

# ---- environment ------------------------------------------------------------------------------
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(uname -a)"
  echo "cores: $(nproc)"
  echo "git: $(git rev-parse HEAD 2>/dev/null) $(git status --porcelain 2>/dev/null | wc -l) changed paths"
} >> "$OUT/gpu.log"
run_step nvidia-smi 30 "$OUT/gpu.log" sh -c 'nvidia-smi && nvidia-smi -q -d CLOCK,PERFORMANCE,POWER,ECC'
cat > "$TMP/tools.sh" <<TOOLS
command -v nvcc > /dev/null && nvcc --version | tail -2
cmake --version | head -1
echo "ninja \$(ninja --version)"
g++ --version | head -1
"$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), "gpu", torch.cuda.is_available() and torch.cuda.get_device_name(0))'
TOOLS
run_step tools 60 "$OUT/gpu.log" bash "$TMP/tools.sh"

# ---- configure and build ----------------------------------------------------------------------
if [ ! -e .gpu-deps/googletest/CMakeLists.txt ] && [ -e /usr/src/googletest/CMakeLists.txt ]; then
  run_step pack-deps 60 "$OUT/build.log" tools/gpu/pack_deps.sh
fi
cmake_args=(-S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGALLOP_CUDA=ON
  "-DGALLOP_CUDA_ARCHS=$ARCHS" -DGALLOP_PTXAS_VERBOSE=ON "-DPython3_EXECUTABLE=$PYTHON"
  "-DGALLOP_DEPS_DIR=$ROOT/.gpu-deps" -DGALLOP_FUZZ=OFF -DCMAKE_POLICY_VERSION_MINIMUM=3.5)
export TORCH_CUDA_ARCH_LIST=9.0a
run_step configure 120 "$OUT/build.log" cmake "${cmake_args[@]}"
configured=$?
built=1
if [ $configured -eq 0 ]; then
  # -k 0: build every target that can be built even when one fails.
  run_step build 300 "$OUT/build.log" cmake --build "$BUILD" --target kernels_gpu_test gallop_kernel_bench \
    dit_gpu_test engine_sampling_gpu_test gallop -j "$JOBS" -- -k 0
  built=$?
fi
"$PYTHON" tools/gpu/ptxas_report.py "$OUT/build.log" > "$OUT/ptxas.txt" 2>&1 || true

# ---- tests ------------------------------------------------------------------------------------
if [ -x "$BUILD/tests/kernels_gpu_test" ]; then
  # Several test processes share the GPU; each holds its own CUDA context.
  # 60 s per test: the whole suite took 24 s on the H100; a deadlocked kernel traps after ~10 s.
  # 180 s in all: 171 entries took 68-70 s with 6 jobs on the H200 (2026-11-26); there are 178 now
  # (30 attention kernel cases x 5 tests, as then, but other cases).
  run_step tests 180 "$OUT/tests.log" ctest --test-dir "$BUILD" -L gpu -j "$TEST_JOBS" --timeout 60 \
    --output-on-failure --no-tests=error --output-junit "$OUT/junit.xml"
else
  printf 'tests\tskipped\t0\tkernels_gpu_test was not built\n' >> "$STEPS"
  echo "kernels_gpu_test was not built (see build.log)" > "$OUT/tests.log"
fi

# ---- benchmark --------------------------------------------------------------------------------
BENCH=$BUILD/gallop_kernel_bench
if [ -x "$BENCH" ]; then
  if command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu,utilization.gpu \
      --format=csv -lms 1000 > "$TMP/clocks.csv" 2>&1 &
    sampler_pid=$!
  fi
  # One process for the library backends (+ ceilings), one for the fused memory-bound kernels
  # (every row schedule), then one for cuDNN and the Hopper variants side by side: the benchmark
  # interleaves their runs per shape in rounds, so a difference of a few percent between two of them
  # is not the card's temperature. A kernel that breaks its CUDA context (a trap, an illegal address)
  # takes every later row of that process with it, so each backend left with a broken row is then
  # timed again in a process of its own (tools/gpu/retry_variants.py), as long as that leaves
  # DIT_RESERVE seconds (and the summary's 25) for the whole-DiT steps below; summarize.py keeps the
  # side-by-side row where there is one, a retried row over a broken one.
  run_step bench-libraries 90 "$OUT/bench.log" "$BENCH" --attention "$LIBRARIES" --no-fused \
    --json "$TMP/bench_libraries.json"
  run_step bench-fused 60 "$OUT/bench.log" "$BENCH" --no-attention --no-ceilings --json "$TMP/bench_fused.json"
  side_by_side=cudnn
  for schedule in $SM90_VARIANTS; do side_by_side="$side_by_side,gallop-sm90-$schedule"; done
  # 12 backends x 5 shapes: about 0.6 s of timed runs and a checked run each, plus the inputs, so
  # about a minute; up to 240 s, less what the DiT timings keep (at least 60 s). The benchmark
  # rewrites its JSON after every shape, so a run cut short keeps the shapes it finished (and every
  # backend is then timed again alone, as time allows).
  limit=$(( $(remaining) - 25 - DIT_RESERVE ))
  [ "$limit" -gt 240 ] && limit=240
  [ "$limit" -lt 60 ] && limit=60
  run_step bench-attention "$limit" "$OUT/bench.log" "$BENCH" --no-fused --no-ceilings \
    --attention "$side_by_side" --json "$TMP/bench_attention.json"
  retry=$("$PYTHON" tools/gpu/retry_variants.py "$TMP/bench_attention.json" ${side_by_side//,/ })
  variant_max=0
  variant_est=60
  for backend in $retry; do
    if [ -x "$BUILD/gallop" ] && [ $(( $(remaining) - 25 - variant_est )) -lt "$DIT_RESERVE" ]; then
      printf '%s\tskipped\t0\t%s\n' "bench-$backend" \
        "kept ${DIT_RESERVE}s of the ${BUDGET}s budget for the DiT timings" >> "$STEPS"
      log "bench-$backend: skipped (time kept for the DiT timings)"
      continue
    fi
    t0=$(date +%s)
    run_step bench-$backend 60 "$OUT/bench.log" "$BENCH" --no-fused --no-ceilings --attention "$backend" \
      --json "$TMP/bench_retry_$backend.json"
    dt=$(( $(date +%s) - t0 ))
    [ "$dt" -gt "$variant_max" ] && variant_max=$dt
    variant_est=$(( variant_max + 10 ))
  done
  # The whole DiT at the T2V-1.3B 480p shapes per attention backend (with the time of each step of
  # the block: one more forward per backend), and the VAE decode (random weights), then the tiny
  # model's pipeline end to end on the GPU.
  if [ -x "$BUILD/gallop" ]; then
    run_step gallop-bench 150 "$OUT/bench.log" "$BUILD/gallop" bench --model t2v-1.3b --attention "$DIT_BACKENDS" \
      --repeat 3 --breakdown --json "$TMP/dit_bench.json"
    # The Hopper kernel variants in the whole DiT (a separate process: a kernel that aborts takes
    # only these rows with it).
    variants=cudnn
    for schedule in $SM90_VARIANTS; do
      case $schedule in serial | *-prof) ;; *) variants="$variants,gallop-sm90-$schedule" ;; esac
    done
    run_step gallop-bench-variants 90 "$OUT/bench.log" "$BUILD/gallop" bench --model t2v-1.3b --no-vae --repeat 3 \
      --attention "$variants" --json "$TMP/dit_bench_variants.json"
    run_step gallop-generate 60 "$OUT/bench.log" "$BUILD/gallop" generate --model tiny --device cuda --seed 7 \
      --prompt "a red car drifting through rain at night" --save-latents "$TMP/tiny_latents.safetensors"
  fi
  # The sm_80 kernel (Ampere/Ada's path; on Hopper it only shows that it still runs) last, with
  # whatever time is left.
  if [ "$SM80" = 1 ]; then
    run_step bench-gallop-sm80 40 "$OUT/bench.log" "$BENCH" --no-fused --no-ceilings --attention gallop-sm80 \
      --json "$TMP/bench_sm80.json"
  fi
  if [ -n "$sampler_pid" ]; then
    kill "$sampler_pid" 2> /dev/null
    wait "$sampler_pid" 2> /dev/null
    sampler_pid=""
    { echo; echo "===== clocks during the benchmark (1 s samples)"; cat "$TMP/clocks.csv"; } >> "$OUT/gpu.log"
  fi
else
  printf 'bench\tskipped\t0\tgallop_kernel_bench was not built\n' >> "$STEPS"
fi

# ---- summary ----------------------------------------------------------------------------------
log "summary"
# The benchmark files in name order (LC_ALL=C): bench_attention.json, the side-by-side timings,
# comes first, and summarize.py keeps the first timed row of a (shape, backend).
if ! timeout 60 "$PYTHON" tools/gpu/summarize.py --out "$OUT" --steps "$STEPS" --start "$START" \
    --bench "$TMP"/bench_*.json --dit-bench "$TMP/dit_bench.json" "$TMP/dit_bench_variants.json" 2>> "$OUT/gpu.log"; then
  # Last resort: the step table as JSON, written by the shell.
  {
    printf '{\n  "summary_error": "tools/gpu/summarize.py failed; see gpu.log",\n  "steps": [\n'
    first=1
    while IFS=$'\t' read -r name status secs note; do
      [ $first -eq 1 ] || printf ',\n'
      first=0
      printf '    {"name": "%s", "status": "%s", "seconds": %s, "note": "%s"}' "$name" "$status" "${secs:-0}" \
        "$(printf '%s' "$note" | tr -d '"\\')"
    done < "$STEPS"
    printf '\n  ]\n}\n'
  } > "$OUT/summary.json"
fi
log "done: $OUT"
if grep -qv $'\tok\t' "$STEPS"; then exit 1; fi
if [ -f "$OUT/summary.json" ] && grep -q '"all_passed": true' "$OUT/summary.json"; then exit 0; fi
exit 1

#!/usr/bin/env bash
# Builds and runs gallop's libFuzzer targets (the checkpoint parsers that read untrusted bytes):
#   safetensors_header_fuzz   8-byte length framing + JSON header (engine/weights/safetensors_header.cpp)
#   pickle_reader_fuzz        torch.save data.pkl unpickler      (engine/weights/pickle_reader.cpp)
#
#   tools/fuzz/run_fuzzers.sh SECONDS        build, then fuzz for SECONDS in total (split evenly)
#   tools/fuzz/run_fuzzers.sh --build-only   build only
#
# The targets are compiled directly with clang++ (-fsanitize=fuzzer,address,undefined) against
# the torch headers and libc10 of the project's Python environment; the rest of gallop (g++) is
# not involved. Without a clang++ that supports -fsanitize=fuzzer the script says so and exits 0.
# Exits non-zero when a target crashes (the reproducer is left in the build folder).
#
# Environment: GALLOP_FUZZ_BUILD_DIR (default build-fuzz), PYTHON (default .venv/bin/python),
# CXX_FUZZ (default clang++).
set -euo pipefail
cd "$(dirname "$0")/../.."

mode="${1:-}"
if [ -z "$mode" ] || { [ "$mode" != "--build-only" ] && ! [[ "$mode" =~ ^[0-9]+$ ]]; }; then
  echo "usage: tools/fuzz/run_fuzzers.sh SECONDS | --build-only" >&2
  exit 2
fi

log() { printf '[fuzz] %s\n' "$*" >&2; }

CXX_FUZZ=${CXX_FUZZ:-clang++}
if ! command -v "$CXX_FUZZ" >/dev/null; then
  log "skipped: $CXX_FUZZ not found (install clang to run the fuzzers)"
  exit 0
fi
if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' |
    "$CXX_FUZZ" -x c++ -fsanitize=fuzzer - -o /dev/null 2>/dev/null; then
  log "skipped: $CXX_FUZZ cannot build -fsanitize=fuzzer binaries (libFuzzer runtime missing)"
  exit 0
fi

PYTHON=${PYTHON:-.venv/bin/python}
torch_dir=$("$PYTHON" -c "import importlib.util, os; s = importlib.util.find_spec('torch'); print(os.path.dirname(s.origin) if s else '')")
if [ -z "$torch_dir" ]; then
  log "torch is not installed for $PYTHON (run tools/setup.sh)"
  exit 1
fi

BUILD=${GALLOP_FUZZ_BUILD_DIR:-build-fuzz}
mkdir -p "$BUILD"
CXXFLAGS=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
          -I. -isystem "$torch_dir/include" -isystem "$torch_dir/include/torch/csrc/api/include")
LDFLAGS=(-fsanitize=fuzzer,address,undefined -L"$torch_dir/lib" -Wl,-rpath,"$torch_dir/lib" -lc10)

LAUNCHER=()
command -v ccache >/dev/null && LAUNCHER=(ccache)
build() {  # build NAME SOURCES... (skipped when the binary is newer than its sources and headers)
  local name=$1
  shift
  if [ -x "$BUILD/$name" ] && [ -z "$(find "$@" engine/weights/*.h engine/core/error.h -newer "$BUILD/$name")" ]; then
    log "$BUILD/$name is up to date"
    return
  fi
  log "building $BUILD/$name"
  local objects=() src obj
  mkdir -p "$BUILD/obj"
  for src in "$@"; do
    obj="$BUILD/obj/$(basename "$src" .cpp).o"
    "${LAUNCHER[@]}" "$CXX_FUZZ" "${CXXFLAGS[@]}" -c "$src" -o "$obj"
    objects+=("$obj")
  done
  "$CXX_FUZZ" "${objects[@]}" "${LDFLAGS[@]}" -o "$BUILD/$name"
}
build safetensors_header_fuzz tests/engine/weights/safetensors_header_fuzz.cpp engine/weights/safetensors_header.cpp
build pickle_reader_fuzz tests/engine/weights/pickle_reader_fuzz.cpp engine/weights/pickle_reader.cpp
[ "$mode" = "--build-only" ] && exit 0

# Seeds: a few valid inputs for each target, and a dictionary of the formats' tokens.
seeds=$BUILD/seeds
mkdir -p "$seeds/safetensors" "$seeds/pickle" "$BUILD/corpus/safetensors" "$BUILD/corpus/pickle"
st_seed() {  # st_seed FILE JSON DATA_BYTES
  local n=${#2}
  printf "$(printf '\\x%02x\\x%02x\\x%02x' $((n & 255)) $((n >> 8 & 255)) $((n >> 16 & 255)))\\0\\0\\0\\0\\0" >"$1"
  printf '%s' "$2" >>"$1"
  head -c "$3" /dev/zero >>"$1"
}
st_seed "$seeds/safetensors/one" '{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}' 16
st_seed "$seeds/safetensors/meta" '{"__metadata__":{"format":"pt"},"w":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]},"e":{"dtype":"I64","shape":[0],"data_offsets":[6,6]}}' 8
st_seed "$seeds/safetensors/two" '{"x":{"dtype":"U8","shape":[4],"data_offsets":[4,8]},"y":{"dtype":"I16","shape":[2],"data_offsets":[0,4]}}' 8
for f in tests/data/weights/good.pth tests/data/weights/wrapped.pth tests/data/weights/bad_module.pth; do
  "$PYTHON" -c "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); n = [x for x in z.namelist() if x.endswith('/data.pkl')][0]; sys.stdout.buffer.write(z.read(n))" "$f" >"$seeds/pickle/$(basename "$f" .pth)"
done
cat >"$BUILD/safetensors.dict" <<'DICT'
"dtype"
"shape"
"data_offsets"
"__metadata__"
"F32"
"BF16"
"F16"
"I64"
"BOOL"
"F8_E4M3"
"18446744073709551615"
"9223372036854775807"
DICT

per_target=$(( mode / 2 ))
[ "$per_target" -lt 1 ] && per_target=1
status=0
run() {  # run NAME CORPUS SEEDS [extra libFuzzer flags]
  local name=$1 corpus=$2 seeds_dir=$3
  shift 3
  log "running $name for ${per_target}s"
  if ! "$BUILD/$name" -max_total_time="$per_target" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 -artifact_prefix="$BUILD/$name-" "$@" "$corpus" "$seeds_dir" 2>"$BUILD/$name.log"; then
    tail -n 40 "$BUILD/$name.log" >&2
    log "$name FOUND A PROBLEM: reproducer and log in $BUILD/"
    status=1
  else
    grep -E '^stat::number_of_executed_units|^Done' "$BUILD/$name.log" >&2 || true
  fi
}
run safetensors_header_fuzz "$BUILD/corpus/safetensors" "$seeds/safetensors" -dict="$BUILD/safetensors.dict"
run pickle_reader_fuzz "$BUILD/corpus/pickle" "$seeds/pickle"
exit $status

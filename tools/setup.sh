#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine for gallop, builds it, and optionally runs the tests.
#
#   tools/setup.sh            install what the build needs, build build/gallop
#   tools/setup.sh --test     ... then run the whole test suite (what CI runs)
#   tools/setup.sh --dev      ... also install the Python reference packages that the golden-data
#                             scripts in tools/reference/ use (diffusers, transformers, ...)
#
# Environment: GALLOP_BUILD_DIR (default build), GALLOP_JOBS (default: number of cores),
# GALLOP_CUDA (AUTO|ON|OFF, default AUTO), GALLOP_SKIP_INSTALL=1 to skip apt/pip.
set -euo pipefail
cd "$(dirname "$0")/.."

run_tests=0
dev=0
for arg in "$@"; do
  case "$arg" in
    --test) run_tests=1 ;;
    --dev) dev=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

# Pinned to the LibTorch C++ API of the GPU machines (torch 2.11.0+cu130).
TORCH_VERSION=2.11.0
REFERENCE_PACKAGES="diffusers==0.42.1 transformers==5.24.0 sentencepiece==0.2.3 ftfy==6.3.1 safetensors==0.8.0 accelerate==1.15.0 protobuf"
APT_PACKAGES="build-essential cmake ninja-build pkg-config ccache python3-venv
  libsentencepiece-dev libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libx264-dev
  nlohmann-json3-dev libcli11-dev libgtest-dev clang"
BUILD_DIR=${GALLOP_BUILD_DIR:-build}
JOBS=${GALLOP_JOBS:-$(nproc)}

log() { printf '[setup] %s\n' "$*" >&2; }

if [ "${GALLOP_SKIP_INSTALL:-0}" != 1 ]; then
  missing=""
  for p in $APT_PACKAGES; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    log "installing Debian packages:$missing"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
  if [ ! -x .venv/bin/python ]; then
    log "creating the Python environment .venv"
    python3 -m venv .venv
  fi
  if ! .venv/bin/python -c "import importlib.metadata as m; assert m.version('torch') == '$TORCH_VERSION'" 2>/dev/null; then
    log "installing torch==$TORCH_VERSION from PyPI into .venv (LibTorch for the C++ build; a few GB)"
    .venv/bin/pip install -q --disable-pip-version-check "torch==$TORCH_VERSION" numpy
  fi
  if command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ]; then
    # The SASS check of the Hopper kernels (tests/kernels/sass_schedule_test.py) disassembles
    # what nvcc built; the toolkit's own cuobjdump/nvdisasm are not always installed.
    if ! .venv/bin/python -c "import importlib.metadata as m; m.version('nvidia-cuda-cuobjdump'); m.version('nvidia-cuda-nvdisasm')" 2>/dev/null; then
      log "installing cuobjdump and nvdisasm (PyPI wheels) into .venv"
      .venv/bin/pip install -q --disable-pip-version-check "nvidia-cuda-cuobjdump>=13,<14" "nvidia-cuda-nvdisasm>=13,<14"
    fi
  fi
  if [ "$dev" = 1 ]; then
    log "installing the Python reference packages"
    .venv/bin/pip install -q --disable-pip-version-check $REFERENCE_PACKAGES
  fi
fi

if command -v ccache >/dev/null; then
  # Precompiled headers need these to be cacheable.
  ccache --set-config=sloppiness=pch_defines,time_macros,include_file_mtime,include_file_ctime >/dev/null
  ccache --set-config=max_size=10G >/dev/null
fi

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  log "configuring $BUILD_DIR"
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DPython3_EXECUTABLE="$PWD/.venv/bin/python" -DGALLOP_CUDA="${GALLOP_CUDA:-AUTO}" >/dev/null
fi
log "building in $BUILD_DIR with $JOBS jobs"
cmake --build "$BUILD_DIR" -j "$JOBS"

if [ "$run_tests" = 1 ]; then
  log "running the tests"
  (cd "$BUILD_DIR" && ctest --output-on-failure -j "$JOBS")
fi

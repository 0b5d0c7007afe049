#!/usr/bin/env bash
# Copies the build dependencies that the GPU machine lacks into .gpu-deps/ (git-ignored; it
# travels with the working tree to that machine, which has no network):
#   .gpu-deps/googletest/        GoogleTest sources (from /usr/src/googletest), built there
#   .gpu-deps/include/nlohmann/  nlohmann-json headers (from /usr/include)
#   .gpu-deps/include/CLI/       CLI11 headers (from /usr/include)
# CMake uses them only for packages it does not find (-DGALLOP_DEPS_DIR, cmake/GallopDeps.cmake).
# Run here, once, before handing the tree to tools/gpu/check.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=.gpu-deps
gtest_src=${GTEST_SRC:-/usr/src/googletest}
for need in "$gtest_src/CMakeLists.txt" /usr/include/nlohmann/json.hpp /usr/include/CLI/CLI.hpp; do
  [ -e "$need" ] || { echo "pack_deps.sh: $need is missing (apt-get install googletest nlohmann-json3-dev libcli11-dev)" >&2; exit 1; }
done
rm -rf "$dest"
mkdir -p "$dest/include"
# GoogleTest without GoogleMock (the tests do not use it), without docs and its own tests.
mkdir -p "$dest/googletest"
cp "$gtest_src/CMakeLists.txt" "$dest/googletest/"
cp -r "$gtest_src/googletest" "$dest/googletest/"
rm -rf "$dest/googletest/googletest/docs" "$dest/googletest/googletest/test" "$dest/googletest/googletest/samples"
cp -r /usr/include/nlohmann "$dest/include/"
cp -r /usr/include/CLI "$dest/include/"
{
  echo "made by tools/gpu/pack_deps.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ) from:"
  dpkg-query -W -f='  ${Package} ${Version}\n' googletest nlohmann-json3-dev libcli11-dev 2>/dev/null || true
} > "$dest/SOURCES.txt"
echo "pack_deps.sh: $(du -sh "$dest" | cut -f1) in $dest"

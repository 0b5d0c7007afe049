// libFuzzer target: a whole safetensors file image (8-byte length framing + JSON header + data)
// through parse_safetensors_file_image. Any input must either parse into entries that all lie
// inside the data section without overlapping, or be refused with gallop::Error; any other
// exception, crash, sanitizer report or broken invariant is a finding.
// Built and run by tools/fuzz/run_fuzzers.sh (clang, -fsanitize=fuzzer,address,undefined).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "engine/core/error.h"
#include "engine/weights/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint64_t data_offset = 0;
  gallop::engine::SafetensorsHeader header;
  try {
    header = gallop::engine::parse_safetensors_file_image(data, size, "fuzz", &data_offset);
  } catch (const gallop::Error&) {
    return 0;
  }
  if (data_offset < 8 || data_offset > size) std::abort();
  const uint64_t data_size = size - data_offset;
  uint64_t furthest = 0;
  for (const auto& e : header.entries) {
    if (e.begin > e.end || e.end > data_size) std::abort();
    uint64_t bytes = c10::elementSize(e.dtype);
    for (int64_t d : e.shape) bytes *= static_cast<uint64_t>(d);
    if (bytes != e.end - e.begin) std::abort();
    if (e.begin == e.end) continue;
    if (e.begin < furthest) std::abort();  // entries are sorted; non-empty ranges never overlap
    furthest = e.end;
  }
  return 0;
}

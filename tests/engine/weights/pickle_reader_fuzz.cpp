// libFuzzer target: arbitrary bytes as the data.pkl of a torch.save archive, through the
// restricted unpickler (parse_state_dict_pickle). Any input must either yield tensors whose
// storage indices are valid and whose size/stride lists agree, or be refused with
// gallop::Error; anything else is a finding. Built and run by tools/fuzz/run_fuzzers.sh.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "engine/core/error.h"
#include "engine/weights/pickle_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto sd = gallop::engine::parse_state_dict_pickle(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    for (const auto& [name, t] : sd.tensors)
      if (t.storage >= sd.storages.size() || t.size.size() != t.stride.size()) std::abort();
  } catch (const gallop::Error&) {
  }
  return 0;
}

// A restricted unpickler for the data.pkl of a torch.save archive holding a state dict.
//
// Why not LibTorch's torch::jit::Unpickler: it turns `collections.OrderedDict` into None (it
// expects OrderedDicts only as empty backward-hook tables), so it cannot read what
// `torch.save(model.state_dict())` writes. This reader understands the pickle opcodes that
// torch.save emits (protocols 2 to 5) and builds only plain values: None, bools, ints, floats,
// strings, bytes, tuples, lists, dicts, and tensors through a fixed list of constructors
// (collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _v3 / _rebuild_parameter,
// torch.*Storage and torch.<dtype> tags, and the type tags LibTorch's own pickle_save writes). Any other global (a pickled nn.Module, numpy arrays, ...) is refused by name. It
// runs no code, and bounds memo indices, string lengths and container nesting.
//
// The tensor data itself is not here: each tensor names a storage record of the zip archive
// (`data/<key>`), which the caller maps.
#pragma once

#include <c10/core/ScalarType.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gallop::engine {

struct PickledStorage {
  std::string key;       // record name under data/
  at::ScalarType dtype;  // element type of the storage
  int64_t numel = 0;     // elements in the storage
};

struct PickledTensor {
  size_t storage = 0;          // index into PickledStateDict::storages
  at::ScalarType dtype;        // element type of the tensor (may differ from an untyped storage's)
  int64_t storage_offset = 0;  // in elements of `dtype`
  std::vector<int64_t> size;
  std::vector<int64_t> stride;
};

struct PickledStateDict {
  std::vector<PickledStorage> storages;
  std::vector<std::pair<std::string, PickledTensor>> tensors;  // dict order
  std::string wrapper;  // "state_dict" / "model" when the dict was found under that key, else ""
};

// Parses `pickle` and extracts the name -> tensor dict: the top-level dict when all its values
// are tensors, else a string -> tensor dict under a top-level "state_dict" or "model" key.
// Throws gallop::Error(Format) prefixed with `context`, saying what was found instead.
PickledStateDict parse_state_dict_pickle(std::string_view pickle, const std::string& context);

}  // namespace gallop::engine

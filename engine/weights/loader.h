// Loading a checkpoint into a LibTorch module.
//
// The module's named_parameters() and named_buffers() are the targets. Each checkpoint key goes
// through a KeyMapper (the per-family rename tables live in models/<family>/name_map.cpp) to a
// module name, or to std::nullopt to ignore it. Everything is checked before anything is copied:
// every missing, unexpected and mis-shaped tensor is reported together in one
// gallop::Error(Format) naming the file (each group counted, the first 20 listed). Then tensors
// are converted and copied one at a time, so peak memory is the module plus one tensor.
#pragma once

#include <torch/nn/module.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/weights/tensor_source.h"

namespace gallop::engine {

// Checkpoint key -> module parameter/buffer name; std::nullopt = ignore this tensor.
using KeyMapper = std::function<std::optional<std::string>(const std::string& checkpoint_key)>;

// Every key maps to itself.
KeyMapper identity_mapper();
// Keys that start with `prefix` lose it; keys that do not are ignored (they belong to another
// model bundled in the same file). strip_prefix_mapper("") is identity_mapper().
KeyMapper strip_prefix_mapper(const std::string& prefix);
// first, then second (std::nullopt from first is final).
KeyMapper compose_mappers(KeyMapper first, KeyMapper second);

struct LoadOptions {
  // Floating-point target dtype; std::nullopt keeps each tensor's checkpoint dtype. Integer and
  // bool tensors always keep theirs.
  std::optional<at::ScalarType> dtype;
  // Per-parameter override (e.g. "keep the norms in fp32"): returns the dtype for a module name,
  // or std::nullopt to use `dtype`. Applies to floating-point tensors only.
  std::function<std::optional<at::ScalarType>(const std::string& name)> dtype_override;
  at::Device device = at::kCPU;
  // Module names that may be absent from the checkpoint (e.g. buffers the model computes
  // itself); they are left untouched.
  std::function<bool(const std::string& name)> may_be_missing;
};

struct LoadReport {
  int64_t loaded = 0;                // module tensors assigned
  std::vector<std::string> ignored;  // checkpoint keys the mapper dropped
  std::vector<std::string> aliases;  // checkpoint keys skipped because another key filled the same name
  uint64_t bytes = 0;                // bytes written into the module
};

// Throws gallop::Error(Format) listing every mismatch (see the file comment); NotFound/Io/Format
// from reading the source. Two checkpoint keys may map to one module name only when they agree in
// shape and dtype (tied weights saved under both names); the first in key order is loaded.
LoadReport load_module(torch::nn::Module& module, const TensorSource& source, const KeyMapper& mapper,
                       const LoadOptions& options = {});

}  // namespace gallop::engine

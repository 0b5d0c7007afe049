// Loading golden weights into a module in tests: every named parameter and buffer of `module`
// must exist under `prefix + name` in the file with the same shape (the checkpoint key is the
// parameter name). The tensors are copied in with the parameter's dtype.
#pragma once

#include <torch/nn/module.h>

#include <string>

#include "engine/weights/safetensors.h"

namespace gallop::testing {

// Throws std::runtime_error listing every missing or mis-shaped tensor.
void load_parameters(torch::nn::Module& module, const engine::SafetensorsFile& file, const std::string& prefix = "");

}  // namespace gallop::testing

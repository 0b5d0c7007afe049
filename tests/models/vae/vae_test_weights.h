// Deterministic VAE test weights that C++ and Python produce bit for bit (the procedure of
// tools/reference/vae_golden.py), so the real-size architecture can be tested without committing
// its 508 MB of weights.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <cstdint>

namespace gallop::testing::vae {

// For the i-th parameter name in sorted order: randn(shape) from a CPU generator seeded with
// seed + i, then gamma -> t·0.1 + 1, bias -> t·0.05, weight -> t·(1/√fan_in) (fan_in = product of
// the dims after the first). Written into the parameters with their own dtype and device.
void fill_deterministic(torch::nn::Module& module, uint64_t seed);

// [num_params, 3]: the first 3 values (fp32) of every parameter, names in sorted order.
at::Tensor weight_probe(torch::nn::Module& module);

}  // namespace gallop::testing::vae

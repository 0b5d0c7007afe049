// Deterministic VAE test weights (see vae_test_weights.h).
#include "tests/models/vae/vae_test_weights.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

namespace gallop::testing::vae {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::map<std::string, at::Tensor> sorted_parameters(torch::nn::Module& module) {
  std::map<std::string, at::Tensor> out;  // std::map orders names bytewise, as Python's sorted()
  for (auto& p : module.named_parameters(/*recurse=*/true)) out.emplace(p.key(), p.value());
  return out;
}

}  // namespace

void fill_deterministic(torch::nn::Module& module, uint64_t seed) {
  torch::NoGradGuard no_grad;
  uint64_t i = 0;
  for (auto& [name, param] : sorted_parameters(module)) {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed + i++);
    at::Tensor t = at::randn(param.sizes(), gen, at::TensorOptions().dtype(at::kFloat));
    if (ends_with(name, ".gamma")) {
      t = t * 0.1 + 1.0;
    } else if (ends_with(name, ".bias")) {
      t = t * 0.05;
    } else {
      int64_t fan_in = 1;
      for (int64_t d = 1; d < param.dim(); ++d) fan_in *= param.size(d);
      t = t * (1.0 / std::sqrt(static_cast<double>(fan_in)));
    }
    param.copy_(t);
  }
}

at::Tensor weight_probe(torch::nn::Module& module) {
  std::vector<at::Tensor> rows;
  for (auto& [name, param] : sorted_parameters(module))
    rows.push_back(param.detach().flatten().narrow(0, 0, 3).to(at::kCPU, at::kFloat));
  return at::stack(rows);
}

}  // namespace gallop::testing::vae

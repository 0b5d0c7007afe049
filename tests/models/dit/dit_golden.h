// Reading the DiT goldens written by tools/reference/dit_golden.py (tests/data/dit/*_tiny.safetensors):
// the tiny model's config (diffusers config.json in the metadata), its weights under official keys,
// and each case's inputs (the trimmed text contexts padded with pad_text_context).
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/weights/safetensors.h"
#include "models/dit/wan_model.h"

namespace gallop::testing::dit {

struct Golden {
  std::shared_ptr<const engine::SafetensorsFile> file;
  models::dit::DitConfig config;
  std::vector<std::string> cases;  // case names, e.g. "grid_3x6x10"
};

struct Inputs {
  at::Tensor x, t, context, clip_fea, y;  // clip_fea and y undefined for T2V
  Inputs to(const at::Device& device) const;
};

// The golden files, in the order T2V, I2V, FLF2V.
const std::vector<std::string>& golden_names();
Golden open_golden(const std::string& name);
// A model with the golden weights, fp32 parameters on `device`.
models::dit::WanModel load_model(const Golden& g, const at::Device& device = at::kCPU);
Inputs load_inputs(const Golden& g, const std::string& case_name);
at::Tensor run(models::dit::WanModel& model, const Inputs& in, at::ScalarType compute_dtype);

}  // namespace gallop::testing::dit

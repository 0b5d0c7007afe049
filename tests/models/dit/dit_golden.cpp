#include "tests/models/dit/dit_golden.h"

#include <nlohmann/json.hpp>

#include <sstream>

#include "tests/testing/module_io.h"
#include "tests/testing/test_env.h"

namespace gallop::testing::dit {

using models::dit::DitConfig;
using models::dit::WanModel;

Inputs Inputs::to(const at::Device& device) const {
  auto move = [&](const at::Tensor& t) { return t.defined() ? t.to(device) : t; };
  return {move(x), move(t), move(context), move(clip_fea), move(y)};
}

const std::vector<std::string>& golden_names() {
  static const std::vector<std::string> names = {"t2v_tiny.safetensors", "i2v_tiny.safetensors",
                                                 "flf2v_tiny.safetensors"};
  return names;
}

Golden open_golden(const std::string& name) {
  Golden g;
  g.file = engine::SafetensorsFile::open(data_path("dit/" + name));
  const auto& meta = g.file->metadata();
  g.config = DitConfig::from_diffusers_json(nlohmann::json::parse(meta.at("diffusers_config")));
  std::stringstream ss(meta.at("cases"));
  for (std::string c; std::getline(ss, c, ',');) g.cases.push_back(c);
  return g;
}

WanModel load_model(const Golden& g, const at::Device& device) {
  WanModel model(g.config, at::TensorOptions().dtype(at::kFloat));
  load_parameters(*model, *g.file);
  model->to(device);
  return model;
}

Inputs load_inputs(const Golden& g, const std::string& c) {
  const auto& f = *g.file;
  Inputs in;
  in.x = f.tensor(c + ".x");
  in.t = f.tensor(c + ".t");
  std::vector<at::Tensor> ctx;
  for (int i = 0; f.contains(c + ".context." + std::to_string(i)); ++i)
    ctx.push_back(f.tensor(c + ".context." + std::to_string(i)));
  in.context = models::dit::pad_text_context(ctx, g.config.text_len);
  if (f.contains(c + ".y")) {
    in.y = f.tensor(c + ".y");
    in.clip_fea = f.tensor(c + ".clip_fea");
  }
  return in;
}

at::Tensor run(WanModel& model, const Inputs& in, at::ScalarType compute_dtype) {
  models::dit::ForwardOptions options;
  options.compute_dtype = compute_dtype;
  return model->forward(in.x, in.t, in.context, in.clip_fea, in.y, options);
}

}  // namespace gallop::testing::dit

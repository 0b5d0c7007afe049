// DiT configs: the official presets against spec §1.1 (parameter counts and tensor counts of the
// real-size models built on the meta device: 1,418,996,800 / 14,288,491,584 / 16,394,878,784 /
// 16,395,536,704 parameters and 825 / 1095 / 1303 / 1304 tensors, exact), parsing of the official
// config.json (the fields the Wan2.1 repos ship, quoted from spec §1.1) and of the diffusers
// config.json (the real configs dumped by tools/reference/dit_golden.py into
// tests/data/dit/diffusers_keys.json) onto the same presets, and validation errors that name the
// field. All comparisons exact.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <stdexcept>
#include <string>

#include "models/dit/config.h"
#include "models/dit/wan_model.h"
#include "tests/testing/test_env.h"

using gallop::models::dit::DitConfig;
using gallop::models::dit::ModelType;
using gallop::models::dit::WanModel;

namespace {

nlohmann::json diffusers_golden() {
  std::ifstream in(gallop::testing::data_path("dit/diffusers_keys.json"));
  EXPECT_TRUE(in.good());
  return nlohmann::json::parse(in);
}

// The official config.json of a model (the ten fields the Wan2.1 repos ship).
nlohmann::json official_json(const char* type, int dim, int ffn, int heads, int layers, int in_dim) {
  return nlohmann::json{{"_class_name", "WanModel"}, {"_diffusers_version", "0.30.0"},
                        {"dim", dim}, {"eps", 1e-06}, {"ffn_dim", ffn}, {"freq_dim", 256},
                        {"in_dim", in_dim}, {"model_type", type}, {"num_heads", heads},
                        {"num_layers", layers}, {"out_dim", 16}, {"text_len", 512}};
}

// Substring of the std::invalid_argument message thrown by `f`.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no exception)";
}

struct Preset {
  const char* name;
  DitConfig config;
  int64_t params;
  size_t tensors;
};

std::vector<Preset> presets() {
  return {{"t2v_1_3b", DitConfig::t2v_1_3b(), 1'418'996'800, 825},
          {"t2v_14b", DitConfig::t2v_14b(), 14'288'491'584, 1095},
          {"i2v_14b", DitConfig::i2v_14b(), 16'394'878'784, 1303},
          {"flf2v_14b", DitConfig::flf2v_14b(), 16'395'536'704, 1304}};
}

}  // namespace

TEST(DitConfig, PresetParameterCountsMatchTheSpec) {
  for (const auto& p : presets()) {
    SCOPED_TRACE(p.name);
    p.config.validate();
    WanModel model(p.config, at::TensorOptions().device(at::kMeta));
    EXPECT_EQ(model->num_parameters(), p.params);
    EXPECT_EQ(model->named_parameters().size(), p.tensors);
    EXPECT_TRUE(model->named_buffers().is_empty()) << "the DiT must have no buffers";
    for (const auto& t : model->parameters()) EXPECT_TRUE(t.is_meta());
  }
}

TEST(DitConfig, PresetShapes) {
  const auto c = DitConfig::t2v_1_3b();
  EXPECT_EQ(c.head_dim(), 128);
  EXPECT_EQ(c.rope_split(), (std::array<int64_t, 3>{44, 42, 42}));
  WanModel model(DitConfig::flf2v_14b(), at::TensorOptions().device(at::kMeta));
  auto params = model->named_parameters();
  EXPECT_EQ(params["img_emb.emb_pos"].sizes(), (std::vector<int64_t>{1, 514, 1280}));
  EXPECT_EQ(params["patch_embedding.weight"].sizes(), (std::vector<int64_t>{5120, 36, 1, 2, 2}));
  EXPECT_EQ(params["head.head.weight"].sizes(), (std::vector<int64_t>{64, 5120}));
  EXPECT_EQ(params["blocks.39.modulation"].sizes(), (std::vector<int64_t>{1, 6, 5120}));
  EXPECT_EQ(params["img_emb.proj.3.weight"].sizes(), (std::vector<int64_t>{5120, 1280}));
}

TEST(DitConfig, OfficialJsonGivesThePresets) {
  EXPECT_EQ(DitConfig::from_official_json(official_json("t2v", 1536, 8960, 12, 30, 16)), DitConfig::t2v_1_3b());
  EXPECT_EQ(DitConfig::from_official_json(official_json("t2v", 5120, 13824, 40, 40, 16)), DitConfig::t2v_14b());
  EXPECT_EQ(DitConfig::from_official_json(official_json("i2v", 5120, 13824, 40, 40, 36)), DitConfig::i2v_14b());
  EXPECT_EQ(DitConfig::from_official_json(official_json("flf2v", 5120, 13824, 40, 40, 36)), DitConfig::flf2v_14b());
  EXPECT_EQ(DitConfig::from_json(official_json("t2v", 1536, 8960, 12, 30, 16)), DitConfig::t2v_1_3b());
}

TEST(DitConfig, OfficialJsonOptionalFields) {
  auto j = official_json("t2v", 64, 128, 2, 2, 16);
  j["text_dim"] = 32;
  j["patch_size"] = {1, 2, 2};
  const auto c = DitConfig::from_official_json(j);
  EXPECT_EQ(c.text_dim, 32);
  EXPECT_EQ(c.head_dim(), 32);
  EXPECT_EQ(c.rope_split(), (std::array<int64_t, 3>{12, 10, 10}));
}

TEST(DitConfig, DiffusersJsonGivesThePresets) {
  const auto doc = diffusers_golden();
  for (const auto& p : presets()) {
    SCOPED_TRACE(p.name);
    const auto& j = doc.at(p.name).at("config");
    EXPECT_EQ(DitConfig::from_diffusers_json(j), p.config);
    EXPECT_EQ(DitConfig::from_json(j), p.config);
    EXPECT_EQ(doc.at(p.name).at("num_params").get<int64_t>(), p.params);
  }
}

TEST(DitConfig, ValidationNamesTheField) {
  auto c = DitConfig::t2v_1_3b();
  c.num_heads = 7;
  EXPECT_NE(error_of([&] { c.validate(); }).find("num_heads"), std::string::npos);
  c = DitConfig::t2v_1_3b();
  c.freq_dim = 255;
  EXPECT_NE(error_of([&] { c.validate(); }).find("freq_dim"), std::string::npos);
  c = DitConfig::i2v_14b();
  c.text_len = 256;
  EXPECT_NE(error_of([&] { c.validate(); }).find("text_len"), std::string::npos);
  c = DitConfig::t2v_1_3b();
  c.eps = 0.0;
  EXPECT_NE(error_of([&] { c.validate(); }).find("eps"), std::string::npos);
  c = DitConfig::t2v_1_3b();
  c.dim = 0;
  EXPECT_NE(error_of([&] { WanModel(c, at::TensorOptions().device(at::kMeta)); }).find("dim"), std::string::npos);
}

TEST(DitConfig, JsonErrorsNameTheField) {
  auto j = official_json("t2v", 1536, 8960, 12, 30, 16);
  j.erase("num_layers");
  EXPECT_NE(error_of([&] { DitConfig::from_official_json(j); }).find("num_layers"), std::string::npos);
  j = official_json("v2v", 1536, 8960, 12, 30, 16);
  EXPECT_NE(error_of([&] { DitConfig::from_official_json(j); }).find("model_type"), std::string::npos);
  j = official_json("t2v", 1536, 8960, 12, 30, 16);
  j["dim"] = "1536";
  EXPECT_NE(error_of([&] { DitConfig::from_official_json(j); }).find("dim"), std::string::npos);
  j = official_json("t2v", 1536, 8960, 12, 30, 16);
  j["window_size"] = {256, 256};
  EXPECT_NE(error_of([&] { DitConfig::from_official_json(j); }).find("window_size"), std::string::npos);

  const auto doc = diffusers_golden();
  auto d = doc.at("i2v_14b").at("config");
  d["added_kv_proj_dim"] = 1280;
  EXPECT_NE(error_of([&] { DitConfig::from_diffusers_json(d); }).find("added_kv_proj_dim"), std::string::npos);
  d = doc.at("t2v_1_3b").at("config");
  d["qk_norm"] = nullptr;
  EXPECT_NE(error_of([&] { DitConfig::from_diffusers_json(d); }).find("qk_norm"), std::string::npos);
  d = doc.at("flf2v_14b").at("config");
  d["pos_embed_seq_len"] = 257;
  EXPECT_NE(error_of([&] { DitConfig::from_diffusers_json(d); }).find("pos_embed_seq_len"), std::string::npos);
  EXPECT_THROW(DitConfig::from_json(nlohmann::json{{"dim", 1}}), std::invalid_argument);
  EXPECT_THROW(DitConfig::from_json(nlohmann::json::array()), std::invalid_argument);
}

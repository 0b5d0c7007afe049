// DiT key renaming: every state-dict key of the real-size diffusers WanTransformer3DModel
// (1.3B, 14B, I2V-14B, FLF2V-14B, built on the meta device by tools/reference/dit_golden.py:
// tests/data/dit/diffusers_keys.json) maps onto WanModel's named_parameters() (same config on
// kMeta) one-to-one with identical shapes. Also: the official dialect is the identity, the
// `model.diffusion_model.` prefix is dropped, `norm_added_q` is ignored, unknown keys pass
// through, and the bf16 weight-dtype policy keeps exactly the spec §11.1 set in fp32.
// All comparisons exact.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "models/dit/config.h"
#include "models/dit/name_map.h"
#include "models/dit/wan_model.h"
#include "tests/testing/test_env.h"

using gallop::models::dit::Dialect;
using gallop::models::dit::DitConfig;
using gallop::models::dit::to_official_key;
using gallop::models::dit::WanModel;

namespace {

std::map<std::string, std::vector<int64_t>> module_shapes(const DitConfig& config) {
  WanModel model(config, at::TensorOptions().device(at::kMeta));
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& p : model->named_parameters()) shapes[p.key()] = p.value().sizes().vec();
  return shapes;
}

}  // namespace

TEST(DitNameMap, DiffusersKeysMapOntoModuleOneToOne) {
  std::ifstream in(gallop::testing::data_path("dit/diffusers_keys.json"));
  ASSERT_TRUE(in.good());
  const auto doc = nlohmann::json::parse(in);
  const std::map<std::string, DitConfig> configs = {{"t2v_1_3b", DitConfig::t2v_1_3b()},
                                                    {"t2v_14b", DitConfig::t2v_14b()},
                                                    {"i2v_14b", DitConfig::i2v_14b()},
                                                    {"flf2v_14b", DitConfig::flf2v_14b()}};
  for (const auto& [name, config] : configs) {
    SCOPED_TRACE(name);
    const auto shapes = module_shapes(config);
    std::set<std::string> seen;
    const auto& keys = doc.at(name).at("keys");
    ASSERT_EQ(keys.size(), shapes.size());
    for (const auto& entry : keys) {
      const auto key = entry.at(0).get<std::string>();
      const auto shape = entry.at(1).get<std::vector<int64_t>>();
      const auto official = to_official_key(key, Dialect::Diffusers);
      ASSERT_TRUE(official.has_value()) << key << " was dropped";
      EXPECT_EQ(gallop::models::dit::from_official_key(*official, Dialect::Diffusers), key) << "inverse map";
      auto it = shapes.find(*official);
      ASSERT_NE(it, shapes.end()) << key << " -> " << *official << " is not a WanModel parameter";
      EXPECT_EQ(it->second, shape) << key << " -> " << *official;
      EXPECT_TRUE(seen.insert(*official).second) << "two keys map onto " << *official;
    }
    EXPECT_EQ(seen.size(), shapes.size());
  }
}

TEST(DitNameMap, SpecificKeys) {
  auto d = [](const std::string& k) { return to_official_key(k, Dialect::Diffusers).value_or("<none>"); };
  EXPECT_EQ(d("blocks.12.norm2.weight"), "blocks.12.norm3.weight");
  EXPECT_EQ(d("blocks.3.attn2.to_out.0.bias"), "blocks.3.cross_attn.o.bias");
  EXPECT_EQ(d("blocks.0.attn2.add_k_proj.weight"), "blocks.0.cross_attn.k_img.weight");
  EXPECT_EQ(d("blocks.0.attn2.norm_added_k.weight"), "blocks.0.cross_attn.norm_k_img.weight");
  EXPECT_EQ(d("blocks.7.scale_shift_table"), "blocks.7.modulation");
  EXPECT_EQ(d("scale_shift_table"), "head.modulation");
  EXPECT_EQ(d("proj_out.weight"), "head.head.weight");
  EXPECT_EQ(d("condition_embedder.time_proj.bias"), "time_projection.1.bias");
  EXPECT_EQ(d("condition_embedder.image_embedder.pos_embed"), "img_emb.emb_pos");
  EXPECT_EQ(d("model.diffusion_model.blocks.1.ffn.net.0.proj.weight"), "blocks.1.ffn.0.weight");
  EXPECT_FALSE(to_official_key("blocks.5.attn2.norm_added_q.weight", Dialect::Diffusers).has_value());
  // Unknown keys come back unchanged so that the loader can report them.
  EXPECT_EQ(d("blocks.0.attn1.to_qkv.weight"), "blocks.0.attn1.to_qkv.weight");
  EXPECT_EQ(d("some.other.tensor"), "some.other.tensor");
  EXPECT_EQ(d("blocks.x.norm2.weight"), "blocks.x.norm2.weight");
}

TEST(DitNameMap, OfficialIsIdentity) {
  for (const auto& p : WanModel(DitConfig::i2v_14b(), at::TensorOptions().device(at::kMeta))->named_parameters())
    EXPECT_EQ(to_official_key(p.key(), Dialect::Official), p.key());
  EXPECT_EQ(to_official_key("model.diffusion_model.head.head.bias", Dialect::Official), "head.head.bias");
}

TEST(DitNameMap, Bf16WeightPolicyKeepsTheSpecSetInFp32) {
  using gallop::models::dit::runs_in_fp32;
  using gallop::models::dit::weight_dtype;
  const std::set<std::string> fp32 = {
      "blocks.0.modulation", "head.modulation", "head.head.weight", "head.head.bias",
      "time_embedding.0.weight", "time_embedding.0.bias", "time_embedding.2.weight", "time_embedding.2.bias",
      "time_projection.1.weight", "time_projection.1.bias",
      "blocks.0.norm3.weight", "blocks.0.norm3.bias", "blocks.0.self_attn.norm_q.weight",
      "blocks.0.self_attn.norm_k.weight", "blocks.0.cross_attn.norm_q.weight",
      "blocks.0.cross_attn.norm_k.weight", "blocks.0.cross_attn.norm_k_img.weight",
      "img_emb.proj.0.weight", "img_emb.proj.0.bias", "img_emb.proj.4.weight", "img_emb.proj.4.bias",
      "img_emb.emb_pos"};
  size_t n_fp32 = 0;
  for (const auto& p : WanModel(DitConfig::flf2v_14b(), at::TensorOptions().device(at::kMeta))->named_parameters()) {
    const auto& k = p.key();
    const bool want_fp32 = k.rfind("blocks.", 0) == 0 ? fp32.count("blocks.0" + k.substr(k.find('.', 7))) > 0
                                                       : fp32.count(k) > 0;
    EXPECT_EQ(runs_in_fp32(k), want_fp32) << k;
    EXPECT_EQ(weight_dtype(k, at::kBFloat16), want_fp32 ? at::kFloat : at::kBFloat16) << k;
    EXPECT_EQ(weight_dtype(k, at::kFloat), at::kFloat) << k;
    n_fp32 += want_fp32;
  }
  // Per block: modulation, norm3 (2), self norm_q/k, cross norm_q/k/k_img = 8; head 3, time MLP 6,
  // img_emb LayerNorms 4 + emb_pos.
  EXPECT_EQ(n_fp32, 40u * 8u + 3u + 6u + 5u);
}

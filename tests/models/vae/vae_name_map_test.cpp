// VAE key renaming: every key of the real-size diffusers AutoencoderKLWan (dumped from diffusers
// on the meta device by tools/reference/vae_golden.py into tests/data/vae/wan21_vae_diffusers_keys.json,
// together with the official key of each, checked there against diffusers' own
// convert_wan_vae_to_diffusers) must map one-to-one onto WanVAE's parameters with equal shapes.
// Exact comparisons (strings and shapes).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <set>
#include <string>

#include "models/vae/name_map.h"
#include "models/vae/wan_vae.h"
#include "tests/testing/test_env.h"

using gallop::models::vae::Dialect;
using gallop::models::vae::to_official_key;
using gallop::models::vae::VaeConfig;
using gallop::models::vae::WanVAE;

namespace {

std::map<std::string, std::vector<int64_t>> module_shapes() {
  WanVAE vae(VaeConfig::wan21(), at::TensorOptions().device(at::kMeta));
  std::map<std::string, std::vector<int64_t>> out;
  for (const auto& p : vae.named_parameters()) out[p.key()] = p.value().sizes().vec();
  return out;
}

TEST(VaeNameMap, DiffusersKeysMapOneToOneOntoTheModule) {
  std::ifstream in(gallop::testing::data_path("vae/wan21_vae_diffusers_keys.json"));
  ASSERT_TRUE(in.good());
  const nlohmann::json j = nlohmann::json::parse(in);
  const auto& state_dict = j.at("state_dict");
  const auto& official = j.at("official");
  const auto shapes = module_shapes();
  ASSERT_EQ(state_dict.size(), 194u);

  std::set<std::string> seen;
  for (const auto& [key, shape] : state_dict.items()) {
    SCOPED_TRACE(key);
    const auto mapped = to_official_key(key, Dialect::Diffusers);
    ASSERT_TRUE(mapped.has_value());
    EXPECT_EQ(*mapped, official.at(key).get<std::string>());
    EXPECT_EQ(gallop::models::vae::from_official_key(*mapped, Dialect::Diffusers), key) << "inverse map";
    auto it = shapes.find(*mapped);
    ASSERT_NE(it, shapes.end()) << "maps to '" << *mapped << "', which the module does not have";
    EXPECT_EQ(it->second, shape.get<std::vector<int64_t>>());
    EXPECT_TRUE(seen.insert(*mapped).second) << "two keys map to " << *mapped;
  }
  EXPECT_EQ(seen.size(), shapes.size());
}

TEST(VaeNameMap, OfficialKeysAreKept) {
  for (const auto& [key, shape] : module_shapes()) EXPECT_EQ(to_official_key(key, Dialect::Official), key);
}

TEST(VaeNameMap, UnknownKeysComeBackUnchanged) {
  for (const std::string key :
       {"foo.bar", "decoder.up_blocks.0.resnets.3.norm1.gamma", "encoder.mid_block.resnets.2.conv1.weight",
        "decoder.up_blocks.x.resnets.0.conv1.weight", "encoder.down_blocks.0.attn.weight",
        "decoder.down_blocks.0.norm1.gamma"})
    EXPECT_EQ(to_official_key(key, Dialect::Diffusers), key);
}

TEST(VaeNameMap, UpBlockIndexFollowsNumResBlocks) {
  // Stage b of the decoder holds num_res_blocks + 1 residual blocks, then its Resample.
  EXPECT_EQ(to_official_key("decoder.up_blocks.1.upsamplers.0.resample.1.weight", Dialect::Diffusers, 3),
            "decoder.upsamples.9.resample.1.weight");
  EXPECT_EQ(to_official_key("decoder.up_blocks.2.resnets.0.conv_shortcut.bias", Dialect::Diffusers, 1),
            "decoder.upsamples.6.shortcut.bias");
}

}  // namespace

// VaeConfig and WanVAE construction, checked against the spec (§5.1, Appendix A: 194 tensors,
// 126,892,531 parameters), against the diffusers config.json of the real VAE written by
// tools/reference/vae_golden.py (tests/data/vae/wan21_vae_diffusers_config.json), and the input
// errors of decode/encode. Exact comparisons only (integers, shapes, messages).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <string>

#include "models/vae/config.h"
#include "models/vae/wan_vae.h"
#include "tests/testing/test_env.h"

using gallop::models::vae::VaeConfig;
using gallop::models::vae::WanVAE;

namespace {

nlohmann::json read_json(const std::string& relative) {
  std::ifstream in(gallop::testing::data_path(relative));
  EXPECT_TRUE(in.good()) << relative;
  return nlohmann::json::parse(in);
}

// Expects `fn` to throw E whose message contains `needle`.
template <typename E, typename Fn>
void expect_throw_with(Fn fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no exception; expected one mentioning '" << needle << "'";
  } catch (const E& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(needle), std::string::npos) << "message: " << what;
  }
}

TEST(VaeConfig, Wan21PresetDerivedSizes) {
  const VaeConfig c = VaeConfig::wan21();
  EXPECT_NO_THROW(c.validate());
  EXPECT_EQ(c.encoder_dims(), (std::vector<int64_t>{96, 96, 192, 384, 384}));
  EXPECT_EQ(c.decoder_dims(), (std::vector<int64_t>{384, 384, 384, 192, 96}));
  EXPECT_EQ(c.temporal_upsample(), (std::vector<bool>{true, true, false}));
  EXPECT_EQ(c.temporal_factor(), 4);
  EXPECT_EQ(c.spatial_factor(), 8);
  EXPECT_EQ(c.decoded_frames(21), 81);
  EXPECT_EQ(c.decoded_frames(1), 1);
  EXPECT_EQ(c.latent_frames(81), 21);
  EXPECT_THROW(c.latent_frames(80), std::invalid_argument);
  EXPECT_THROW(c.decoded_frames(0), std::invalid_argument);
  ASSERT_EQ(c.latents_mean.size(), 16u);
  EXPECT_FLOAT_EQ(c.latents_mean[7], 1.5508f);
  EXPECT_FLOAT_EQ(c.latents_std[8], 3.2687f);
}

TEST(VaeConfig, ParsesDiffusersConfigOfTheRealVae) {
  const nlohmann::json j = read_json("vae/wan21_vae_diffusers_config.json");
  EXPECT_EQ(VaeConfig::from_diffusers_json(j), VaeConfig::wan21());
}

TEST(VaeConfig, RejectsUnsupportedDiffusersConfigsNamingTheField) {
  const nlohmann::json base = read_json("vae/wan21_vae_diffusers_config.json");
  auto with = [&](const char* key, nlohmann::json value) {
    nlohmann::json j = base;
    j[key] = std::move(value);
    return j;
  };
  const std::map<std::string, nlohmann::json> cases = {
      {"is_residual", true},
      {"attn_scales", nlohmann::json::array({0.5})},
      {"base_dim", 1},
      {"z_dim", 0},
      {"num_res_blocks", 0},
      {"patch_size", 2},
      {"temperal_downsample", nlohmann::json::array({true})},
      {"decoder_base_dim", 128},
      {"scale_factor_spatial", 16},
      {"scale_factor_temporal", 8},
      {"latents_std", nlohmann::json::array({1.0, 2.0})},
      {"dropout", 1.5},
  };
  for (const auto& [key, value] : cases) {
    SCOPED_TRACE(key);
    expect_throw_with<std::invalid_argument>([&] { VaeConfig::from_diffusers_json(with(key.c_str(), value)); },
                                             key == "temperal_downsample" ? "temporal_downsample" : key);
  }
  expect_throw_with<std::invalid_argument>([&] { VaeConfig::from_diffusers_json(with("base_dim", "96")); },
                                           "base_dim");
  EXPECT_THROW(VaeConfig::from_diffusers_json(nlohmann::json::array()), std::invalid_argument);
}

TEST(VaeConfig, ParsesOfficialConstructorArguments) {
  const nlohmann::json j = {{"dim", 96},
                            {"z_dim", 16},
                            {"dim_mult", {1, 2, 4, 4}},
                            {"num_res_blocks", 2},
                            {"attn_scales", nlohmann::json::array()},
                            {"temperal_downsample", {false, true, true}},
                            {"dropout", 0.0}};
  EXPECT_EQ(VaeConfig::from_official_json(j), VaeConfig::wan21());
  VaeConfig small = VaeConfig::from_official_json({{"dim", 8}});
  EXPECT_EQ(small.base_dim, 8);
  EXPECT_EQ(small.z_dim, 16);
  expect_throw_with<std::invalid_argument>([] { VaeConfig::from_official_json({{"z_dim", 8}}); }, "latents_mean");
}

TEST(WanVAE, RealSizeOnMetaHasTheOfficialKeysAndParameterCount) {
  WanVAE vae(VaeConfig::wan21(), at::TensorOptions().device(at::kMeta));
  std::map<std::string, std::vector<int64_t>> shapes;
  int64_t count = 0;
  for (const auto& p : vae.named_parameters()) {
    shapes[p.key()] = p.value().sizes().vec();
    count += p.value().numel();
    EXPECT_TRUE(p.value().is_meta()) << p.key();
  }
  EXPECT_EQ(vae.named_buffers().size(), 0u);
  EXPECT_EQ(shapes.size(), 194u);
  EXPECT_EQ(count, 126'892'531);
  // Spot checks from Appendix A (one per kind of layer).
  const std::map<std::string, std::vector<int64_t>> expected = {
      {"encoder.conv1.weight", {96, 3, 3, 3, 3}},
      {"encoder.downsamples.2.resample.1.weight", {96, 96, 3, 3}},
      {"encoder.downsamples.5.time_conv.weight", {192, 192, 3, 1, 1}},
      {"encoder.downsamples.6.shortcut.weight", {384, 192, 1, 1, 1}},
      {"encoder.middle.1.norm.gamma", {384, 1, 1}},
      {"encoder.middle.1.to_qkv.weight", {1152, 384, 1, 1}},
      {"encoder.head.0.gamma", {384, 1, 1, 1}},
      {"encoder.head.2.weight", {32, 384, 3, 3, 3}},
      {"conv1.weight", {32, 32, 1, 1, 1}},
      {"conv2.weight", {16, 16, 1, 1, 1}},
      {"decoder.conv1.weight", {384, 16, 3, 3, 3}},
      {"decoder.upsamples.3.time_conv.weight", {768, 384, 3, 1, 1}},
      {"decoder.upsamples.3.resample.1.weight", {192, 384, 3, 3}},
      {"decoder.upsamples.4.residual.0.gamma", {192, 1, 1, 1}},
      {"decoder.upsamples.4.shortcut.weight", {384, 192, 1, 1, 1}},
      {"decoder.upsamples.11.resample.1.weight", {96, 192, 3, 3}},
      {"decoder.upsamples.14.residual.6.weight", {96, 96, 3, 3, 3}},
      {"decoder.head.2.weight", {3, 96, 3, 3, 3}},
      {"decoder.head.2.bias", {3}},
  };
  for (const auto& [key, shape] : expected) {
    ASSERT_TRUE(shapes.count(key)) << key;
    EXPECT_EQ(shapes[key], shape) << key;
  }
}

// A model that is never run (uninitialized CPU weights): the input checks come first.
class WanVAEErrors : public ::testing::Test {
 protected:
  static VaeConfig tiny() {
    VaeConfig c = VaeConfig::wan21();
    c.base_dim = 2;
    return c;
  }
  WanVAE vae_{tiny(), at::TensorOptions().dtype(at::kFloat)};
};

TEST_F(WanVAEErrors, DecodeRejectsWrongChannelCountAndRank) {
  expect_throw_with<c10::Error>([&] { vae_.decode(at::zeros({1, 8, 2, 2, 2})); }, "16 channels, got 8");
  expect_throw_with<c10::Error>([&] { vae_.decode(at::zeros({16, 2, 2, 2})); }, "5-D");
  expect_throw_with<c10::Error>([&] { vae_.decode(at::zeros({1, 1, 16, 2, 2, 2})); }, "5-D");
  expect_throw_with<c10::Error>([&] { vae_.decode(at::zeros({1, 16, 0, 2, 2})); }, "empty");
  expect_throw_with<c10::Error>([&] { vae_.decode(at::zeros({1, 16, 2, 2, 2}, at::kLong)); }, "floating point");
  gallop::models::vae::VaeRunOptions bad;
  bad.compute_dtype = at::kInt;
  expect_throw_with<c10::Error>([&] { vae_.decode(at::zeros({1, 16, 1, 2, 2}), bad); }, "compute dtype");
}

TEST_F(WanVAEErrors, EncodeRejectsBadVideos) {
  expect_throw_with<c10::Error>([&] { vae_.encode(at::zeros({1, 4, 5, 16, 16})); }, "3 channels, got 4");
  expect_throw_with<c10::Error>([&] { vae_.encode(at::zeros({3, 5, 16, 16})); }, "5-D");
  expect_throw_with<c10::Error>([&] { vae_.encode(at::zeros({1, 3, 6, 16, 16})); }, "1 + 4k, got 6");
  expect_throw_with<c10::Error>([&] { vae_.encode(at::zeros({1, 3, 5, 12, 16})); }, "multiples of 8");
}

}  // namespace

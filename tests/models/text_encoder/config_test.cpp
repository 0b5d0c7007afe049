// UMT5Config: the real-size HF config.json written by transformers (tests/data/text_encoder/
// umt5_xxl_hf_config.json, from tools/reference/umt5_golden.py) parses to the umt5_xxl() preset,
// which holds the values of spec §3.1; the official constructor arguments parse too; each bad
// field is rejected with a message naming it. Exact comparisons.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <stdexcept>
#include <string>

#include "models/text_encoder/config.h"
#include "tests/testing/test_env.h"

using gallop::models::text_encoder::UMT5Config;
using gallop::testing::data_path;

namespace {

nlohmann::json read_json(const std::string& relative) {
  std::ifstream in(data_path(relative));
  EXPECT_TRUE(in.good()) << data_path(relative);
  return nlohmann::json::parse(in);
}

// Runs fn, expecting std::invalid_argument whose message contains `needle`.
template <typename Fn>
void expect_invalid(Fn fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no exception; expected one mentioning '" << needle << "'";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(UMT5Config, PresetHoldsSpecValues) {
  const UMT5Config c = UMT5Config::umt5_xxl();
  EXPECT_EQ(c.vocab_size, 256384);
  EXPECT_EQ(c.d_model, 4096);
  EXPECT_EQ(c.d_kv, 64);
  EXPECT_EQ(c.num_heads, 64);
  EXPECT_EQ(c.inner_dim(), 4096);
  EXPECT_EQ(c.d_ff, 10240);
  EXPECT_EQ(c.num_layers, 24);
  EXPECT_EQ(c.num_buckets, 32);
  EXPECT_EQ(c.max_distance, 128);
  EXPECT_EQ(c.eps, 1e-6);
  EXPECT_NO_THROW(c.validate());
}

TEST(UMT5Config, ParsesRealSizeHfConfig) {
  const UMT5Config c = UMT5Config::from_hf_json(read_json("text_encoder/umt5_xxl_hf_config.json"));
  EXPECT_EQ(c, UMT5Config::umt5_xxl());
}

TEST(UMT5Config, ParsesOfficialArguments) {
  // The keyword arguments of the official umt5_xxl() (wan/modules/t5.py).
  const auto j = nlohmann::json::parse(R"({"vocab_size": 256384, "dim": 4096, "dim_attn": 4096,
      "dim_ffn": 10240, "num_heads": 64, "encoder_layers": 24, "decoder_layers": 24,
      "num_buckets": 32, "shared_pos": false, "dropout": 0.1})");
  EXPECT_EQ(UMT5Config::from_official_json(j), UMT5Config::umt5_xxl());
  const auto tiny = nlohmann::json::parse(R"({"vocab": 100, "dim": 8, "dim_attn": 12, "dim_ffn": 16,
      "num_heads": 3, "num_layers": 2, "num_buckets": 32})");
  const UMT5Config t = UMT5Config::from_official_json(tiny);
  EXPECT_EQ(t.vocab_size, 100);
  EXPECT_EQ(t.d_kv, 4);
  EXPECT_EQ(t.num_layers, 2);
  expect_invalid([] { UMT5Config::from_official_json(nlohmann::json::parse(R"({"shared_pos": true})")); },
                 "shared_pos");
  expect_invalid([] { UMT5Config::from_official_json(nlohmann::json::parse(R"({"dim_attn": 100})")); },
                 "dim_attn");
}

TEST(UMT5Config, RejectsBadHfConfigs) {
  const nlohmann::json good = read_json("text_encoder/umt5_xxl_hf_config.json");
  auto with = [&](const std::string& key, const nlohmann::json& value) {
    nlohmann::json j = good;
    j[key] = value;
    return j;
  };
  auto without = [&](const std::string& key) {
    nlohmann::json j = good;
    j.erase(key);
    return j;
  };
  expect_invalid([&] { UMT5Config::from_hf_json(with("model_type", "t5")); }, "model_type");
  expect_invalid([&] { UMT5Config::from_hf_json(with("feed_forward_proj", "relu")); }, "feed_forward_proj");
  expect_invalid([&] { UMT5Config::from_hf_json(with("d_model", 0)); }, "d_model");
  expect_invalid([&] { UMT5Config::from_hf_json(with("d_kv", "64")); }, "d_kv");
  expect_invalid([&] { UMT5Config::from_hf_json(without("num_heads")); }, "num_heads");
  expect_invalid([&] { UMT5Config::from_hf_json(with("relative_attention_num_buckets", 7)); }, "num_buckets");
  expect_invalid([&] { UMT5Config::from_hf_json(with("relative_attention_max_distance", 4)); }, "max_distance");
  expect_invalid([&] { UMT5Config::from_hf_json(with("layer_norm_epsilon", -1.0)); }, "eps");
  expect_invalid([] { UMT5Config::from_hf_json(nlohmann::json::array()); }, "JSON object");
}

TEST(UMT5Config, ValidateNamesTheField) {
  UMT5Config c;
  c.d_ff = -1;
  expect_invalid([&] { c.validate(); }, "d_ff");
  c = UMT5Config{};
  c.num_layers = 0;
  expect_invalid([&] { c.validate(); }, "num_layers");
}

}  // namespace

// umT5 key renaming: every state-dict key of the real-size HF UMT5EncoderModel (built on the meta
// device by tools/reference/umt5_golden.py, tests/data/text_encoder/umt5_xxl_hf_keys.json) maps
// onto UMT5Encoder's named_parameters() (real-size config on kMeta) with identical shapes, covering
// every parameter; the only shared target is the tied embedding (shared.weight and
// encoder.embed_tokens.weight). Also: the official dialect is the identity, decoder / LM-head keys
// are ignored, unknown keys pass through unchanged. Exact comparisons.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "models/text_encoder/name_map.h"
#include "models/text_encoder/umt5.h"
#include "tests/testing/test_env.h"

using gallop::models::text_encoder::Dialect;
using gallop::models::text_encoder::to_official_key;
using gallop::models::text_encoder::UMT5Config;
using gallop::models::text_encoder::UMT5Encoder;

namespace {

std::map<std::string, std::vector<int64_t>> module_shapes() {
  UMT5Encoder model(UMT5Config::umt5_xxl(), at::TensorOptions().device(at::kMeta));
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& p : model->named_parameters()) shapes[p.key()] = p.value().sizes().vec();
  EXPECT_TRUE(model->named_buffers().is_empty()) << "the encoder must have no buffers";
  return shapes;
}

TEST(UMT5NameMap, HfKeysMapOntoModuleOneToOne) {
  std::ifstream in(gallop::testing::data_path("text_encoder/umt5_xxl_hf_keys.json"));
  ASSERT_TRUE(in.good());
  const auto doc = nlohmann::json::parse(in);
  const auto& hf = doc.at("state_dict");
  const auto shapes = module_shapes();
  ASSERT_EQ(shapes.size(), 24u * 10u + 2u);

  std::map<std::string, std::set<std::string>> sources;  // official key -> HF keys mapping to it
  for (const auto& [hf_key, hf_shape] : hf.items()) {
    const auto mapped = to_official_key(hf_key, Dialect::Diffusers);
    ASSERT_TRUE(mapped.has_value()) << hf_key << " is ignored";
    auto it = shapes.find(*mapped);
    ASSERT_NE(it, shapes.end()) << hf_key << " -> " << *mapped << " is not a parameter";
    EXPECT_EQ(it->second, hf_shape.get<std::vector<int64_t>>()) << hf_key << " -> " << *mapped;
    sources[*mapped].insert(hf_key);
    if (hf_key != "encoder.embed_tokens.weight") {  // the tied alias; the inverse writes shared.weight
      EXPECT_EQ(gallop::models::text_encoder::from_official_key(*mapped, Dialect::Diffusers), hf_key)
          << "inverse map";
    }
  }
  for (const auto& [name, shape] : shapes) {
    auto it = sources.find(name);
    ASSERT_NE(it, sources.end()) << name << " has no HF source";
    if (name == "token_embedding.weight") {
      EXPECT_EQ(it->second, (std::set<std::string>{"shared.weight", "encoder.embed_tokens.weight"}));
    } else {
      EXPECT_EQ(it->second.size(), 1u) << name << " has several HF sources";
    }
  }
}

TEST(UMT5NameMap, SpotChecks) {
  EXPECT_EQ(to_official_key("encoder.block.23.layer.1.DenseReluDense.wi_0.weight", Dialect::Diffusers),
            "blocks.23.ffn.gate.0.weight");
  EXPECT_EQ(to_official_key("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
                            Dialect::Diffusers),
            "blocks.0.pos_embedding.embedding.weight");
  EXPECT_EQ(to_official_key("encoder.block.7.layer.1.DenseReluDense.wo.weight", Dialect::Diffusers),
            "blocks.7.ffn.fc2.weight");
  EXPECT_EQ(to_official_key("encoder.final_layer_norm.weight", Dialect::Diffusers), "norm.weight");
}

TEST(UMT5NameMap, IgnoresDecoderAndPassesUnknownKeys) {
  EXPECT_EQ(to_official_key("decoder.block.0.layer.0.SelfAttention.q.weight", Dialect::Diffusers), std::nullopt);
  EXPECT_EQ(to_official_key("lm_head.weight", Dialect::Diffusers), std::nullopt);
  for (const std::string key : {"encoder.block.3.layer.2.layer_norm.weight", "encoder.block.x.layer.0.layer_norm.weight",
                                "encoder.block.", "something.else"}) {
    EXPECT_EQ(to_official_key(key, Dialect::Diffusers), key);
  }
}

TEST(UMT5NameMap, OfficialIsIdentity) {
  for (const auto& [name, shape] : module_shapes()) EXPECT_EQ(to_official_key(name, Dialect::Official), name);
}

}  // namespace

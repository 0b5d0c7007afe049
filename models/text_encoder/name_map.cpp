// HF UMT5EncoderModel -> official Wan2.1 umT5 key renaming (see name_map.h for the table).
#include "models/text_encoder/name_map.h"

#include <cctype>
#include <string_view>

namespace gallop::models::text_encoder {

namespace {

struct SuffixRename {
  std::string_view hf;        // after "encoder.block.{i}."
  std::string_view official;  // after "blocks.{i}."
};

constexpr SuffixRename kBlockRenames[] = {
    {"layer.0.layer_norm.weight", "norm1.weight"},
    {"layer.0.SelfAttention.q.weight", "attn.q.weight"},
    {"layer.0.SelfAttention.k.weight", "attn.k.weight"},
    {"layer.0.SelfAttention.v.weight", "attn.v.weight"},
    {"layer.0.SelfAttention.o.weight", "attn.o.weight"},
    {"layer.0.SelfAttention.relative_attention_bias.weight", "pos_embedding.embedding.weight"},
    {"layer.1.layer_norm.weight", "norm2.weight"},
    {"layer.1.DenseReluDense.wi_0.weight", "ffn.gate.0.weight"},
    {"layer.1.DenseReluDense.wi_1.weight", "ffn.fc1.weight"},
    {"layer.1.DenseReluDense.wo.weight", "ffn.fc2.weight"},
};

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::optional<std::string> from_hf(const std::string& key) {
  if (key == "shared.weight" || key == "encoder.embed_tokens.weight") return std::string("token_embedding.weight");
  if (key == "encoder.final_layer_norm.weight") return std::string("norm.weight");
  if (key == "lm_head.weight" || starts_with(key, "decoder.")) return std::nullopt;

  constexpr std::string_view kBlock = "encoder.block.";
  std::string_view rest(key);
  if (!starts_with(rest, kBlock)) return key;
  rest.remove_prefix(kBlock.size());
  size_t digits = 0;
  while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
  if (digits == 0 || digits >= rest.size() || rest[digits] != '.') return key;
  const std::string_view index = rest.substr(0, digits);
  const std::string_view suffix = rest.substr(digits + 1);
  for (const auto& r : kBlockRenames) {
    if (suffix == r.hf) return "blocks." + std::string(index) + "." + std::string(r.official);
  }
  return key;
}

std::string to_hf(const std::string& key) {
  if (key == "token_embedding.weight") return "shared.weight";
  if (key == "norm.weight") return "encoder.final_layer_norm.weight";
  constexpr std::string_view kBlocks = "blocks.";
  std::string_view rest(key);
  if (!starts_with(rest, kBlocks)) return key;
  rest.remove_prefix(kBlocks.size());
  size_t digits = 0;
  while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
  if (digits == 0 || digits >= rest.size() || rest[digits] != '.') return key;
  const std::string_view index = rest.substr(0, digits);
  const std::string_view suffix = rest.substr(digits + 1);
  for (const auto& r : kBlockRenames)
    if (suffix == r.official) return "encoder.block." + std::string(index) + "." + std::string(r.hf);
  return key;
}

}  // namespace

std::string from_official_key(const std::string& key, Dialect dialect) {
  return dialect == Dialect::Diffusers ? to_hf(key) : key;
}

std::optional<std::string> to_official_key(const std::string& key, Dialect dialect) {
  switch (dialect) {
    case Dialect::Official:
      return key;
    case Dialect::Diffusers:
      return from_hf(key);
  }
  return key;
}

}  // namespace gallop::models::text_encoder

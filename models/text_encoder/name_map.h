// Checkpoint key renaming for the umT5 encoder: every dialect's tensor names -> the official
// Wan2.1 keys that UMT5Encoder registers (spec §7.6).
//
//   HF UMT5EncoderModel                                         official
//   shared.weight, encoder.embed_tokens.weight (tied aliases)    token_embedding.weight
//   encoder.block.{i}.layer.0.layer_norm.weight                 blocks.{i}.norm1.weight
//   encoder.block.{i}.layer.0.SelfAttention.{q,k,v,o}.weight    blocks.{i}.attn.{q,k,v,o}.weight
//   encoder.block.{i}.layer.0.SelfAttention.relative_attention_bias.weight
//                                                               blocks.{i}.pos_embedding.embedding.weight
//   encoder.block.{i}.layer.1.layer_norm.weight                 blocks.{i}.norm2.weight
//   encoder.block.{i}.layer.1.DenseReluDense.wi_0.weight        blocks.{i}.ffn.gate.0.weight
//   encoder.block.{i}.layer.1.DenseReluDense.wi_1.weight        blocks.{i}.ffn.fc1.weight
//   encoder.block.{i}.layer.1.DenseReluDense.wo.weight          blocks.{i}.ffn.fc2.weight
//   encoder.final_layer_norm.weight                             norm.weight
//
// HF files may hold the tied embedding under both of its names: both map to
// token_embedding.weight (same tensor), so a loader must accept that one repeated target.
// Ignored (std::nullopt): the decoder and LM head of a full UMT5 checkpoint (`decoder.*`,
// `lm_head.weight`). Any other key is returned unchanged so that the loader reports it as
// unexpected rather than dropping it silently.
#pragma once

#include <optional>
#include <string>

namespace gallop::models::text_encoder {

enum class Dialect {
  Official,   // Wan2.1 `models_t5_umt5-xxl-enc-bf16.pth` names (identity)
  Diffusers,  // HF transformers `UMT5EncoderModel` names (diffusers `text_encoder/`, ComfyUI files)
};

std::optional<std::string> to_official_key(const std::string& key, Dialect dialect);

// The inverse, for writing checkpoints in another dialect: an official key -> its HF name
// (`token_embedding.weight` -> `shared.weight`). Keys outside the table are returned unchanged.
std::string from_official_key(const std::string& official_key, Dialect dialect);

}  // namespace gallop::models::text_encoder

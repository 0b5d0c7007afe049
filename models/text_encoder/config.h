// UMT5Config: the hyper-parameters of the umT5 text encoder (spec §3.1), the official real-size
// preset, validation, and parsers for the HF `config.json` and for the official constructor
// arguments (the official code has no config file for the encoder: `umt5_xxl()` in
// wan/modules/t5.py fixes the sizes in code; its keyword names are accepted as a JSON object).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>

namespace gallop::models::text_encoder {

struct UMT5Config {
  int64_t vocab_size = 256384;  // token embedding rows
  int64_t d_model = 4096;       // residual width
  int64_t d_kv = 64;            // per-head width of q, k, v
  int64_t num_heads = 64;
  int64_t d_ff = 10240;         // gated FFN inner width
  int64_t num_layers = 24;      // encoder blocks
  int64_t num_buckets = 32;     // relative position buckets (both directions together)
  int64_t max_distance = 128;   // distance from which every relative position shares one bucket
  double eps = 1e-6;            // RMSNorm epsilon

  int64_t inner_dim() const { return num_heads * d_kv; }

  // Throws std::invalid_argument naming the first bad field.
  void validate() const;

  // The umT5-XXL encoder used by every Wan2.1 model.
  static UMT5Config umt5_xxl();

  // HF `config.json` of a UMT5 model (model_type "umt5"): vocab_size, d_model, d_kv, num_heads,
  // d_ff, num_layers, relative_attention_num_buckets, relative_attention_max_distance,
  // layer_norm_epsilon, feed_forward_proj (must be a gated GELU). Validated.
  static UMT5Config from_hf_json(const nlohmann::json& j);

  // The official constructor arguments: vocab_size (or vocab), dim, dim_attn, dim_ffn, num_heads,
  // encoder_layers (or num_layers), num_buckets, optional shared_pos (must be false: umT5 has a
  // bias table per layer). Absent keys keep the umt5_xxl() value. Validated.
  static UMT5Config from_official_json(const nlohmann::json& j);

  bool operator==(const UMT5Config& o) const;
  bool operator!=(const UMT5Config& o) const { return !(*this == o); }
};

}  // namespace gallop::models::text_encoder

// DitConfig: the hyper-parameters of the Wan2.1 DiT (`WanModel`, spec §1.1), the official
// real-size presets, validation, and parsers for both config.json dialects:
//   * official (`Wan-AI/Wan2.1-*` repos): dim, eps, ffn_dim, freq_dim, in_dim, model_type,
//     num_heads, num_layers, out_dim, text_len (+ optional patch_size, text_dim, image_dim, which
//     the official files never carry but gallop's tiny checkpoints do);
//   * diffusers `transformer/config.json` (`WanTransformer3DModel`, spec §7.3).
// T2V, I2V and FLF2V are one architecture; `model_type` only adds the image branch.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <array>
#include <cstdint>
#include <string>

namespace gallop::models::dit {

enum class ModelType {
  T2V,    // text to video
  I2V,    // image to video: CLIP tokens (img_emb, cross_attn.k_img/v_img) + 20 conditioning channels
  FLF2V,  // first-last-frame to video: I2V plus a learned position table over 2 x 257 CLIP tokens
};

const char* model_type_name(ModelType t);  // "t2v", "i2v", "flf2v"
// Throws std::invalid_argument for anything else.
ModelType parse_model_type(const std::string& name);

// Number of text tokens the cross-attention expects (umT5 length; hard-coded in the reference's
// I2V context split).
constexpr int64_t kTextTokens = 512;
// CLIP tokens per image (ViT-H/14 at 224: 16 x 16 patches + class token) and the FLF2V total.
constexpr int64_t kClipTokens = 257;
constexpr int64_t kFlfImageTokens = 2 * kClipTokens;

struct DitConfig {
  ModelType model_type = ModelType::T2V;
  std::array<int64_t, 3> patch_size = {1, 2, 2};  // (t, h, w)
  int64_t text_len = kTextTokens;  // context rows after zero padding
  int64_t in_dim = 16;             // patch-embedding input channels (36 for I2V/FLF2V)
  int64_t dim = 1536;              // residual width
  int64_t ffn_dim = 8960;
  int64_t freq_dim = 256;          // timestep sinusoid width
  int64_t text_dim = 4096;         // width of the text encoder output
  int64_t image_dim = 1280;        // width of the CLIP tokens (I2V/FLF2V only)
  int64_t out_dim = 16;
  int64_t num_heads = 12;
  int64_t num_layers = 30;
  int64_t rope_max_len = 1024;     // positions in the RoPE table = largest grid extent per axis
  double eps = 1e-6;               // LayerNorm / RMSNorm epsilon of the blocks and the head

  int64_t head_dim() const { return dim / num_heads; }
  bool has_image_branch() const { return model_type != ModelType::T2V; }
  int64_t patch_volume() const { return patch_size[0] * patch_size[1] * patch_size[2]; }
  // RoPE channel split of one head (spec §2.5): real channels for t, h, w (44/42/42 for hd 128).
  std::array<int64_t, 3> rope_split() const;

  // Throws std::invalid_argument naming the first bad field.
  void validate() const;

  // Official presets (spec §1.1).
  static DitConfig t2v_1_3b();
  static DitConfig t2v_14b();
  static DitConfig i2v_14b();    // I2V-14B-480P and -720P
  static DitConfig flf2v_14b();

  // Official config.json (see the file comment). Absent optional keys keep their defaults;
  // required: dim, ffn_dim, in_dim, model_type, num_heads, num_layers. Validated.
  static DitConfig from_official_json(const nlohmann::json& j);
  // diffusers WanTransformer3DModel config.json. Requires qk_norm "rms_norm_across_heads",
  // cross_attn_norm true and added_kv_proj_dim == dim when image_dim is set. Validated.
  static DitConfig from_diffusers_json(const nlohmann::json& j);
  // Either dialect, told apart by `num_attention_heads` (diffusers) vs `num_heads` (official).
  static DitConfig from_json(const nlohmann::json& j);

  bool operator==(const DitConfig& o) const;
  bool operator!=(const DitConfig& o) const { return !(*this == o); }
};

}  // namespace gallop::models::dit

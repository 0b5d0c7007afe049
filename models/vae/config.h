// VaeConfig: the hyper-parameters of the Wan2.1 3D causal VAE (spec §5.1), the latent statistics
// (§5.5), the real-size preset, validation, and parsers for the diffusers `vae/config.json`
// (AutoencoderKLWan) and for the official constructor arguments (the official `Wan2.1_VAE.pth`
// ships without a config: `_video_vae()` in wan/modules/vae.py fixes the sizes in code; its
// keyword names are accepted as a JSON object).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <vector>

namespace gallop::models::vae {

struct VaeConfig {
  int64_t base_dim = 96;                      // channels of the full-resolution stage
  int64_t z_dim = 16;                         // latent channels (the encoder head makes 2·z_dim: μ, log σ²)
  std::vector<int64_t> dim_mult{1, 2, 4, 4};  // stage widths = base_dim · mult
  int64_t num_res_blocks = 2;                 // residual blocks per encoder stage (decoder: +1)
  std::vector<bool> temporal_downsample{false, true, true};  // per encoder down step; decoder reverses it
  int64_t in_channels = 3;                    // pixel channels in
  int64_t out_channels = 3;                   // pixel channels out
  std::vector<float> latents_mean;            // [z_dim] (§5.5)
  std::vector<float> latents_std;             // [z_dim] (§5.5)

  // Encoder channel widths [base, base·m0, base·m1, ...] (real: [96, 96, 192, 384, 384]).
  std::vector<int64_t> encoder_dims() const;
  // Decoder widths [base·m_last, base·m_last, ..., base·m0] (real: [384, 384, 384, 192, 96]).
  std::vector<int64_t> decoder_dims() const;
  // Decoder temporal upsampling per up step (the encoder's list reversed).
  std::vector<bool> temporal_upsample() const;
  // 2^(number of temporal down steps) = 4 and 2^(number of down steps) = 8 for the real model.
  int64_t temporal_factor() const;
  int64_t spatial_factor() const;
  // Pixel frames produced by decoding `latent_frames` latent frames: 1 + factor·(T − 1).
  int64_t decoded_frames(int64_t latent_frames) const;
  // Latent frames of a `pixel_frames`-frame video (which must be 1 + factor·k): 1 + k.
  int64_t latent_frames(int64_t pixel_frames) const;

  // Throws std::invalid_argument naming the first bad field.
  void validate() const;

  // The VAE of every Wan2.1 model (Wan2.1_VAE.pth): 126,892,531 parameters.
  static VaeConfig wan21();

  // diffusers `AutoencoderKLWan` config.json: base_dim, decoder_base_dim (null or = base_dim),
  // z_dim, dim_mult, num_res_blocks, attn_scales (must be empty), temperal_downsample, dropout,
  // latents_mean, latents_std, and the newer is_residual (must be false: the Wan2.2 VAE is a
  // different network), in_channels, out_channels, patch_size (null or 1),
  // scale_factor_temporal / scale_factor_spatial (checked against the structure). Absent keys keep
  // the wan21() value. Validated.
  static VaeConfig from_diffusers_json(const nlohmann::json& j);

  // The official constructor arguments of WanVAE_: dim, z_dim, dim_mult, num_res_blocks,
  // attn_scales (must be empty), temperal_downsample, dropout. Absent keys keep the wan21() value.
  // Validated.
  static VaeConfig from_official_json(const nlohmann::json& j);

  bool operator==(const VaeConfig& o) const;
  bool operator!=(const VaeConfig& o) const { return !(*this == o); }
};

// The latent statistics of §5.5 (verbatim), 16 entries each.
const std::vector<float>& wan21_latents_mean();
const std::vector<float>& wan21_latents_std();

}  // namespace gallop::models::vae

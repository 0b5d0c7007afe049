// WanVAE: the Wan2.1 3D causal VAE (spec §5) with the official parameter names (encoder.*,
// decoder.*, conv1 = quant conv, conv2 = post-quant conv; Appendix A).
//
// decode: normalized latents z [B, z_dim, T, h, w] -> de-normalized with z / inv_std + mean (§5.6,
//   fp32) -> conv2 over the whole latent -> the decoder one latent frame at a time with the
//   feature cache (§5.4) -> video [B, 3, 1 + 4(T−1), 8h, 8w] fp32 clamped to [-1, 1]. The
//   streaming form hands each chunk of frames to a callback instead of concatenating them.
// encode: video [B, 3, 1 + 4k, H, W] in [-1, 1] -> the encoder on chunks of frames [0], [1..4],
//   [5..8], ... -> conv1 -> μ (first z_dim channels) -> (μ − mean) · inv_std in fp32
//   -> [B, z_dim, 1 + k, H/8, W/8].
//
// Precision (VaeRunOptions::compute_dtype):
//   kFloat     the reference: everything in fp32, as the official code (which runs the VAE in fp32
//              even inside the DiT's bf16 autocast).
//   kBFloat16  convolutions, attention and activations in bf16 (weights cast to bf16; call
//              cast_weights(kBFloat16) once to hold only the bf16 copy); RMS normalization and the
//              nearest upsampling computed in fp32 and rounded back; latent (de-)normalization
//              and the output in fp32. This is what diffusers does with a bf16 AutoencoderKLWan.
//   Every other operation of the official VAE is fp32, so no weight has to stay fp32.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <functional>
#include <memory>

#include "kernels/attention/attention.h"
#include "models/vae/config.h"
#include "models/vae/encoder_decoder.h"
#include "models/vae/layers.h"

namespace gallop::models::vae {

struct VaeRunOptions {
  at::ScalarType compute_dtype = at::kFloat;  // kFloat (reference) or kBFloat16 (see above)
  kernels::AttentionOptions attention;        // backend of the middle attention (fp32-capable)
};

// Receives the decoded frames chunk by chunk, in order: [B, out_channels, f, H, W] fp32 in
// [-1, 1], f = 1 for the first latent frame and temporal_factor (4) for each further one. The
// tensor is on the model's device and is not touched again by the VAE.
using FrameSink = std::function<void(const at::Tensor& frames)>;

class WanVAE : public torch::nn::Module {
 public:
  // Allocates uninitialized parameters with `options` (dtype/device; at::kMeta for shapes only).
  // Throws std::invalid_argument when the config does not validate.
  explicit WanVAE(const VaeConfig& config = VaeConfig::wan21(), const at::TensorOptions& options = {});

  const VaeConfig& config() const { return config_; }

  // z [B, z_dim, T, h, w] normalized latents (any floating dtype) -> [B, out, 1 + 4(T−1), 8h, 8w]
  at::Tensor decode(const at::Tensor& z, const VaeRunOptions& options = {});
  // Same frames, delivered through `sink` as they are decoded (nothing is concatenated).
  void decode_streaming(const at::Tensor& z, const FrameSink& sink, const VaeRunOptions& options = {});

  // video [B, in, 1 + 4k, H, W] in [-1, 1], H and W multiples of 8 -> [B, z_dim, 1 + k, H/8, W/8]
  // normalized mean latents (fp32).
  at::Tensor encode(const at::Tensor& video, const VaeRunOptions& options = {});

  // (μ − mean) · inv_std and its inverse z / inv_std + mean, in fp32 (§5.6); x [B, z_dim, T, h, w].
  at::Tensor normalize_latents(const at::Tensor& mu) const;
  at::Tensor denormalize_latents(const at::Tensor& z) const;

  // Casts every parameter to `dtype` in place (one copy held afterwards).
  void cast_weights(at::ScalarType dtype);

 private:
  void check_run_options(const VaeRunOptions& options) const;
  // [1, z_dim, 1, 1, 1] fp32 statistics on `device`.
  at::Tensor latents_mean(const at::Device& device) const;
  at::Tensor latents_inv_std(const at::Device& device) const;

  VaeConfig config_;
  std::shared_ptr<Encoder3d> encoder_;
  std::shared_ptr<Decoder3d> decoder_;
  std::shared_ptr<CausalConv3d> conv1_;  // quant conv: [2z, 2z, 1, 1, 1]
  std::shared_ptr<CausalConv3d> conv2_;  // post-quant conv: [z, z, 1, 1, 1]
};

}  // namespace gallop::models::vae

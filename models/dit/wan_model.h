// WanModel: the Wan2.1 diffusion transformer (spec §2), one class for T2V, I2V and FLF2V (the
// config decides). named_parameters() are exactly the official checkpoint keys (spec §7.2).
//
//   velocity = WanModel(x, t, context [, clip_fea, y])
//     x        [B, 16, T, h, w]  fp32 noisy latent (h, w divisible by the patch)
//     t        [B]               integer timestep (e.g. 999)
//     context  [B, 512, text_dim] text embeddings zero-padded to text_len (pad_text_context)
//     clip_fea [B, 257|514, image_dim]  CLIP tokens (I2V / FLF2V only)
//     y        [B, 20, T, h, w]  conditioning channels (mask + image latent; I2V / FLF2V only)
//   -> fp32 [B, 16, T, h, w]
//
// Construction allocates uninitialized parameters with the caller's dtype/device (at::kMeta
// works, for shape-only use); the caller loads the weights. For a bf16 run, cast_weights()
// converts every weight that runs in bf16 once (and keeps the fp32 ones), so the run holds a
// single copy; forward() gives the same numbers with fp32 or pre-cast weights.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <string>
#include <vector>

#include "models/dit/blocks.h"
#include "models/dit/config.h"
#include "models/dit/layers.h"
#include "models/dit/rope.h"

namespace gallop::models::dit {

class WanModelImpl : public torch::nn::Module {
 public:
  // Throws std::invalid_argument for an invalid config.
  WanModelImpl(const DitConfig& config, const at::TensorOptions& options);

  // See the file comment. Throws c10::Error naming the offending input for wrong shapes.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context,
                     const at::Tensor& clip_fea = {}, const at::Tensor& y = {}, const ForwardOptions& options = {});

  // Converts the weights in place to the dtypes a run with `compute_dtype` uses:
  // weight_dtype(key, compute_dtype) for every parameter.
  void cast_weights(at::ScalarType compute_dtype);

  const DitConfig& config() const { return config_; }
  int64_t num_parameters() const;

 private:
  void check_inputs(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context, const at::Tensor& clip_fea,
                    const at::Tensor& y, const ForwardOptions& options) const;

  DitConfig config_;
  PatchEmbedding patch_embedding_{nullptr};
  Linear text_fc1_{nullptr}, text_fc2_{nullptr};  // `text_embedding.0`, `.2`
  Linear time_fc1_{nullptr}, time_fc2_{nullptr};  // `time_embedding.0`, `.2`
  Linear time_projection_{nullptr};               // `time_projection.1`
  std::vector<WanBlock> blocks_;
  Head head_{nullptr};
  ImageEmbedding img_emb_{nullptr};  // I2V / FLF2V only
  std::unique_ptr<RopeCache> rope_cache_;
};
TORCH_MODULE(WanModel);

// True for the parameters that the official bf16 run keeps in fp32 (spec §11.1): every
// `modulation`, `head.*`, `time_embedding.*`, `time_projection.*`, `norm3`, `norm_q`, `norm_k`,
// `norm_k_img`, and img_emb's LayerNorms and `emb_pos`. `key` is an official key.
bool runs_in_fp32(const std::string& key);
// The dtype parameter `key` should be stored in for a run with `compute_dtype`: fp32 when
// compute_dtype is fp32 or runs_in_fp32(key), else compute_dtype. For loaders that cast on load.
at::ScalarType weight_dtype(const std::string& key, at::ScalarType compute_dtype);

// Zero-pads trimmed text embeddings (each [L_i, text_dim], L_i <= text_len) into one
// [B, text_len, text_dim] tensor with the first one's dtype and device. Throws c10::Error.
at::Tensor pad_text_context(const std::vector<at::Tensor>& embeddings, int64_t text_len = kTextTokens);

}  // namespace gallop::models::dit

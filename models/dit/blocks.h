// The sub-modules of the Wan DiT (spec §2.4–2.7), named as in the official checkpoint:
// SelfAttention (`blocks.{i}.self_attn`), CrossAttention (`blocks.{i}.cross_attn`, with the
// I2V image keys/values), WanBlock (`blocks.{i}`), Head (`head`) and ImageEmbedding
// (`img_emb`, the MLPProj of the CLIP tokens).
//
// Dtypes follow ForwardOptions::compute_dtype: kFloat runs everything in fp32; kBFloat16 runs the
// official mixed-precision map (spec §2.8): Linears/GELU in bf16, LayerNorms, modulation and the
// residual stream in fp32, q/k RMSNorm "normalize fp32 -> round bf16 -> × fp32 weight", RoPE in
// complex128, attention on bf16 q/k/v with fp32 accumulation.
#pragma once

#include <ATen/ATen.h>

#include <array>
#include <functional>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

#include "kernels/attention/attention.h"
#include "models/dit/config.h"
#include "models/dit/layers.h"

namespace gallop::models::dit {

struct ForwardOptions {
  // kFloat (all fp32, for parity with fp32 references) or kBFloat16 (the official dtype map).
  at::ScalarType compute_dtype = at::kFloat;
  kernels::AttentionOptions attention;
  // Called after each step of the forward pass with the step's name ("embed", then per block
  // "norm1+modulate", "self q/k/v linear", ... "ffn gated residual", then "head"), in order; for
  // timing breakdowns (gallop bench --breakdown). Empty: no calls.
  std::function<void(const char* step)> on_step;
};

// options.on_step(step) when set.
inline void end_of_step(const ForwardOptions& options, const char* step) {
  if (options.on_step) options.on_step(step);
}

// What self-attention needs for RoPE: the per-token multipliers of the ATen path and, for the
// fused CUDA path (kernels/qk_norm_rope), the frequency table and the grid.
struct RopeInputs {
  at::Tensor multipliers;  // [L, 1, hd/2] complex128 on the run's device
  at::Tensor freqs;        // [max_len, hd/2] complex128 on the run's device (CUDA runs only)
  at::Tensor freqs_f32;    // the same rounded to fp32, [max_len, hd/2, 2] (CUDA runs only)
  std::array<int64_t, 3> grid{};
};

class SelfAttentionImpl : public torch::nn::Module {
 public:
  SelfAttentionImpl(const DitConfig& config, const at::TensorOptions& options);
  // x [B, L, dim] fp32 (modulated), k_lens [B] or undefined -> [B, L, dim] in the compute dtype.
  // On CUDA, q/k RMSNorm + RoPE run as one fused kernel (same op order as the ATen path).
  at::Tensor forward(const at::Tensor& x, const RopeInputs& rope, const at::Tensor& k_lens,
                     const ForwardOptions& options);

  int64_t num_heads;
  Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
  RmsNorm norm_q{nullptr}, norm_k{nullptr};
};
TORCH_MODULE(SelfAttention);

class CrossAttentionImpl : public torch::nn::Module {
 public:
  CrossAttentionImpl(const DitConfig& config, const at::TensorOptions& options);
  // x [B, L, dim] fp32 (after norm3), context [B, Lc, dim] = [image tokens | text_len text
  // tokens] (image tokens only with the image branch) -> [B, L, dim] in the compute dtype.
  // Unmasked: every context row, zero-padded text included, is attended to.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context, const ForwardOptions& options);

  int64_t num_heads;
  int64_t text_len;
  bool image_branch;
  Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
  RmsNorm norm_q{nullptr}, norm_k{nullptr};
  Linear k_img{nullptr}, v_img{nullptr};  // image branch only
  RmsNorm norm_k_img{nullptr};            // image branch only
};
TORCH_MODULE(CrossAttention);

class WanBlockImpl : public torch::nn::Module {
 public:
  WanBlockImpl(const DitConfig& config, const at::TensorOptions& options);
  // x [B, L, dim] (compute dtype entering block 0, fp32 after), e0 [B, 6, dim] fp32,
  // rope (see RopeInputs), k_lens [B], context [B, Lc, dim] -> fp32 [B, L, dim]. On CUDA the
  // LayerNorm + modulation and gated residual steps run as fused kernels (kernels/modulation),
  // which keep the official op order.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& e0, const RopeInputs& rope, const at::Tensor& k_lens,
                     const at::Tensor& context, const ForwardOptions& options);

  double eps;
  at::Tensor modulation;  // [1, 6, dim]
  SelfAttention self_attn{nullptr};
  AffineLayerNorm norm3{nullptr};
  CrossAttention cross_attn{nullptr};
  Linear ffn_in{nullptr}, ffn_out{nullptr};  // `ffn.0`, `ffn.2`
};
TORCH_MODULE(WanBlock);

class HeadImpl : public torch::nn::Module {
 public:
  HeadImpl(const DitConfig& config, const at::TensorOptions& options);
  // x [B, L, dim], e [B, dim] fp32 (the time embedding before SiLU) -> fp32 [B, L, prod(patch)·out_dim].
  // Always fp32, like the reference's autocast(float32) region.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& e);

  double eps;
  at::Tensor modulation;  // [1, 2, dim]
  Linear head{nullptr};
};
TORCH_MODULE(Head);

class ImageEmbeddingImpl : public torch::nn::Module {
 public:
  ImageEmbeddingImpl(const DitConfig& config, const at::TensorOptions& options);
  // clip [B, N, image_dim] (FLF2V: N = 514, the two images' tokens in order) -> fp32 [B, N, dim].
  at::Tensor forward(const at::Tensor& clip, const ForwardOptions& options);

  AffineLayerNorm norm_in{nullptr};  // `proj.0`
  Linear fc1{nullptr};               // `proj.1`
  Linear fc2{nullptr};               // `proj.3`
  AffineLayerNorm norm_out{nullptr};  // `proj.4`
  at::Tensor emb_pos;                // [1, 514, image_dim], FLF2V only
};
TORCH_MODULE(ImageEmbedding);

}  // namespace gallop::models::dit

// UMT5Encoder: the umT5-XXL text encoder of Wan2.1 (spec §3.1), a LibTorch module whose parameter
// names are the official checkpoint keys:
//   token_embedding.weight                      [vocab, d_model]
//   blocks.{i}.norm1.weight                     [d_model]
//   blocks.{i}.attn.{q,k,v}.weight              [H·d_kv, d_model]
//   blocks.{i}.attn.o.weight                    [d_model, H·d_kv]
//   blocks.{i}.pos_embedding.embedding.weight   [num_buckets, H]
//   blocks.{i}.norm2.weight                     [d_model]
//   blocks.{i}.ffn.gate.0.weight, ffn.fc1.weight  [d_ff, d_model]
//   blocks.{i}.ffn.fc2.weight                   [d_model, d_ff]
//   norm.weight                                 [d_model]
//
// Forward: embedding -> num_layers × { x += Attn(RMS1(x)); x += FFN(RMS2(x)) } -> RMS.
//   * RMS (T5): x · rsqrt(mean(x_f32²) + eps) in fp32, rounded to the compute dtype, × weight.
//   * Attention: unscaled q·kᵀ + (per-layer relative position bias with padded keys filled by the
//     compute dtype's lowest value), softmax in fp32 rounded back, · v, then o. Queries at pad
//     positions are computed like any other (the caller discards them, spec §3.4).
//   * FFN: fc2(fc1(x) ⊙ gelu_tanh(gate(x))), the tanh GELU written op by op in the reference's order.
// Precision (the compute dtype argument):
//   kFloat     everything fp32 (parity with the Python references);
//   kBFloat16  the official run: every weight and activation bf16 with no autocast, fp32 only
//              inside the RMS statistics and the softmax.
// Weights of another dtype are cast per use; cast_weights_for_compute() casts them once instead.
// Attention here is implemented with ATen matmul/softmax: the position bias and the lack of a
// 1/√d scale do not fit kernels::attention. At real size the score tensor is B × 64 × L × L
// (L = 512: 32 MiB per prompt in bf16, 64 MiB for the fp32 softmax).
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "models/text_encoder/config.h"

namespace gallop::models::text_encoder {

class UMT5EncoderImpl : public torch::nn::Module {
 public:
  // Allocates every parameter uninitialized (at::empty) with `options`. kMeta works for
  // shape-only construction (forward needs real tensors: LibTorch has no meta kernel for the
  // embedding's index_select). Throws std::invalid_argument for a bad config.
  explicit UMT5EncoderImpl(const UMT5Config& config, const at::TensorOptions& options = {});

  // ids [B, L] int64/int32 token ids in [0, vocab); mask [B, L] bool or integer, non-zero = real
  // token (applied to keys). Inputs on another device are moved to the weights' device.
  // compute_dtype: at::kFloat or at::kBFloat16. Returns [B, L, d_model] in compute_dtype.
  at::Tensor forward(const at::Tensor& ids, const at::Tensor& mask, at::ScalarType compute_dtype) const;

  // Casts every weight to the dtype it runs in for `compute_dtype` (for umT5: all of them; the
  // official model keeps nothing in fp32), so that a bf16 run holds a single bf16 copy.
  void cast_weights_for_compute(at::ScalarType compute_dtype);

  const UMT5Config& config() const { return config_; }

 private:
  struct Block {
    at::Tensor norm1;  // [d_model]
    at::Tensor q, k, v;  // [H·d_kv, d_model]
    at::Tensor o;      // [d_model, H·d_kv]
    at::Tensor pos;    // [num_buckets, H]
    at::Tensor norm2;  // [d_model]
    at::Tensor gate, fc1;  // [d_ff, d_model]
    at::Tensor fc2;    // [d_model, d_ff]
  };

  at::Tensor attention(const Block& b, const at::Tensor& x, const at::Tensor& buckets,
                       const at::Tensor& pad_keys, at::ScalarType dt) const;
  at::Tensor feed_forward(const Block& b, const at::Tensor& x, at::ScalarType dt) const;

  UMT5Config config_;
  at::Tensor token_embedding_;  // [vocab, d_model]
  std::vector<Block> blocks_;
  at::Tensor norm_;  // [d_model]
};

TORCH_MODULE(UMT5Encoder);

}  // namespace gallop::models::text_encoder

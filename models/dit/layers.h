// Building blocks of the Wan DiT: parameter holders registered under the checkpoint's names
// (allocated uninitialized, any dtype/device, `at::kMeta` included) and the few numerical
// primitives whose dtype handling the official mixed-precision map pins down (spec §2.8, §11.1):
//   * a Linear/Conv "runs in" one dtype: input, weight and bias are cast to it (autocast
//     semantics: round-to-nearest), the GEMM accumulates in fp32 and returns that dtype;
//   * LayerNorm computes in fp32 and returns the input's dtype (WanLayerNorm);
//   * RMSNorm normalizes in fp32, rounds to the input's dtype, then multiplies by the fp32 weight
//     (WanRMSNorm: fp32 result).
// In an all-fp32 run every cast is a no-op and these are the plain fp32 formulas.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace gallop::models::dit {

// y = x·Wᵀ + b. Parameters "weight" [out, in], "bias" [out].
class LinearImpl : public torch::nn::Module {
 public:
  LinearImpl(int64_t in_features, int64_t out_features, const at::TensorOptions& options);
  // x [..., in] -> [..., out] in dtype `run`.
  at::Tensor forward(const at::Tensor& x, at::ScalarType run);

  at::Tensor weight;  // [out, in]
  at::Tensor bias;    // [out]
};
TORCH_MODULE(Linear);

// The patch embedding: Conv3d with kernel = stride = patch. "weight" [dim, in, pt, ph, pw],
// "bias" [dim].
class PatchEmbeddingImpl : public torch::nn::Module {
 public:
  PatchEmbeddingImpl(int64_t in_channels, int64_t dim, std::array<int64_t, 3> patch, const at::TensorOptions& options);
  // x [B, in, T, h, w] -> [B, dim, T/pt, h/ph, w/pw] in dtype `run`.
  at::Tensor forward(const at::Tensor& x, at::ScalarType run);

  at::Tensor weight;  // [dim, in, pt, ph, pw]
  at::Tensor bias;    // [dim]
  std::array<int64_t, 3> patch;
};
TORCH_MODULE(PatchEmbedding);

// LayerNorm with affine parameters "weight" [dim], "bias" [dim].
class AffineLayerNormImpl : public torch::nn::Module {
 public:
  AffineLayerNormImpl(int64_t dim, double eps, const at::TensorOptions& options);
  // x [..., dim] -> fp32 [..., dim] (statistics and affine in fp32; fp32 weights).
  at::Tensor forward(const at::Tensor& x);

  at::Tensor weight;  // [dim]
  at::Tensor bias;    // [dim]
  double eps;
};
TORCH_MODULE(AffineLayerNorm);

// RMSNorm over the last dim with a "weight" [dim].
class RmsNormImpl : public torch::nn::Module {
 public:
  RmsNormImpl(int64_t dim, double eps, const at::TensorOptions& options);
  // x [..., dim] (any float dtype) -> fp32 [..., dim]: round(normalize_fp32(x), x.dtype) · weight.
  at::Tensor forward(const at::Tensor& x);

  at::Tensor weight;  // [dim]
  double eps;
};
TORCH_MODULE(RmsNorm);

// Parameter-free LayerNorm computed in fp32, result in x's dtype (WanLayerNorm without affine).
// x [..., dim] -> [..., dim]
at::Tensor layer_norm_no_affine(const at::Tensor& x, double eps);

// An empty module that only groups children under numeric names ("0", "2", ...), standing in
// for the reference's nn.Sequential so that the keys read `text_embedding.0.weight`.
class SlotsImpl : public torch::nn::Module {
 public:
  template <typename Holder>
  Holder add(const std::string& index, Holder module) {
    return register_module(index, std::move(module));
  }
};
TORCH_MODULE(Slots);

// The uninitialized parameter every constructor here allocates.
at::Tensor empty_parameter(at::IntArrayRef shape, const at::TensorOptions& options);

}  // namespace gallop::models::dit

// q/k RMSNorm over the full width followed by Wan's 3-D RoPE (spec §2.5, §2.6), producing q and k
// in the attention layout [B, L, H, D]. The ATen reference follows the official code op for op
// (normalize in fp32, round to the input dtype, multiply by the fp32 weight, rotate in complex128,
// round to fp32, cast to the output dtype); the dispatcher uses the fused CUDA kernel when it
// applies and the reference otherwise.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "kernels/common/fused_backend.h"

namespace gallop::kernels {

// Latent-patch grid of one sample: token (f, i, j) sits at index f*height*width + i*width + j.
struct RopeGrid {
  int64_t frames = 0;
  int64_t height = 0;
  int64_t width = 0;
};

struct QkNormRopeOptions {
  double eps = 1e-6;
  at::ScalarType out_dtype = at::kBFloat16;  // what the attention kernel reads (spec §2.6)
  FusedBackend backend = FusedBackend::Auto;
  // Which CUDA kernel (bit-identical results): true = one CTA per token for q and k together, false =
  // one CTA per (token, q or k). Paired measured 55.7% / 61.9% of peak bandwidth against 41.0% /
  // 43.8% (H200, 2026-11-26, bf16, 32760 x 1536 / 75600 x 5120; kernels/NOTES.md).
  bool paired_kernel = true;
  // How the CUDA kernel spreads token rows over CTAs (fused_backend.h). Paired + narrow is the
  // fastest at both Wan sizes (32760 x 1536 / 75600 x 5120) on both Hopper cards (2026-11-27,
  // kernels/NOTES.md): 80.2% / 85.0% of peak bandwidth on an H100 (paired per-row 74.8% / 70.8%,
  // paired warp 73.4% / 85.3%) and 65.9% / 72.5% on an H200 (per-row 58.4% / 56.7%). Its GPU test
  // (a tolerance, not bits: it sums in another order) passed on both cards.
  RowSchedule row_schedule = RowSchedule::kNarrow;
  // rope_freqs_table_f32 of `freqs`, which the CUDA kernel reads for a bf16 or fp16 output (it
  // rotates in fp32 wherever that provably gives the float64 bits: rope_rotate.h). When undefined
  // it is made for each such call (a copy kernel), so callers that loop keep one.
  at::Tensor freqs_f32;
};

// The official frequency table: complex128 [max_pos, head_dim / 2], the concatenation of the frame,
// height and width tables (real widths head_dim - 4*(head_dim/6), 2*(head_dim/6), 2*(head_dim/6)),
// angle pos * theta^(-2k/width), built in float64 on `device`.
at::Tensor rope_freqs_table(int64_t head_dim, int64_t max_pos = 1024, double theta = 10000.0,
                            at::Device device = at::kCPU);

// The frequency table with every value rounded to fp32 (nearest even): float32 [max_pos, head_dim/2,
// 2], (cos, sin) pairs, on freqs' device.
at::Tensor rope_freqs_table_f32(const at::Tensor& freqs);

// q, k [B, L, dim] (bf16, fp16 or fp32; dim = heads * head_dim); weight_q, weight_k [dim] fp32;
// freqs from rope_freqs_table (complex128 [max_pos, head_dim/2], or its float64 view [.., 2]; keep
// it on q's device to avoid a copy per call); grids: one per sample, or one for all. Tokens past
// frames*height*width of their sample are normalized but not rotated. Returns (q, k) as
// [B, L, heads, head_dim] in options.out_dtype.
std::pair<at::Tensor, at::Tensor> qk_norm_rope(const at::Tensor& q, const at::Tensor& k, const at::Tensor& weight_q,
                                               const at::Tensor& weight_k, const at::Tensor& freqs,
                                               const std::vector<RopeGrid>& grids, int64_t heads,
                                               const QkNormRopeOptions& options = {});
std::pair<at::Tensor, at::Tensor> qk_norm_rope_reference(const at::Tensor& q, const at::Tensor& k,
                                                         const at::Tensor& weight_q, const at::Tensor& weight_k,
                                                         const at::Tensor& freqs, const std::vector<RopeGrid>& grids,
                                                         int64_t heads, const QkNormRopeOptions& options = {});

// WanRMSNorm alone (the cross-attention's q and k, spec §2.6): in the official op order, fp32
// normalize, round to x's dtype, × the fp32 weight, then cast to out_dtype (the cast before the
// attention kernel). x [B, L, dim] (bf16, fp16 or fp32), weight [dim] fp32; returns [B, L, dim].
// The CUDA path is qk_norm_rope's per-tensor kernel with no token rotated (one read of x and one
// write, where the ATen ops move about 15 times x's bytes); narrow rows by default, as the
// LayerNorm kernel (both are one block reduction per row).
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps, at::ScalarType out_dtype,
                    FusedBackend backend = FusedBackend::Auto, RowSchedule schedule = RowSchedule::kNarrow);
at::Tensor rms_norm_reference(const at::Tensor& x, const at::Tensor& weight, double eps, at::ScalarType out_dtype);

}  // namespace gallop::kernels

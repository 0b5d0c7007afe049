// Plain parameters of the fused q/k RMSNorm + 3-D RoPE kernel (qk_norm_rope.cu); no torch types.
#pragma once

#include <cstdint>

#include "kernels/common/element_type.h"
#include "kernels/common/fast_div.h"
#include "kernels/common/fused_backend.h"

namespace gallop::kernels::rope {

constexpr int kMaxBatch = 16;  // per-sample grids travel by value in the parameters

// Which CUDA kernel runs (both give bit-identical results; see qk_norm_rope.cu).
enum class QkNormRopeKernel : int32_t {
  kPerTensor = 0,  // one CTA per (token, q or k)
  kPaired = 1,     // one CTA per token doing q and k together (positions and angles read once)
};

struct QkNormRopeParams {
  // Index 0 = q, 1 = k. Rows are tokens ([B * L, dim], row stride per tensor).
  const void* x[2] = {nullptr, nullptr};
  void* out[2] = {nullptr, nullptr};
  const float* weight[2] = {nullptr, nullptr};  // [dim] fp32 RMSNorm weights
  int64_t x_row_stride[2] = {0, 0};
  int64_t out_row_stride[2] = {0, 0};
  // (cos, sin) of the official complex128 table [max_pos, head_dim / 2], as float64 pairs.
  const double* freqs = nullptr;
  // The same table with each value rounded to fp32 ([max_pos, head_dim / 2, 2]); required for a
  // 16-bit output, whose pairs are rotated by the fp32 bracket of rope_rotate.h (float64 only for
  // the pairs it leaves undecided; the same bits). Unused for an fp32 output (float64 throughout).
  const float* freqs_f32 = nullptr;
  int32_t max_pos = 0;
  int64_t rows = 0;
  int64_t len = 0;  // tokens per batch sample
  int32_t dim = 0;
  float inv_dim = 0.f;  // 1.f / dim (fp32, correctly rounded)
  int32_t head_dim = 0;
  int32_t pairs_t = 0;  // complex pairs of each head on the frame axis: [0, pairs_t)
  int32_t pairs_h = 0;  // on the height axis: [pairs_t, pairs_t + pairs_h); the rest on width
  int32_t grid[kMaxBatch][3] = {};  // (frames, height, width) per batch sample
  // Divisors of a token's position (rope_index.h; set_rope_divisors fills them from len, head_dim
  // and grid): len, head_dim, and per sample height * width and width.
  FastDivU32 len_div, head_dim_div;
  FastDivU32 plane_div[kMaxBatch], width_div[kMaxBatch];
  float eps = 1e-6f;
  ElementKind in_type = ElementKind::kBFloat16;
  ElementKind out_type = ElementKind::kBFloat16;
  QkNormRopeKernel kernel = QkNormRopeKernel::kPerTensor;
  // 2: q and k; 1: only index 0, with the per-tensor kernel (rms_norm: freqs null, every grid
  // empty, so that no token is rotated).
  int32_t tensors = 2;
  RowSchedule schedule = RowSchedule::kPerRow;
};

}  // namespace gallop::kernels::rope

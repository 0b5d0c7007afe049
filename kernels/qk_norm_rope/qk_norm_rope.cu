// Fused q/k RMSNorm over the full width + 3-D RoPE (spec §2.5, §2.6, §2.8, §11.4), writing q and
// k in the attention layout [B, L, H, D] (= [B, L, dim] in memory).
//
// Per token row, in the official op order:
//   r  = rsqrt(mean(x²) + eps)                 fp32 (mean = sum · (1/dim), as ATen's mean)
//   y  = round_to_input_dtype(x · r) · weight  fp32 (`.type_as(x) * weight`, weight fp32)
//   rotated pairs (a, b) = (y[2p], y[2p+1]) of each head, in float64:
//        (a·cos − b·sin, a·sin + b·cos)          each product and sum rounded separately
//   -> fp32 (the official `.float()`) -> output dtype (the cast before the attention kernel).
// Tokens at or past frames·height·width of their sample (padding) pass through unrotated. Pair p of
// a head takes its angle from the frame index for p < pairs_t, the row index for the next pairs_h
// pairs and the column index for the rest (the table's [t | h | w] split).
//
// One CTA per (row, q-or-k); the row stays in registers (kVecs 16-byte groups per thread); the
// reduction order of mean(x²) differs from ATen's, so results can differ from the ATen path by
// a rounding of r. Build: ARCHS 80 90a.
#include <cuda_runtime.h>

#include "kernels/common/vec.cuh"
#include "kernels/qk_norm_rope/qk_norm_rope_cuda.h"

namespace gallop::kernels::rope {

namespace {

constexpr int kMaxThreads = 512;

template <typename Tin, typename Tout, int kVecs>
__global__ void __launch_bounds__(kMaxThreads, 1) qk_norm_rope_kernel(const __grid_constant__ QkNormRopeParams p) {
  constexpr int G = vec::kGroup<Tin>;  // elements per 16-byte group (an even number: whole pairs)
  __shared__ float scratch[32];
  const int which = blockIdx.y;  // 0 = q, 1 = k
  const int64_t row = blockIdx.x;
  const Tin* x = static_cast<const Tin*>(p.x[which]) + row * p.x_row_stride[which];
  Tout* out = static_cast<Tout*>(p.out[which]) + row * p.out_row_stride[which];
  const float* weight = p.weight[which];
  const int groups = p.dim / G;

  float v[kVecs][G];
  float sum = 0.f;
#pragma unroll
  for (int i = 0; i < kVecs; ++i) {
    const int g = threadIdx.x + i * blockDim.x;
    if (g < groups) {
      vec::load_group<Tin>(x + g * G, v[i]);
#pragma unroll
      for (int e = 0; e < G; ++e) sum = fmaf(v[i][e], v[i][e], sum);
    }
  }
  const float mean_sq = __fmul_rn(vec::block_sum(sum, scratch), 1.f / static_cast<float>(p.dim));
  const float r = rsqrtf(__fadd_rn(mean_sq, p.eps));

  // Position of this token in its sample's (frames, height, width) grid.
  const int64_t b = row / p.len;
  const int64_t l = row % p.len;
  const int frames = p.grid[b][0], height = p.grid[b][1], width = p.grid[b][2];
  const bool rotate = l < static_cast<int64_t>(frames) * height * width;
  int pos[3] = {0, 0, 0};
  if (rotate) {
    pos[0] = static_cast<int>(l / (static_cast<int64_t>(height) * width));
    pos[1] = static_cast<int>((l / width) % height);
    pos[2] = static_cast<int>(l % width);
  }
  const int half = p.head_dim / 2;

#pragma unroll
  for (int i = 0; i < kVecs; ++i) {
    const int g = threadIdx.x + i * blockDim.x;
    if (g < groups) {
      float w[G], y[G];
      vec::load_floats<G>(weight + g * G, w);
#pragma unroll
      for (int e = 0; e < G; ++e) y[e] = __fmul_rn(vec::round_through<Tin>(__fmul_rn(v[i][e], r)), w[e]);
      if (rotate) {
#pragma unroll
        for (int e = 0; e < G; e += 2) {
          const int pair = ((g * G + e) % p.head_dim) / 2;
          const int axis = pair < p.pairs_t ? 0 : (pair < p.pairs_t + p.pairs_h ? 1 : 2);
          const double2 cs = __ldg(reinterpret_cast<const double2*>(p.freqs) + pos[axis] * half + pair);
          const double a = y[e], bb = y[e + 1];
          y[e] = __double2float_rn(__dsub_rn(__dmul_rn(a, cs.x), __dmul_rn(bb, cs.y)));
          y[e + 1] = __double2float_rn(__dadd_rn(__dmul_rn(a, cs.y), __dmul_rn(bb, cs.x)));
        }
      }
      vec::store_group<Tout, G>(out + g * G, y);
    }
  }
}

template <typename Tin, typename Tout>
cudaError_t launch_typed(const QkNormRopeParams& p, cudaStream_t stream) {
  constexpr int G = vec::kGroup<Tin>;
  const int groups = p.dim / G;
  auto launch = [&](auto kernel, int vecs) {
    const int per_thread = (groups + vecs - 1) / vecs;
    const int threads = ((per_thread + 31) / 32) * 32;
    kernel<<<dim3(static_cast<unsigned>(p.rows), 2), threads, 0, stream>>>(p);
    return cudaGetLastError();
  };
  if (groups <= kMaxThreads) return launch(qk_norm_rope_kernel<Tin, Tout, 1>, 1);
  if (groups <= 2 * kMaxThreads) return launch(qk_norm_rope_kernel<Tin, Tout, 2>, 2);
  if (groups <= 4 * kMaxThreads) return launch(qk_norm_rope_kernel<Tin, Tout, 4>, 4);
  if (groups <= 8 * kMaxThreads) return launch(qk_norm_rope_kernel<Tin, Tout, 8>, 8);
  return cudaErrorInvalidValue;
}

template <typename Tin>
cudaError_t launch_out(const QkNormRopeParams& p, cudaStream_t stream) {
  switch (p.out_type) {
    case ElementKind::kFloat32: return launch_typed<Tin, float>(p, stream);
    case ElementKind::kBFloat16: return launch_typed<Tin, __nv_bfloat16>(p, stream);
    case ElementKind::kFloat16: return launch_typed<Tin, __half>(p, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace

cudaError_t launch_qk_norm_rope(const QkNormRopeParams& p, cudaStream_t stream) {
  if (p.rows == 0) return cudaSuccess;
  switch (p.in_type) {
    case ElementKind::kFloat32: return launch_out<float>(p, stream);
    case ElementKind::kBFloat16: return launch_out<__nv_bfloat16>(p, stream);
    case ElementKind::kFloat16: return launch_out<__half>(p, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace gallop::kernels::rope

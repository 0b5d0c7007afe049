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
// Two kernels with bit-identical results (QkNormRopeKernel): one CTA per (row, q-or-k), or one CTA
// per row doing q and k together (positions, angles and the block reduction shared). The row stays
// in registers (kVecs 16-byte groups per thread); the reduction order of mean(x²) differs from
// ATen's, so results can differ from the ATen path by a rounding of r. Build: ARCHS 80 90a.
#include <cuda_runtime.h>

#include "kernels/common/vec.cuh"
#include "kernels/qk_norm_rope/qk_norm_rope_cuda.h"

namespace gallop::kernels::rope {

namespace {

constexpr int kMaxThreads = 512;

// Position of token `row` in its sample's (frames, height, width) grid; false for padding tokens.
__device__ __forceinline__ bool token_position(const QkNormRopeParams& p, int64_t row, int (&pos)[3]) {
  const int64_t b = row / p.len;
  const int64_t l = row % p.len;
  const int frames = p.grid[b][0], height = p.grid[b][1], width = p.grid[b][2];
  pos[0] = pos[1] = pos[2] = 0;
  if (l >= static_cast<int64_t>(frames) * height * width) return false;
  pos[0] = static_cast<int>(l / (static_cast<int64_t>(height) * width));
  pos[1] = static_cast<int>((l / width) % height);
  pos[2] = static_cast<int>(l % width);
  return true;
}

// (cos, sin) of the pair that starts at element `col` of a token row at grid position pos
// (half = head_dim / 2, the table's row length).
__device__ __forceinline__ double2 pair_angle(const QkNormRopeParams& p, int half, int col, const int (&pos)[3]) {
  const int pair = (col % p.head_dim) / 2;
  const int axis = pair < p.pairs_t ? 0 : (pair < p.pairs_t + p.pairs_h ? 1 : 2);
  return __ldg(reinterpret_cast<const double2*>(p.freqs) + pos[axis] * half + pair);
}

// (a, b) -> (a·cos − b·sin, a·sin + b·cos) in float64, each product and sum rounded separately
// (the official complex128 multiply), then to fp32.
__device__ __forceinline__ void rotate_pair(double2 cs, float& a, float& b) {
  const double x = a, y = b;
  a = __double2float_rn(__dsub_rn(__dmul_rn(x, cs.x), __dmul_rn(y, cs.y)));
  b = __double2float_rn(__dadd_rn(__dmul_rn(x, cs.y), __dmul_rn(y, cs.x)));
}

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

  int pos[3];
  const bool rotate = token_position(p, row, pos);
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
        for (int e = 0; e < G; e += 2) rotate_pair(pair_angle(p, half, g * G + e, pos), y[e], y[e + 1]);
      }
      vec::store_group<Tout, G>(out + g * G, y);
    }
  }
}

// The paired variant: one CTA per token row normalizes and rotates q and k together. Both rows'
// loads are in flight at once, the two sums of squares share one block reduction (block_sum2, the
// same reduction order as block_sum, so every output is bit-identical to the per-tensor kernel's),
// and each (cos, sin) pair and the token's position are read once for q and k instead of twice.
template <typename Tin, typename Tout, int kVecs>
__global__ void __launch_bounds__(kMaxThreads) qk_norm_rope_paired_kernel(const __grid_constant__ QkNormRopeParams p) {
  constexpr int G = vec::kGroup<Tin>;
  __shared__ float2 scratch[32];
  const int64_t row = blockIdx.x;
  const Tin* xq = static_cast<const Tin*>(p.x[0]) + row * p.x_row_stride[0];
  const Tin* xk = static_cast<const Tin*>(p.x[1]) + row * p.x_row_stride[1];
  Tout* oq = static_cast<Tout*>(p.out[0]) + row * p.out_row_stride[0];
  Tout* ok = static_cast<Tout*>(p.out[1]) + row * p.out_row_stride[1];
  const int groups = p.dim / G;

  float vq[kVecs][G], vk[kVecs][G];
#pragma unroll
  for (int i = 0; i < kVecs; ++i) {
    const int g = threadIdx.x + i * blockDim.x;
    if (g < groups) {
      vec::load_group<Tin>(xq + g * G, vq[i]);
      vec::load_group<Tin>(xk + g * G, vk[i]);
    }
  }
  float sum_q = 0.f, sum_k = 0.f;
#pragma unroll
  for (int i = 0; i < kVecs; ++i) {
    const int g = threadIdx.x + i * blockDim.x;
    if (g < groups) {
#pragma unroll
      for (int e = 0; e < G; ++e) {
        sum_q = fmaf(vq[i][e], vq[i][e], sum_q);
        sum_k = fmaf(vk[i][e], vk[i][e], sum_k);
      }
    }
  }
  const float2 total = vec::block_sum2(sum_q, sum_k, scratch);
  const float inv_dim = 1.f / static_cast<float>(p.dim);
  const float rq = rsqrtf(__fadd_rn(__fmul_rn(total.x, inv_dim), p.eps));
  const float rk = rsqrtf(__fadd_rn(__fmul_rn(total.y, inv_dim), p.eps));

  int pos[3];
  const bool rotate = token_position(p, row, pos);
  const int half = p.head_dim / 2;

#pragma unroll
  for (int i = 0; i < kVecs; ++i) {
    const int g = threadIdx.x + i * blockDim.x;
    if (g < groups) {
      float w[G], yq[G], yk[G];
      vec::load_floats<G>(p.weight[0] + g * G, w);
#pragma unroll
      for (int e = 0; e < G; ++e) yq[e] = __fmul_rn(vec::round_through<Tin>(__fmul_rn(vq[i][e], rq)), w[e]);
      vec::load_floats<G>(p.weight[1] + g * G, w);
#pragma unroll
      for (int e = 0; e < G; ++e) yk[e] = __fmul_rn(vec::round_through<Tin>(__fmul_rn(vk[i][e], rk)), w[e]);
      if (rotate) {
#pragma unroll
        for (int e = 0; e < G; e += 2) {
          const double2 cs = pair_angle(p, half, g * G + e, pos);  // one read for q and k
          rotate_pair(cs, yq[e], yq[e + 1]);
          rotate_pair(cs, yk[e], yk[e + 1]);
        }
      }
      vec::store_group<Tout, G>(oq + g * G, yq);
      vec::store_group<Tout, G>(ok + g * G, yk);
    }
  }
}

// One CTA per row (grid_y = 2: one per row and q/k), `vecs` groups per thread, the fewest warps
// that cover the row.
template <typename Kernel>
cudaError_t launch_rows(Kernel kernel, const QkNormRopeParams& p, int groups, int vecs, unsigned grid_y,
                        cudaStream_t stream) {
  const int per_thread = (groups + vecs - 1) / vecs;
  const int threads = ((per_thread + 31) / 32) * 32;
  kernel<<<dim3(static_cast<unsigned>(p.rows), grid_y), threads, 0, stream>>>(p);
  return cudaGetLastError();
}

template <typename Tin, typename Tout>
cudaError_t launch_paired(const QkNormRopeParams& p, int groups, cudaStream_t stream) {
  if (groups <= kMaxThreads) return launch_rows(qk_norm_rope_paired_kernel<Tin, Tout, 1>, p, groups, 1, 1, stream);
  if (groups <= 2 * kMaxThreads) return launch_rows(qk_norm_rope_paired_kernel<Tin, Tout, 2>, p, groups, 2, 1, stream);
  return launch_rows(qk_norm_rope_paired_kernel<Tin, Tout, 4>, p, groups, 4, 1, stream);  // groups <= 4 x 512
}

template <typename Tin, typename Tout>
cudaError_t launch_typed(const QkNormRopeParams& p, cudaStream_t stream) {
  // The paired kernel holds twice the row per thread: rows wider than 4 groups per thread (dim >
  // 16384 in bf16) take the per-tensor kernel.
  const int groups = p.dim / vec::kGroup<Tin>;
  if (p.kernel == QkNormRopeKernel::kPaired && groups <= 4 * kMaxThreads) return launch_paired<Tin, Tout>(p, groups, stream);
  if (groups <= kMaxThreads) return launch_rows(qk_norm_rope_kernel<Tin, Tout, 1>, p, groups, 1, 2, stream);
  if (groups <= 2 * kMaxThreads) return launch_rows(qk_norm_rope_kernel<Tin, Tout, 2>, p, groups, 2, 2, stream);
  if (groups <= 4 * kMaxThreads) return launch_rows(qk_norm_rope_kernel<Tin, Tout, 4>, p, groups, 4, 2, stream);
  if (groups <= 8 * kMaxThreads) return launch_rows(qk_norm_rope_kernel<Tin, Tout, 8>, p, groups, 8, 2, stream);
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

// Fused q/k RMSNorm over the full width + 3-D RoPE (spec §2.5, §2.6, §2.8, §11.4), writing q and
// k in the attention layout [B, L, H, D] (= [B, L, dim] in memory).
//
// Per token row, in the official op order:
//   r  = rsqrt(mean(x²) + eps)                 fp32 (mean = sum · (1/dim), as ATen's mean; 1/dim comes
//                                              from the host: a device division calls a subroutine,
//                                              and values live across the call went to the stack)
//   y  = round_to_input_dtype(x · r) · weight  fp32 (`.type_as(x) * weight`, weight fp32)
//   rotated pairs (a, b) = (y[2p], y[2p+1]) of each head, in float64:
//        (a·cos − b·sin, a·sin + b·cos)          each product and sum rounded separately
//   -> fp32 (the official `.float()`) -> output dtype (the cast before the attention kernel).
// For a 16-bit output each pair's output is decided in fp32 by the bracket of rope_rotate.h (with
// the fp32 copy of the table, freqs_f32), which gives the same bits; only the pairs it leaves
// undecided (0.3% of pairs for bf16, 1.7% for fp16) go through float64. An fp32 output takes
// float64 for every pair.
// Tokens at or past frames·height·width of their sample (padding) pass through unrotated. Pair p of
// a head takes its angle from the frame index for p < pairs_t, the row index for the next pairs_h
// pairs and the column index for the rest (the table's [t | h | w] split); rope_index.h computes the
// slots (per row the three bases, per 16-byte group its first pair, by multiply-high divisions whose
// constants the host sets), so the launch needs head_dim % 8 == 0.
//
// Two kernels with bit-identical results (QkNormRopeKernel): one CTA per (row, q-or-k), or one CTA
// per row doing q and k together (positions, angles and the block reduction shared); each in both
// row schedules of rows.cuh (one CTA per row, or a resident grid that keeps its next rows in flight
// into a shared-memory ring), again bit-identical. A thread holds its groups of the row in
// registers as loaded (kVecs 16-byte groups, widened to fp32 at each use); the reduction order of
// mean(x²) differs from ATen's, so results can differ from the ATen path by a rounding of r.
// Build: ARCHS 80 90a.
#include <cuda_runtime.h>

#include <type_traits>

#include "kernels/common/rows.cuh"
#include "kernels/common/vec.cuh"
#include "kernels/qk_norm_rope/qk_norm_rope_cuda.h"
#include "kernels/qk_norm_rope/rope_index.h"
#include "kernels/qk_norm_rope/rope_rotate.h"

namespace gallop::kernels::rope {

namespace {

constexpr int kMaxThreads = 512;

__device__ __forceinline__ double2 angle_f64(const QkNormRopeParams& p, uint32_t slot) {
  return __ldg(reinterpret_cast<const double2*>(p.freqs) + slot);
}

// (a, b) -> (a·cos − b·sin, a·sin + b·cos) in float64, each product and sum rounded separately
// (the official complex128 multiply), then to fp32.
__device__ __forceinline__ void rotate_pair(double2 cs, float& a, float& b) { rotate_pair_f64(cs.x, cs.y, a, b); }

// vec::pack_word as the functor that rope_rotate.h's bracket takes (16-bit T only).
template <typename T>
struct Pack16 {
  __device__ __forceinline__ uint32_t operator()(float x, float y) const { return vec::pack_word<T>(x, y); }
};

// The rotated pair (a, b) at table slot `slot` as the 16-bit Tout, packed: the fp32 bracket where it
// decides (cs = the slot's fp32 (cos, sin)), float64 for the rest; the same bits either way.
template <typename Tout>
__device__ __forceinline__ uint32_t rotate_pair_word(const QkNormRopeParams& p, uint32_t slot, float2 cs, float a,
                                                     float b) {
  uint32_t w;
  if (!rotate_pair_bracketed(cs.x, cs.y, a, b, Pack16<Tout>{}, w)) {
    rotate_pair(angle_f64(p, slot), a, b);
    w = vec::pack_word<Tout>(a, b);
  }
  return w;
}

template <typename Tout>
constexpr bool kBracketable = !std::is_same_v<Tout, float>;

// Sum of squares of this thread's groups of a raw row, in the order of the first kernel version
// (group by group, element by element, one fma each).
template <typename Tin, int kVecs>
__device__ __forceinline__ float sum_squares(const uint4 (&raw)[kVecs], int groups) {
  constexpr int G = vec::kGroup<Tin>;
  float sum = 0.f;
#pragma unroll
  for (int i = 0; i < kVecs; ++i) {
    if (static_cast<int>(threadIdx.x) + i * static_cast<int>(blockDim.x) < groups) {
      float v[G];
      vec::unpack<Tin>(raw[i], v);
#pragma unroll
      for (int e = 0; e < G; ++e) sum = fmaf(v[e], v[e], sum);
    }
  }
  return sum;
}

// y = round_to_input_dtype(x · r) · weight for one group (fp32, each product rounded).
template <typename Tin>
__device__ __forceinline__ void normalize_group(const uint4& raw, float r, const float* weight, int g,
                                                float (&y)[vec::kGroup<Tin>]) {
  constexpr int G = vec::kGroup<Tin>;
  float v[G], w[G];
  vec::unpack<Tin>(raw, v);
  vec::load_floats<G>(weight + g * G, w);
#pragma unroll
  for (int e = 0; e < G; e += 2) {
    float a = __fmul_rn(v[e], r), b = __fmul_rn(v[e + 1], r);
    vec::round_through2<Tin>(a, b);
    y[e] = __fmul_rn(a, w[e]);
    y[e + 1] = __fmul_rn(b, w[e + 1]);
  }
}

// One CTA per (row, q-or-k) (kStaged false), or a resident grid walking the rows through a
// shared-memory ring (kStaged true, rows.cuh); blockIdx.y picks q (0) or k (1).
template <typename Tin, typename Tout, int kVecs, bool kStaged>
__global__ void __launch_bounds__(kMaxThreads, 1) qk_norm_rope_kernel(const __grid_constant__ QkNormRopeParams p) {
  constexpr int G = vec::kGroup<Tin>;  // elements per 16-byte group (an even number: whole pairs)
  using Regs = rows::RawGroups<kVecs>;
  __shared__ float scratch[32];
  extern __shared__ uint4 ring[];  // staged schedule only
  const int which = blockIdx.y;  // 0 = q, 1 = k
  const Tin* x = static_cast<const Tin*>(p.x[which]);
  const float* weight = p.weight[which];
  const int groups = p.dim / G;
  const uint32_t half = static_cast<uint32_t>(p.head_dim) / 2;
  const float2* freqs_f32 = reinterpret_cast<const float2*>(p.freqs_f32);  // 16-bit outputs only

  rows::for_each_row<kStaged, Regs>(
      p.rows, groups, ring, rows::stage_bytes(1, kVecs, blockDim.x) / 16,
      [&](int64_t row, Regs& regs) { rows::load_row<Tin>(x + row * p.x_row_stride[which], groups, regs); },
      [&](int64_t row, uint4* stage) {
        rows::stage_row<Tin, kVecs, 1>(x + row * p.x_row_stride[which], groups, stage);
      },
      [&](int64_t row, const Regs& regs) {
        const float mean_sq = __fmul_rn(vec::block_sum(sum_squares<Tin>(regs.g[0], groups), scratch), p.inv_dim);
        const float r = rsqrtf(__fadd_rn(mean_sq, p.eps));
        RopeBases bases;
        const bool rotate = rope_bases(p, static_cast<uint32_t>(row), half, bases);
        Tout* out = static_cast<Tout*>(p.out[which]) + row * p.out_row_stride[which];
#pragma unroll
        for (int i = 0; i < kVecs; ++i) {
          const int g = threadIdx.x + i * blockDim.x;
          if (g < groups) {
            const uint32_t pair0 = rope_pair_of_column(p, static_cast<uint32_t>(g * G));  // group's first pair
            float y[G];
            normalize_group<Tin>(regs.g[0][i], r, weight, g, y);
            if constexpr (kBracketable<Tout>) {
              if (rotate) {
                uint32_t w[G / 2];
#pragma unroll
                for (int e = 0; e < G; e += 2) {
                  const uint32_t slot = rope_slot(p, pair0 + e / 2, bases);
                  w[e / 2] = rotate_pair_word<Tout>(p, slot, __ldg(freqs_f32 + slot), y[e], y[e + 1]);
                }
                vec::store_words<Tout, G>(out + g * G, w);
                continue;
              }
            } else if (rotate) {
#pragma unroll
              for (int e = 0; e < G; e += 2)
                rotate_pair(angle_f64(p, rope_slot(p, pair0 + e / 2, bases)), y[e], y[e + 1]);
            }
            vec::store_group<Tout, G>(out + g * G, y);
          }
        }
      });
}

// The paired variant: one CTA per token row normalizes and rotates q and k together. Both rows'
// loads are in flight at once, the two sums of squares share one block reduction (block_sum2, the
// same reduction order as block_sum, so every output is bit-identical to the per-tensor kernel's),
// and each (cos, sin) pair and the token's position are read once for q and k instead of twice.
template <typename Tin, typename Tout, int kVecs, bool kStaged>
__global__ void __launch_bounds__(kMaxThreads, 1)
    qk_norm_rope_paired_kernel(const __grid_constant__ QkNormRopeParams p) {
  constexpr int G = vec::kGroup<Tin>;
  using Regs = rows::RawGroups<kVecs, 2>;  // g[0] = q, g[1] = k
  __shared__ float2 scratch[32];
  extern __shared__ uint4 ring[];  // staged schedule only
  const Tin* xq = static_cast<const Tin*>(p.x[0]);
  const Tin* xk = static_cast<const Tin*>(p.x[1]);
  const int groups = p.dim / G;
  const uint32_t half = static_cast<uint32_t>(p.head_dim) / 2;
  const float2* freqs_f32 = reinterpret_cast<const float2*>(p.freqs_f32);  // 16-bit outputs only

  rows::for_each_row<kStaged, Regs>(
      p.rows, groups, ring, rows::stage_bytes(2, kVecs, blockDim.x) / 16,
      [&](int64_t row, Regs& regs) {
        rows::load_row<Tin>(xq + row * p.x_row_stride[0], groups, regs, 0);
        rows::load_row<Tin>(xk + row * p.x_row_stride[1], groups, regs, 1);
      },
      [&](int64_t row, uint4* stage) {
        rows::stage_row<Tin, kVecs, 2>(xq + row * p.x_row_stride[0], groups, stage, 0);
        rows::stage_row<Tin, kVecs, 2>(xk + row * p.x_row_stride[1], groups, stage, 1);
      },
      [&](int64_t row, const Regs& regs) {
        const float2 total =
            vec::block_sum2(sum_squares<Tin>(regs.g[0], groups), sum_squares<Tin>(regs.g[1], groups), scratch);
        const float rq = rsqrtf(__fadd_rn(__fmul_rn(total.x, p.inv_dim), p.eps));
        const float rk = rsqrtf(__fadd_rn(__fmul_rn(total.y, p.inv_dim), p.eps));
        RopeBases bases;
        const bool rotate = rope_bases(p, static_cast<uint32_t>(row), half, bases);
        Tout* oq = static_cast<Tout*>(p.out[0]) + row * p.out_row_stride[0];
        Tout* ok = static_cast<Tout*>(p.out[1]) + row * p.out_row_stride[1];
#pragma unroll
        for (int i = 0; i < kVecs; ++i) {
          const int g = threadIdx.x + i * blockDim.x;
          if (g < groups) {
            const uint32_t pair0 = rope_pair_of_column(p, static_cast<uint32_t>(g * G));  // group's first pair
            float yq[G], yk[G];
            normalize_group<Tin>(regs.g[0][i], rq, p.weight[0], g, yq);
            normalize_group<Tin>(regs.g[1][i], rk, p.weight[1], g, yk);
            if constexpr (kBracketable<Tout>) {
              if (rotate) {
                uint32_t wq[G / 2], wk[G / 2];
#pragma unroll
                for (int e = 0; e < G; e += 2) {
                  const uint32_t slot = rope_slot(p, pair0 + e / 2, bases);
                  const float2 cs = __ldg(freqs_f32 + slot);  // one read for q and k
                  // One float64 fallback for both pairs when either is undecided (fewer branches;
                  // a decided pair gets the same bits again).
                  const bool decided =
                      rotate_pair_bracketed(cs.x, cs.y, yq[e], yq[e + 1], Pack16<Tout>{}, wq[e / 2]) &
                      rotate_pair_bracketed(cs.x, cs.y, yk[e], yk[e + 1], Pack16<Tout>{}, wk[e / 2]);
                  if (!decided) {
                    const double2 cs64 = angle_f64(p, slot);
                    rotate_pair(cs64, yq[e], yq[e + 1]);
                    rotate_pair(cs64, yk[e], yk[e + 1]);
                    wq[e / 2] = vec::pack_word<Tout>(yq[e], yq[e + 1]);
                    wk[e / 2] = vec::pack_word<Tout>(yk[e], yk[e + 1]);
                  }
                }
                vec::store_words<Tout, G>(oq + g * G, wq);
                vec::store_words<Tout, G>(ok + g * G, wk);
                continue;
              }
            } else if (rotate) {
#pragma unroll
              for (int e = 0; e < G; e += 2) {
                const double2 cs = angle_f64(p, rope_slot(p, pair0 + e / 2, bases));  // one read for q and k
                rotate_pair(cs, yq[e], yq[e + 1]);
                rotate_pair(cs, yk[e], yk[e + 1]);
              }
            }
            vec::store_group<Tout, G>(oq + g * G, yq);
            vec::store_group<Tout, G>(ok + g * G, yk);
          }
        }
      });
}

// `vecs` groups per thread, the fewest warps that cover the row; grid_y = 2 for one CTA per row and
// q/k; kRows rows per stage (2 for the paired kernel). Per-row schedule: one CTA per row; staged:
// the resident grid (rows.cuh).
template <int kRows, typename Kernel>
cudaError_t launch_rows(Kernel kernel, bool staged, const QkNormRopeParams& p, int groups, int vecs, unsigned grid_y,
                        cudaStream_t stream) {
  const int per_thread = (groups + vecs - 1) / vecs;
  const int threads = ((per_thread + 31) / 32) * 32;
  unsigned grid_x = static_cast<unsigned>(p.rows);
  int smem = 0;
  if (staged) {
    smem = rows::kStages * rows::stage_bytes(kRows, vecs, threads);
    const cudaError_t err = rows::resident_grid(kernel, threads, smem, grid_y, p.rows, grid_x);
    if (err != cudaSuccess) return err;
  }
  kernel<<<dim3(grid_x, grid_y), threads, smem, stream>>>(p);
  return cudaGetLastError();
}

// The staged schedule where its shared-memory ring fits the device, else the per-row one.
template <int kRows, typename Staged, typename PerRow>
cudaError_t launch_schedule(Staged staged, PerRow per_row, const QkNormRopeParams& p, int groups, int vecs,
                            unsigned grid_y, cudaStream_t stream) {
  const int threads = (((groups + vecs - 1) / vecs + 31) / 32) * 32;
  if (p.schedule == RowSchedule::kStaged && rows::staged_fits(rows::stage_bytes(kRows, vecs, threads)))
    return launch_rows<kRows>(staged, true, p, groups, vecs, grid_y, stream);
  return launch_rows<kRows>(per_row, false, p, groups, vecs, grid_y, stream);
}

template <typename Tin, typename Tout>
cudaError_t launch_typed(const QkNormRopeParams& p, cudaStream_t stream) {
  // The paired kernel holds twice the row per thread: at most 4 groups per thread (rows wider than
  // 4 x kMaxThreads groups, dim > 16384 in bf16, take the per-tensor kernel), 8 in the warp schedule.
  const int groups = p.dim / vec::kGroup<Tin>;
  const int vecs = rows::groups_per_thread(groups, p.schedule, kMaxThreads);
#define GALLOP_QK_LAUNCH(KERNEL, ROWS, VECS, GRID_Y) \
  launch_schedule<ROWS>(KERNEL<Tin, Tout, VECS, true>, KERNEL<Tin, Tout, VECS, false>, p, groups, VECS, GRID_Y, stream)
  if (p.kernel == QkNormRopeKernel::kPaired && p.tensors == 2 && groups <= 4 * kMaxThreads) {
    // The warp schedule's 8 groups per lane (rows of 129-256 groups, e.g. Wan 1.3B's 1536-wide bf16
    // rows): its own instance, one CTA per row only (a staged ring of 8-group rows is not launched).
    if (p.schedule == RowSchedule::kWarp && vecs == 8 && groups <= 8 * 32)
      return launch_rows<2>(qk_norm_rope_paired_kernel<Tin, Tout, 8, false>, false, p, groups, 8, 1, stream);
    switch (vecs) {
      case 1: return GALLOP_QK_LAUNCH(qk_norm_rope_paired_kernel, 2, 1, 1);
      case 2: return GALLOP_QK_LAUNCH(qk_norm_rope_paired_kernel, 2, 2, 1);
      default: return GALLOP_QK_LAUNCH(qk_norm_rope_paired_kernel, 2, 4, 1);
    }
  }
  const unsigned tensors = static_cast<unsigned>(p.tensors);
  switch (vecs) {
    case 1: return GALLOP_QK_LAUNCH(qk_norm_rope_kernel, 1, 1, tensors);
    case 2: return GALLOP_QK_LAUNCH(qk_norm_rope_kernel, 1, 2, tensors);
    case 4: return GALLOP_QK_LAUNCH(qk_norm_rope_kernel, 1, 4, tensors);
    case 8: return GALLOP_QK_LAUNCH(qk_norm_rope_kernel, 1, 8, tensors);
  }
#undef GALLOP_QK_LAUNCH
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
  if (p.freqs != nullptr && p.out_type != ElementKind::kFloat32 && p.freqs_f32 == nullptr) return cudaErrorInvalidValue;
  if (p.tensors != 1 && p.tensors != 2) return cudaErrorInvalidValue;
  switch (p.in_type) {
    case ElementKind::kFloat32: return launch_out<float>(p, stream);
    case ElementKind::kBFloat16: return launch_out<__nv_bfloat16>(p, stream);
    case ElementKind::kFloat16: return launch_out<__half>(p, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace gallop::kernels::rope

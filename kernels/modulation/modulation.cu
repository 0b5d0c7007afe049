// adaLN modulation kernels of the Wan block (spec §2.6, §2.8, §11.2), in the official op order:
//
//   layer_norm_modulate: h = LN_noaffine(x) in fp32, rounded to x's dtype (`.type_as(x)`), then in
//     fp32 h * (1 + scale) + shift — three separately rounded operations (__fadd_rn/__fmul_rn,
//     never an FMA), so the only difference from ATen is the LN reduction order (mean and
//     variance here are a two-pass block sum, ATen uses Welford).
//   layer_norm_modulate with `affine` (the block's norm3, an nn.LayerNorm with weight and bias):
//     weight * ((x - mean) * rstd) + bias as one fma, ATen's CUDA formula (its `a * b + c` is
//     contracted), with no rounding to x's dtype; again only the reduction order differs.
//   gated_residual: x + y * gate in fp32 (y * gate rounded, then the add): bit-identical to ATen.
//
// Layout: rows of `dim` contiguous elements with a row stride. layer_norm_modulate reduces each
// row in one CTA: one CTA per row, or a resident grid whose CTAs walk the rows (RowSchedule,
// rows.cuh; same results). The row lives in registers as loaded (kVecs 16-byte groups per thread,
// blockDim = the groups / kVecs rounded up to a warp), so x is read once. gated_residual is a flat
// elementwise pass over groups of 8 elements. Build: ARCHS 80 90a (plain CUDA).
#include <cuda_runtime.h>

#include "kernels/common/rows.cuh"
#include "kernels/common/vec.cuh"
#include "kernels/modulation/modulation_cuda.h"

namespace gallop::kernels::mod {

namespace {

constexpr int kMaxThreads = 512;

// One CTA per row (kStaged false) or a resident grid walking the rows through a shared-memory ring
// (kStaged true, rows.cuh).
template <typename Tin, typename Tout, int kVecs, bool kStaged>
__global__ void __launch_bounds__(kMaxThreads, 1) layer_norm_modulate_kernel(const LayerNormModulateParams p) {
  constexpr int G = vec::kGroup<Tin>;
  using Regs = rows::RawGroups<kVecs>;
  __shared__ float scratch[32];
  extern __shared__ uint4 ring[];  // staged schedule only
  const Tin* x = static_cast<const Tin*>(p.x);
  const int groups = p.dim / G;

  rows::for_each_row<kStaged, Regs>(
      p.rows, groups, ring, rows::stage_bytes(1, kVecs, blockDim.x) / 16,
      [&](int64_t row, Regs& regs) { rows::load_row<Tin>(x + row * p.x_row_stride, groups, regs); },
      [&](int64_t row, uint4* stage) { rows::stage_row<Tin, kVecs, 1>(x + row * p.x_row_stride, groups, stage); },
      [&](int64_t row, const Regs& regs) {
        const int64_t b = row / p.len;
        const int64_t l = row % p.len;
        float sum = 0.f;
#pragma unroll
        for (int i = 0; i < kVecs; ++i) {
          if (static_cast<int>(threadIdx.x) + i * static_cast<int>(blockDim.x) < groups) {
            float v[G];
            vec::unpack<Tin>(regs.g[0][i], v);
#pragma unroll
            for (int e = 0; e < G; ++e) sum += v[e];
          }
        }
        const float mean = vec::block_sum(sum, scratch) / static_cast<float>(p.dim);
        float sq = 0.f;
#pragma unroll
        for (int i = 0; i < kVecs; ++i) {
          if (static_cast<int>(threadIdx.x) + i * static_cast<int>(blockDim.x) < groups) {
            float v[G];
            vec::unpack<Tin>(regs.g[0][i], v);
#pragma unroll
            for (int e = 0; e < G; ++e) {
              const float d = v[e] - mean;
              sq = fmaf(d, d, sq);
            }
          }
        }
        const float var = vec::block_sum(sq, scratch) / static_cast<float>(p.dim);
        const float rstd = rsqrtf(__fadd_rn(var, p.eps));

        const float* shift = p.shift + b * p.shift_batch_stride + l * p.shift_row_stride;
        const float* scale = p.scale + b * p.scale_batch_stride + l * p.scale_row_stride;
        Tout* out = static_cast<Tout*>(p.out) + row * p.out_row_stride;
#pragma unroll
        for (int i = 0; i < kVecs; ++i) {
          const int g = threadIdx.x + i * blockDim.x;
          if (g < groups) {
            float v[G], sh[G], sc[G], y[G];
            vec::unpack<Tin>(regs.g[0][i], v);
            vec::load_floats<G>(shift + g * G, sh);
            vec::load_floats<G>(scale + g * G, sc);
            if (p.affine) {
#pragma unroll
              for (int e = 0; e < G; ++e) y[e] = __fmaf_rn(sc[e], __fmul_rn(rstd, __fsub_rn(v[e], mean)), sh[e]);
            } else {
#pragma unroll
              for (int e = 0; e < G; e += 2) {
                float h0 = __fmul_rn(rstd, __fsub_rn(v[e], mean)), h1 = __fmul_rn(rstd, __fsub_rn(v[e + 1], mean));
                vec::round_through2<Tin>(h0, h1);  // one conversion for the two
                y[e] = __fadd_rn(__fmul_rn(h0, __fadd_rn(1.f, sc[e])), sh[e]);
                y[e + 1] = __fadd_rn(__fmul_rn(h1, __fadd_rn(1.f, sc[e + 1])), sh[e + 1]);
              }
            }
            vec::store_group<Tout, G>(out + g * G, y);
          }
        }
      });
}

template <typename Tin, typename Tout>
cudaError_t launch_ln(const LayerNormModulateParams& p, cudaStream_t stream) {
  constexpr int G = vec::kGroup<Tin>;
  const int groups = p.dim / G;
  // One CTA per row, or the staged schedule (resident grid) where its shared-memory ring fits.
  auto launch = [&](auto staged_kernel, auto per_row_kernel, int vecs) {
    const int per_thread = (groups + vecs - 1) / vecs;
    const int threads = ((per_thread + 31) / 32) * 32;
    const int stage = rows::stage_bytes(1, vecs, threads);
    if (p.schedule == RowSchedule::kStaged && rows::staged_fits(stage)) {
      const int smem = rows::kStages * stage;
      unsigned grid = 0;
      const cudaError_t err = rows::resident_grid(staged_kernel, threads, smem, 1, p.rows, grid);
      if (err != cudaSuccess) return err;
      staged_kernel<<<grid, threads, smem, stream>>>(p);
    } else {
      per_row_kernel<<<static_cast<unsigned>(p.rows), threads, 0, stream>>>(p);
    }
    return cudaGetLastError();
  };
#define GALLOP_LN_LAUNCH(VECS) \
  launch(layer_norm_modulate_kernel<Tin, Tout, VECS, true>, layer_norm_modulate_kernel<Tin, Tout, VECS, false>, VECS)
  switch (rows::groups_per_thread(groups, p.schedule, kMaxThreads)) {
    case 1: return GALLOP_LN_LAUNCH(1);
    case 2: return GALLOP_LN_LAUNCH(2);
    case 4: return GALLOP_LN_LAUNCH(4);
    case 8: return GALLOP_LN_LAUNCH(8);
  }
#undef GALLOP_LN_LAUNCH
  return cudaErrorInvalidValue;
}

template <typename Tin>
cudaError_t launch_ln_out(const LayerNormModulateParams& p, cudaStream_t stream) {
  switch (p.out_type) {
    case ElementKind::kFloat32: return launch_ln<Tin, float>(p, stream);
    case ElementKind::kBFloat16: return launch_ln<Tin, __nv_bfloat16>(p, stream);
    case ElementKind::kFloat16: return launch_ln<Tin, __half>(p, stream);
  }
  return cudaErrorInvalidValue;
}

// ---- gated residual ---------------------------------------------------------------------------

constexpr int kResidualGroup = 8;  // elements per thread: one 16-byte load of a 16-bit input

template <typename T>
__device__ __forceinline__ void load8(const T* p, float (&out)[kResidualGroup]) {
  constexpr int G = vec::kGroup<T>;
#pragma unroll
  for (int i = 0; i < kResidualGroup / G; ++i) {
    float part[G];
    vec::load_group<T>(p + i * G, part);
#pragma unroll
    for (int e = 0; e < G; ++e) out[i * G + e] = part[e];
  }
}

template <typename Tx, typename Ty>
__global__ void __launch_bounds__(256) gated_residual_kernel(const GatedResidualParams p) {
  const int groups_per_row = p.dim / kResidualGroup;
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= p.rows * groups_per_row) return;
  const int64_t row = idx / groups_per_row;
  const int col = static_cast<int>(idx % groups_per_row) * kResidualGroup;
  const int64_t b = row / p.len;
  const int64_t l = row % p.len;
  float x[kResidualGroup], y[kResidualGroup], gate[kResidualGroup], out[kResidualGroup];
  load8<Tx>(static_cast<const Tx*>(p.x) + row * p.x_row_stride + col, x);
  load8<Ty>(static_cast<const Ty*>(p.y) + row * p.y_row_stride + col, y);
  vec::load_floats<kResidualGroup>(p.gate + b * p.gate_batch_stride + l * p.gate_row_stride + col, gate);
#pragma unroll
  for (int e = 0; e < kResidualGroup; ++e) out[e] = __fadd_rn(x[e], __fmul_rn(y[e], gate[e]));
  vec::store_group<float, kResidualGroup>(p.out + row * p.out_row_stride + col, out);
}

template <typename Tx>
cudaError_t launch_residual_y(const GatedResidualParams& p, cudaStream_t stream) {
  const int64_t total = p.rows * (p.dim / kResidualGroup);
  const unsigned blocks = static_cast<unsigned>((total + 255) / 256);
  switch (p.y_type) {
    case ElementKind::kFloat32: gated_residual_kernel<Tx, float><<<blocks, 256, 0, stream>>>(p); break;
    case ElementKind::kBFloat16: gated_residual_kernel<Tx, __nv_bfloat16><<<blocks, 256, 0, stream>>>(p); break;
    case ElementKind::kFloat16: gated_residual_kernel<Tx, __half><<<blocks, 256, 0, stream>>>(p); break;
  }
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_layer_norm_modulate(const LayerNormModulateParams& p, cudaStream_t stream) {
  if (p.rows == 0) return cudaSuccess;
  switch (p.x_type) {
    case ElementKind::kFloat32: return launch_ln_out<float>(p, stream);
    case ElementKind::kBFloat16: return launch_ln_out<__nv_bfloat16>(p, stream);
    case ElementKind::kFloat16: return launch_ln_out<__half>(p, stream);
  }
  return cudaErrorInvalidValue;
}

cudaError_t launch_gated_residual(const GatedResidualParams& p, cudaStream_t stream) {
  if (p.rows == 0) return cudaSuccess;
  switch (p.x_type) {
    case ElementKind::kFloat32: return launch_residual_y<float>(p, stream);
    case ElementKind::kBFloat16: return launch_residual_y<__nv_bfloat16>(p, stream);
    case ElementKind::kFloat16: return launch_residual_y<__half>(p, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace gallop::kernels::mod

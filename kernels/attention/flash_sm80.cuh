// FlashAttention-2-style forward kernel for sm_80 and later (Ampere, Ada, Hopper).
//
// Computes O = softmax(Q·Kᵀ·scale)·V for one (128 query rows, head, batch) per CTA, 4 warps,
// head dims 64 and 128, bf16 or fp16 in and out, fp32 accumulation, non-causal, keys limited to
// k_lens[b]. Layout [B, L, H, D] with explicit strides (attention_params.h).
//
// Data path: cp.async (16-byte chunks, zero-filled past the valid rows) -> shared memory with an
// XOR swizzle of the 16-byte chunk index by (row % 8), so that ldmatrix's 8 row addresses hit 8
// different bank groups -> ldmatrix -> mma.sync m16n8k16 (fp32 accumulators). Online softmax in
// fp32 with exp2 (the scale is folded into scale_log2); each thread owns rows g and g+8 of each
// of its warp's two m16 tiles. S stays in registers and becomes P (the A operand of P·V) without
// touching shared memory. The output is staged through Q's shared memory so that global stores
// are 16 bytes wide.
//
// Schedule (one K and one V buffer): V(j) loads while S = Q·K(j)ᵀ and the softmax run; K(j+1)
// loads while O += P·V(j) runs. Tiles: tile_config.h. Build: ARCHS 80 90a (the same sm_80 code
// is compiled for Hopper so it runs there as the reference-fast fallback).
#pragma once

#include <cuda_runtime.h>

#include <cfloat>
#include <cmath>

#include "kernels/attention/attention_params.h"
#include "kernels/attention/ptx_sm80.cuh"
#include "kernels/attention/tile_config.h"

namespace gallop::kernels::attn {

namespace sm80 {

// Element offset of (row, 16-byte chunk) in a [rows, D] tile with the chunk swizzle.
template <int kHeadDim>
__device__ __forceinline__ int swizzle(int row, int chunk) {
  return row * kHeadDim + ((chunk ^ (row & 7)) << 3);
}

// Copies rows [row0, row0 + kRows) of one (batch, head) slice into shared memory; rows at or
// past `row_end` are zero-filled.
template <typename T, int kHeadDim, int kRows, int kThreads>
__device__ __forceinline__ void load_tile(T* smem, const T* gmem, int64_t row_stride, int row0, int row_end) {
  constexpr int kChunksPerRow = kHeadDim / 8;
  constexpr int kRowStep = kThreads / kChunksPerRow;  // rows covered by one pass of all threads
  static_assert(kThreads % kChunksPerRow == 0 && kRows % kRowStep == 0, "tile must split evenly over the threads");
  const int r = threadIdx.x / kChunksPerRow;
  const int ch = threadIdx.x % kChunksPerRow;
  const T* src = gmem + (row0 + r) * row_stride + ch * 8;
  const int64_t step = kRowStep * row_stride;
  uint32_t dst = ptx::smem_u32(smem + swizzle<kHeadDim>(r, ch));
#pragma unroll
  for (int i = 0; i < kRows / kRowStep; ++i) {
    // (r + i * kRowStep) & 7 == r & 7: the swizzle pattern repeats every pass.
    const bool valid = row0 + r + i * kRowStep < row_end;
    ptx::cp_async_16(dst + i * kRowStep * kHeadDim * int(sizeof(T)), valid ? src : gmem, valid);
    src += step;
  }
}

template <typename T, int kHeadDim>
__global__ void __launch_bounds__(sm80_tile(kHeadDim).warps * 32)
    flash_fwd_sm80_kernel(const AttentionParams p) {
  constexpr Sm80Tile kTile = sm80_tile(kHeadDim);
  constexpr int kBlockM = kTile.block_m;
  constexpr int kBlockN = kTile.block_n;
  constexpr int kThreads = kTile.warps * 32;
  constexpr int kRowsPerWarp = kBlockM / kTile.warps;
  constexpr int kMTiles = kRowsPerWarp / 16;  // m16 tiles per warp
  constexpr int kNTilesS = kBlockN / 8;       // n8 tiles of S (keys)
  constexpr int kNTilesO = kHeadDim / 8;      // n8 tiles of O (head dim)
  static_assert(kHeadDim % 64 == 0, "the swizzle needs at least 8 chunks per row");
  static_assert(kRowsPerWarp % 16 == 0 && kBlockN % 16 == 0, "bad tile");

  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* sQ = reinterpret_cast<T*>(smem_raw);  // [kBlockM, D], later the output staging tile
  T* sK = sQ + kBlockM * kHeadDim;         // [kBlockN, D]
  T* sV = sK + kBlockN * kHeadDim;         // [kBlockN, D]

  const int m_block = blockIdx.x;
  const int head = blockIdx.y;
  const int batch = blockIdx.z;
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int g = lane / 4;
  const int t = lane % 4;
  const int row0 = m_block * kBlockM;

  const T* q = static_cast<const T*>(p.q) + batch * p.q_batch_stride + head * p.q_head_stride;
  const T* k = static_cast<const T*>(p.k) + batch * p.k_batch_stride + head * p.k_head_stride;
  const T* v = static_cast<const T*>(p.v) + batch * p.v_batch_stride + head * p.v_head_stride;
  T* o = static_cast<T*>(p.o) + batch * p.o_batch_stride + head * p.o_head_stride;

  int kv_end = p.len_k;
  if (p.k_lens != nullptr) kv_end = max(0, min(p.k_lens[batch], p.len_k));
  const int n_blocks = (kv_end + kBlockN - 1) / kBlockN;

  float acc_o[kMTiles][kNTilesO][4];
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
    for (int nt = 0; nt < kNTilesO; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc_o[mt][nt][e] = 0.f;
  float row_max[kMTiles][2];
  float row_sum[kMTiles][2];  // this thread's partial sums; reduced over the quad at the end
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      row_max[mt][r] = -INFINITY;
      row_sum[mt][r] = 0.f;
    }

  if (n_blocks > 0) {
    load_tile<T, kHeadDim, kBlockM, kThreads>(sQ, q, p.q_row_stride, row0, p.len_q);
    load_tile<T, kHeadDim, kBlockN, kThreads>(sK, k, p.k_row_stride, 0, kv_end);
    ptx::cp_async_commit();
  }

  const int warp_row = warp * kRowsPerWarp;
  for (int j = 0; j < n_blocks; ++j) {
    const int key0 = j * kBlockN;
    ptx::cp_async_wait<0>();  // K(j) (and Q on the first pass)
    __syncthreads();          // ... visible to all warps; every warp is done with V(j-1)
    load_tile<T, kHeadDim, kBlockN, kThreads>(sV, v, p.v_row_stride, key0, kv_end);
    ptx::cp_async_commit();

    // S = Q · K(j)ᵀ
    float acc_s[kMTiles][kNTilesS][4];
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
      for (int nt = 0; nt < kNTilesS; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc_s[mt][nt][e] = 0.f;
#pragma unroll
    for (int ks = 0; ks < kHeadDim / 16; ++ks) {
      uint32_t a[kMTiles][4];
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt)
        ptx::ldmatrix_x4(a[mt], ptx::smem_u32(sQ + swizzle<kHeadDim>(warp_row + mt * 16 + (lane % 16),
                                                                     ks * 2 + lane / 16)));
#pragma unroll
      for (int np = 0; np < kBlockN / 16; ++np) {
        uint32_t b[4];
        const int key = np * 16 + (lane & 7) + ((lane >> 4) << 3);
        const int chunk = ks * 2 + ((lane >> 3) & 1);
        ptx::ldmatrix_x4(b, ptx::smem_u32(sK + swizzle<kHeadDim>(key, chunk)));
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
          ptx::mma_16816<T>(acc_s[mt][2 * np], a[mt], b[0], b[1]);
          ptx::mma_16816<T>(acc_s[mt][2 * np + 1], a[mt], b[2], b[3]);
        }
      }
    }

    // Keys at or past kv_end (only in the last block) do not exist for this batch.
    if (key0 + kBlockN > kv_end) {
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
        for (int nt = 0; nt < kNTilesS; ++nt)
#pragma unroll
          for (int e = 0; e < 4; ++e)
            if (key0 + nt * 8 + 2 * t + (e & 1) >= kv_end) acc_s[mt][nt][e] = -INFINITY;
    }

    // Online softmax: new running max, rescale of O and of the partial sums, P = exp2(...).
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        float mx = row_max[mt][r];
#pragma unroll
        for (int nt = 0; nt < kNTilesS; ++nt) mx = fmaxf(mx, fmaxf(acc_s[mt][nt][2 * r], acc_s[mt][nt][2 * r + 1]));
        mx = ptx::quad_max(mx);  // finite: every block holds at least one valid key
        const float correction = exp2f((row_max[mt][r] - mx) * p.scale_log2);  // 0 on the first block
        row_max[mt][r] = mx;
        const float max_scaled = mx * p.scale_log2;
        float sum = 0.f;
#pragma unroll
        for (int nt = 0; nt < kNTilesS; ++nt) {
#pragma unroll
          for (int e = 2 * r; e < 2 * r + 2; ++e) {
            const float pe = exp2f(fmaf(acc_s[mt][nt][e], p.scale_log2, -max_scaled));
            acc_s[mt][nt][e] = pe;
            sum += pe;
          }
        }
        row_sum[mt][r] = row_sum[mt][r] * correction + sum;
#pragma unroll
        for (int nt = 0; nt < kNTilesO; ++nt) {
          acc_o[mt][nt][2 * r] *= correction;
          acc_o[mt][nt][2 * r + 1] *= correction;
        }
      }
    }

    ptx::cp_async_wait<0>();  // V(j)
    __syncthreads();          // ... visible to all warps; every warp is done reading K(j)
    if (j + 1 < n_blocks) {
      load_tile<T, kHeadDim, kBlockN, kThreads>(sK, k, p.k_row_stride, key0 + kBlockN, kv_end);
      ptx::cp_async_commit();
    }

    // O += P · V(j); P comes straight from the S accumulators.
#pragma unroll
    for (int ks = 0; ks < kBlockN / 16; ++ks) {
      uint32_t a[kMTiles][4];
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt) {
        a[mt][0] = ptx::pack2<T>(acc_s[mt][2 * ks][0], acc_s[mt][2 * ks][1]);
        a[mt][1] = ptx::pack2<T>(acc_s[mt][2 * ks][2], acc_s[mt][2 * ks][3]);
        a[mt][2] = ptx::pack2<T>(acc_s[mt][2 * ks + 1][0], acc_s[mt][2 * ks + 1][1]);
        a[mt][3] = ptx::pack2<T>(acc_s[mt][2 * ks + 1][2], acc_s[mt][2 * ks + 1][3]);
      }
#pragma unroll
      for (int dp = 0; dp < kHeadDim / 16; ++dp) {
        uint32_t b[4];
        const int key = ks * 16 + (lane & 7) + (((lane >> 3) & 1) << 3);
        const int chunk = dp * 2 + (lane >> 4);
        ptx::ldmatrix_x4_trans(b, ptx::smem_u32(sV + swizzle<kHeadDim>(key, chunk)));
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
          ptx::mma_16816<T>(acc_o[mt][2 * dp], a[mt], b[0], b[1]);
          ptx::mma_16816<T>(acc_o[mt][2 * dp + 1], a[mt], b[2], b[3]);
        }
      }
    }
  }

  // Epilogue: O / l (0 for a row without valid keys) -> T, staged in sQ's space. Each warp
  // writes only its own rows, but the copy-out below reads every row, and other warps may still
  // be reading their Q rows from the last iteration: hence the barrier before.
  __syncthreads();
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const float l = ptx::quad_sum(row_sum[mt][r]);
      const float inv = l > 0.f ? 1.f / l : 0.f;
      const int row = warp_row + mt * 16 + g + 8 * r;
#pragma unroll
      for (int nt = 0; nt < kNTilesO; ++nt) {
        const uint32_t packed = ptx::pack2<T>(acc_o[mt][nt][2 * r] * inv, acc_o[mt][nt][2 * r + 1] * inv);
        *reinterpret_cast<uint32_t*>(sQ + swizzle<kHeadDim>(row, nt) + 2 * t) = packed;
      }
    }
  }
  __syncthreads();
  constexpr int kChunksPerRow = kHeadDim / 8;
#pragma unroll
  for (int i = 0; i < kBlockM * kChunksPerRow / kThreads; ++i) {
    const int c = i * kThreads + threadIdx.x;
    const int r = c / kChunksPerRow;
    const int ch = c % kChunksPerRow;
    if (row0 + r < p.len_q)
      *reinterpret_cast<uint4*>(o + (row0 + r) * p.o_row_stride + ch * 8) =
          *reinterpret_cast<const uint4*>(sQ + swizzle<kHeadDim>(r, ch));
  }
}

}  // namespace sm80

// Host side: grid (ceil(Lq / block_m), H, B), block_m rows per CTA. Returns the first CUDA
// error (attribute setup or launch); the caller checks it.
template <typename T, int kHeadDim>
cudaError_t launch_flash_fwd_sm80(const AttentionParams& p, cudaStream_t stream) {
  constexpr Sm80Tile kTile = sm80_tile(kHeadDim);
  auto kernel = sm80::flash_fwd_sm80_kernel<T, kHeadDim>;
  constexpr int kSmem = kTile.smem_bytes();
  if (kSmem > 48 * 1024) {
    cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem);
    if (err != cudaSuccess) return err;
  }
  const dim3 grid((p.len_q + kTile.block_m - 1) / kTile.block_m, p.heads, p.batch);
  kernel<<<grid, kTile.warps * 32, kSmem, stream>>>(p);
  return cudaGetLastError();
}

// How many CTAs of the sm_80 kernel the current device runs at once (SMs x CTAs per SM); 0 when this
// binary holds no code of it that the device can run.
template <typename T, int kHeadDim>
int flash_fwd_sm80_resident_ctas() {
  constexpr Sm80Tile kTile = sm80_tile(kHeadDim);
  auto kernel = sm80::flash_fwd_sm80_kernel<T, kHeadDim>;
  cudaFuncAttributes attr;
  int device = 0, sms = 0, per_sm = 0;
  if (cudaFuncGetAttributes(&attr, kernel) != cudaSuccess || cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) != cudaSuccess ||
      (kTile.smem_bytes() > 48 * 1024 &&
       cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kTile.smem_bytes()) != cudaSuccess) ||
      cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kTile.warps * 32, kTile.smem_bytes()) !=
          cudaSuccess) {
    (void)cudaGetLastError();  // clear the error so later launches do not see it
    return 0;
  }
  return sms * per_sm;
}

}  // namespace gallop::kernels::attn

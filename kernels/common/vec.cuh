// Device helpers shared by the memory-bound kernels: 16-byte vector loads/stores that convert
// to and from fp32, rounding to a 16-bit type and back, and block-wide sums.
//
// A "group" is the elements one 16-byte load of the input type holds (8 for bf16/fp16, 4 for
// fp32). Stores write the same number of elements of the output type with the widest aligned
// accesses (16 bytes, or 8 for fp32 -> 16-bit).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

namespace gallop::kernels::vec {

template <typename T>
constexpr int kGroup = 16 / static_cast<int>(sizeof(T));

template <typename T>
__device__ __forceinline__ float to_float(T v) {
  if constexpr (std::is_same_v<T, float>) return v;
  else if constexpr (std::is_same_v<T, __nv_bfloat16>) return __bfloat162float(v);
  else return __half2float(v);
}

template <typename T>
__device__ __forceinline__ T from_float(float v) {
  if constexpr (std::is_same_v<T, float>) return v;
  else if constexpr (std::is_same_v<T, __nv_bfloat16>) return __float2bfloat16_rn(v);
  else return __float2half_rn(v);
}

// v rounded to T (nearest even) and widened back: what `.to(T)` followed by `.float()` gives.
template <typename T>
__device__ __forceinline__ float round_through(float v) {
  return to_float<T>(from_float<T>(v));
}

// Loads N = 16 / sizeof(T) elements (one 16-byte access; p must be 16-byte aligned).
template <typename T>
__device__ __forceinline__ void load_group(const T* p, float (&out)[kGroup<T>]) {
  const uint4 raw = __ldg(reinterpret_cast<const uint4*>(p));
  const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
  for (int i = 0; i < kGroup<T>; ++i) out[i] = to_float<T>(e[i]);
}

// Loads N fp32 values (N a multiple of 4; p 16-byte aligned).
template <int N>
__device__ __forceinline__ void load_floats(const float* p, float (&out)[N]) {
  static_assert(N % 4 == 0, "whole float4s");
#pragma unroll
  for (int i = 0; i < N / 4; ++i) {
    const float4 v = __ldg(reinterpret_cast<const float4*>(p) + i);
    out[4 * i + 0] = v.x;
    out[4 * i + 1] = v.y;
    out[4 * i + 2] = v.z;
    out[4 * i + 3] = v.w;
  }
}

// Stores N values as T (N * sizeof(T) a multiple of 8 bytes; p aligned to that access width).
template <typename T, int N>
__device__ __forceinline__ void store_group(T* p, const float (&in)[N]) {
  constexpr int kBytes = N * static_cast<int>(sizeof(T));
  static_assert(kBytes % 8 == 0, "whole 8-byte accesses");
  alignas(16) T tmp[N];
#pragma unroll
  for (int i = 0; i < N; ++i) tmp[i] = from_float<T>(in[i]);
  if constexpr (kBytes % 16 == 0) {
#pragma unroll
    for (int i = 0; i < kBytes / 16; ++i) reinterpret_cast<uint4*>(p)[i] = reinterpret_cast<const uint4*>(tmp)[i];
  } else {
#pragma unroll
    for (int i = 0; i < kBytes / 8; ++i) reinterpret_cast<uint2*>(p)[i] = reinterpret_cast<const uint2*>(tmp)[i];
  }
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Sum of v over the block (blockDim.x a multiple of 32, at most 1024). `scratch` holds 32 floats
// of shared memory; the call synchronizes the block and may be repeated with the same scratch.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  const int lane = threadIdx.x % 32;
  const int warp = threadIdx.x / 32;
  const int warps = blockDim.x / 32;
  v = warp_sum(v);
  __syncthreads();  // a previous call's readers are done with scratch
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float total = lane < warps ? scratch[lane] : 0.f;
  return warp_sum(total);
}

// Two block sums in one round of the same reduction as block_sum (each result bit-identical to
// block_sum of that value); scratch holds 32 pairs.
__device__ __forceinline__ float2 block_sum2(float a, float b, float2* scratch) {
  const int lane = threadIdx.x % 32;
  const int warp = threadIdx.x / 32;
  const int warps = blockDim.x / 32;
  a = warp_sum(a);
  b = warp_sum(b);
  __syncthreads();  // a previous call's readers are done with scratch
  if (lane == 0) scratch[warp] = make_float2(a, b);
  __syncthreads();
  const float2 t = lane < warps ? scratch[lane] : make_float2(0.f, 0.f);
  return make_float2(warp_sum(t.x), warp_sum(t.y));
}

}  // namespace gallop::kernels::vec

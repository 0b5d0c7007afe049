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
#include <cstring>
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

// One group as it sits in memory (one 16-byte read-only access; p must be 16-byte aligned). Kernels
// that keep a row in registers hold it this way: a 16-bit row then takes half the registers that
// its fp32 values would, and widening to fp32 (unpack) is exact, so it can be repeated at each use.
template <typename T>
__device__ __forceinline__ uint4 load_raw(const T* p) {
  return __ldg(reinterpret_cast<const uint4*>(p));
}

// Element e of a raw group as 32-bit words: word w = e * sizeof(T) / 4.
__device__ __forceinline__ uint32_t word(const uint4& raw, int w) {
  return w == 0 ? raw.x : w == 1 ? raw.y : w == 2 ? raw.z : raw.w;
}

// Element e (compile-time after unrolling) of a raw group, widened to fp32 with integer operations
// on the words (a 16-bit element is the low or high half of a word; little-endian), so that the
// group stays four 32-bit registers instead of being split into halves.
template <typename T>
__device__ __forceinline__ float element(const uint4& raw, int e) {
  if constexpr (std::is_same_v<T, float>) {
    return __uint_as_float(word(raw, e));
  } else {
    const uint32_t w = word(raw, e / 2);
    const unsigned short bits = static_cast<unsigned short>(e % 2 == 0 ? (w & 0xffffu) : (w >> 16));
    if constexpr (std::is_same_v<T, __nv_bfloat16>) return __uint_as_float(static_cast<uint32_t>(bits) << 16);
    else return __half2float(__ushort_as_half(bits));
  }
}

// The kGroup<T> elements of a raw group, widened to fp32 (exact).
template <typename T>
__device__ __forceinline__ void unpack(const uint4& raw, float (&out)[kGroup<T>]) {
#pragma unroll
  for (int i = 0; i < kGroup<T>; ++i) out[i] = element<T>(raw, i);
}

// Loads N = 16 / sizeof(T) elements (one 16-byte access; p must be 16-byte aligned).
template <typename T>
__device__ __forceinline__ void load_group(const T* p, float (&out)[kGroup<T>]) {
  unpack<T>(load_raw(p), out);
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

// Two values rounded to T (nearest even) and packed into one 32-bit word, a in the low half (the
// lower address), with one conversion for both; for T = float, only a, as its bits.
template <typename T>
__device__ __forceinline__ uint32_t pack_word(float a, float b) {
  uint32_t w;
  if constexpr (std::is_same_v<T, float>) {
    w = __float_as_uint(a);
  } else if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    const __nv_bfloat162 h = __floats2bfloat162_rn(a, b);
    memcpy(&w, &h, sizeof(w));
  } else {
    const __half2 h = __floats2half2_rn(a, b);
    memcpy(&w, &h, sizeof(w));
  }
  return w;
}

// round_through of two values with one conversion instruction for both (pack_word: cvt.rn.bf16x2.f32
// / cvt.rn.f16x2.f32, F2FP in the SASS), where two scalar roundings issue two: the conversion unit
// takes 16 per clock per SM against 128 fp32 operations. The same bits as round_through on each.
template <typename T>
__device__ __forceinline__ void round_through2(float& a, float& b) {
  if constexpr (!std::is_same_v<T, float>) {
    const uint32_t w = pack_word<T>(a, b);
    if constexpr (std::is_same_v<T, __nv_bfloat16>) {
      // A bf16 is the top half of its fp32: one shift or mask each, where __low2float and
      // __high2float first extract the half (PRMT) and then shift.
      a = __uint_as_float(w << 16);
      b = __uint_as_float(w & 0xFFFF0000u);
    } else {
      __half2 h;
      memcpy(&h, &w, sizeof(w));
      a = __low2float(h);
      b = __high2float(h);
    }
  }
}

// Stores the packed words of N values of T (N * sizeof(T) a multiple of 8 bytes; p aligned to that
// access width): 16-byte stores, or 8-byte ones for a 16-bit T with N = 4.
template <typename T, int N>
__device__ __forceinline__ void store_words(T* p, const uint32_t (&w)[N * sizeof(T) / 4]) {
  constexpr int kWords = N * static_cast<int>(sizeof(T)) / 4;
  static_assert(kWords % 2 == 0, "whole 8-byte accesses");
  if constexpr (kWords % 4 == 0) {
#pragma unroll
    for (int i = 0; i < kWords / 4; ++i)
      reinterpret_cast<uint4*>(p)[i] = make_uint4(w[4 * i], w[4 * i + 1], w[4 * i + 2], w[4 * i + 3]);
  } else {
#pragma unroll
    for (int i = 0; i < kWords / 2; ++i) reinterpret_cast<uint2*>(p)[i] = make_uint2(w[2 * i], w[2 * i + 1]);
  }
}

// Stores N values as T (rounded to nearest even; same sizes and alignment as store_words).
template <typename T, int N>
__device__ __forceinline__ void store_group(T* p, const float (&in)[N]) {
  constexpr int kPer = std::is_same_v<T, float> ? 1 : 2;  // elements per word
  uint32_t w[N / kPer];
#pragma unroll
  for (int i = 0; i < N / kPer; ++i) {
    if constexpr (kPer == 2) w[i] = pack_word<T>(in[2 * i], in[2 * i + 1]);
    else w[i] = pack_word<T>(in[i], 0.f);
  }
  store_words<T, N>(p, w);
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
  // One warp: the second round below would add zeros from the other lanes to the total, which
  // changes nothing but the sign of a zero (-0 + 0 = +0); + 0.f does exactly that without shared
  // memory or barriers, so the result is the same bits either way.
  if (warps == 1) return v + 0.f;
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
  if (warps == 1) return make_float2(a + 0.f, b + 0.f);  // as in block_sum
  __syncthreads();  // a previous call's readers are done with scratch
  if (lane == 0) scratch[warp] = make_float2(a, b);
  __syncthreads();
  const float2 t = lane < warps ? scratch[lane] : make_float2(0.f, 0.f);
  return make_float2(warp_sum(t.x), warp_sum(t.y));
}

}  // namespace gallop::kernels::vec

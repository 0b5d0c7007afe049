// The rotation of one RoPE pair (a, b) by an angle (cos, sin), two ways with the same 16-bit result.
//
// Official arithmetic (spec §2.5, §11.4): a and b (fp32) are widened to float64 and multiplied by
// the complex128 table entry, each product and sum rounded to float64, then the result is rounded
// to fp32 (`.float()`) and, before the attention kernel, to bf16 or fp16:
//   A = fp32(f64(f64(a·cos) − f64(b·sin))),  B = fp32(f64(f64(a·sin) + f64(b·cos))).
// On sm_80 and sm_90 every conversion to or from float64 issues at 16 per clock per SM against 128
// fp32 operations, so the 4 conversions of a pair cost the fused kernel more than all its other
// arithmetic together (kernels/NOTES.md).
//
// Bracketed arithmetic, for a 16-bit output: with cf, sf = cos, sin rounded to fp32 and
// S = |a| + |b|, the fp32 values
//   va = fma(a, cf, −(b·sf)),  vb = fma(a, sf, b·cf)
// are within 4·2^-24·S (to first order) of the official A and B: |cf − cos| <= 2^-24 |cos|, and
// |a||cos| + |b||sin| <= S, so the rounded table, the rounded product and the fma's rounding put
// va within 3·2^-24·S of the exact a·cos − b·sin, and A (float64 steps, then one rounding to fp32)
// is within 2^-24·S + 2^-52·S of it. The ends
//   lo = fp32(va − 2^-21·S),  hi = fp32(va + 2^-21·S)
// (one fma each, rounded by at most 2^-24·S(1 + 2^-21)) therefore bracket A: 4 + 1 units of
// 2^-24·S are needed, 8 are used. Rounding to a 16-bit type is monotone, so when lo and hi round
// to the same 16-bit value, A rounds to it too: that value is the official output, decided without
// float64. When the ends round apart (A within about 2^-21·S of a 16-bit rounding boundary), the
// caller computes the pair in float64 instead; for unit-normal pairs at the Wan angles that is
// 0.3% of the pairs for bf16 and 1.7% for fp16 (rope_rotate_test). An output that is exactly zero
// is never decided (its bracket holds both signs), and S must lie in [2^-90, 2^100]: below, fp32
// subnormal rounding is absolute rather than relative (the argument holds while 2^-150 is
// negligible next to 2^-21·S); above, fp32 products could overflow; NaN and infinity fail the range
// test, as do a = b = 0.

// Everything here compiles for the host as well, so the CPU tests run this very code; the host
// build must not contract a*b + c into an fma (the test target builds with -ffp-contract=off).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define GALLOP_ROPE_FN __host__ __device__ __forceinline__
#else
#define GALLOP_ROPE_FN inline
#endif

namespace gallop::kernels::rope {

// fp32 and float64 operations with one rounding each (no contraction on the device; the host
// relies on the build flag above). The device pass and the host pass each see one set.
#if defined(__CUDA_ARCH__)
GALLOP_ROPE_FN float mul_rn(float x, float y) { return __fmul_rn(x, y); }
GALLOP_ROPE_FN float add_rn(float x, float y) { return __fadd_rn(x, y); }
GALLOP_ROPE_FN float fma_rn(float x, float y, float z) { return __fmaf_rn(x, y, z); }
GALLOP_ROPE_FN double dmul_rn(double x, double y) { return __dmul_rn(x, y); }
GALLOP_ROPE_FN double dadd_rn(double x, double y) { return __dadd_rn(x, y); }
GALLOP_ROPE_FN double dsub_rn(double x, double y) { return __dsub_rn(x, y); }
GALLOP_ROPE_FN float to_float_rn(double x) { return __double2float_rn(x); }
GALLOP_ROPE_FN uint32_t float_bits(float x) { return __float_as_uint(x); }
#else
GALLOP_ROPE_FN float mul_rn(float x, float y) { return x * y; }
GALLOP_ROPE_FN float add_rn(float x, float y) { return x + y; }
GALLOP_ROPE_FN float fma_rn(float x, float y, float z) { return std::fma(x, y, z); }
GALLOP_ROPE_FN double dmul_rn(double x, double y) { return x * y; }
GALLOP_ROPE_FN double dadd_rn(double x, double y) { return x + y; }
GALLOP_ROPE_FN double dsub_rn(double x, double y) { return x - y; }
GALLOP_ROPE_FN float to_float_rn(double x) { return static_cast<float>(x); }
GALLOP_ROPE_FN uint32_t float_bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof(u));
  return u;
}
#endif

// The official rotation: (a, b) <- (A, B) above.
GALLOP_ROPE_FN void rotate_pair_f64(double cos_t, double sin_t, float& a, float& b) {
  const double x = a, y = b;
  a = to_float_rn(dsub_rn(dmul_rn(x, cos_t), dmul_rn(y, sin_t)));
  b = to_float_rn(dadd_rn(dmul_rn(x, sin_t), dmul_rn(y, cos_t)));
}

// Bit patterns of 2^-90 and 2^100: the range of S = |a| + |b| the bracket is proven for. S >= 0, so
// its bits order like its values; NaN's bits lie above infinity's.
inline constexpr uint32_t kBracketMinBits = (127u - 90u) << 23;
inline constexpr uint32_t kBracketMaxBits = (127u + 100u) << 23;
inline constexpr float kBracketWidth = 0x1p-21f;  // the half-width of the bracket, in units of S

// The bracketed rotation. `pack(x, y)` rounds two fp32 values to the 16-bit output type (nearest
// even) and returns them as one word, x in the low half. Returns true and sets `word` to the pair's
// official output (A, B as the 16-bit type) when the bracket decides it; false otherwise (word is
// then meaningless and the caller uses rotate_pair_f64).
template <typename Pack>
GALLOP_ROPE_FN bool rotate_pair_bracketed(float cos_f, float sin_f, float a, float b, Pack pack, uint32_t& word) {
  const float s = add_rn(std::fabs(a), std::fabs(b));
  const float va = fma_rn(a, cos_f, -mul_rn(b, sin_f));
  const float vb = fma_rn(a, sin_f, mul_rn(b, cos_f));
  word = pack(fma_rn(s, -kBracketWidth, va), fma_rn(s, -kBracketWidth, vb));
  const uint32_t upper = pack(fma_rn(s, kBracketWidth, va), fma_rn(s, kBracketWidth, vb));
  return word == upper && float_bits(s) - kBracketMinBits <= kBracketMaxBits - kBracketMinBits;
}

}  // namespace gallop::kernels::rope

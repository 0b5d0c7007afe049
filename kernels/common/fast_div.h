// Division of unsigned 32-bit integers by a divisor fixed before a launch: one multiply-high, one add
// and one shift on the device, where `n / d` with a run-time d is a sequence of about 20
// instructions (a float reciprocal, a refinement and two corrections). The host computes the
// multiplier once (make_fast_div); kernels that divide per row or per group (qk_norm_rope's token
// positions and head offsets) carry it in their parameters.
//
// The round-up method (Granlund and Montgomery, 1994): with l = ceil(log2 d) and
// m = floor(2^32 (2^l - d) / d) + 1 < 2^32, the quotient is (mulhi(n, m) + n) >> l, i.e.
// floor(n (2^32 + m) / 2^(32 + l)), exact for every n < 2^32. Here n < 2^31 is required as well,
// so that mulhi(n, m) + n (< 2n) does not wrap in 32 bits. Host and device run the same code; the
// CPU test (tests/kernels/fast_div_test.cpp) checks it against `/` and `%`.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define GALLOP_FAST_DIV_FN __host__ __device__ __forceinline__
#else
#define GALLOP_FAST_DIV_FN inline
#endif

namespace gallop::kernels {

struct FastDivU32 {
  uint32_t divisor = 1;
  uint32_t mul = 1;    // m above (1 for a power of two)
  uint32_t shift = 0;  // l above
};

// d in [1, 2^31]; 0 gives the divisor-1 constants (a caller that never divides by it, such as an
// empty grid's plane, may leave it so).
inline FastDivU32 make_fast_div(uint32_t d) {
  FastDivU32 f;
  if (d == 0) return f;
  f.divisor = d;
  while ((uint64_t{1} << f.shift) < d) ++f.shift;
  f.mul = static_cast<uint32_t>((uint64_t{1} << 32) * ((uint64_t{1} << f.shift) - d) / d + 1);
  return f;
}

GALLOP_FAST_DIV_FN uint32_t mul_hi_u32(uint32_t a, uint32_t b) {
#if defined(__CUDA_ARCH__)
  return __umulhi(a, b);
#else
  return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
#endif
}

// n / f.divisor for n < 2^31.
GALLOP_FAST_DIV_FN uint32_t fast_div(uint32_t n, const FastDivU32& f) { return (mul_hi_u32(n, f.mul) + n) >> f.shift; }

// Quotient and remainder of n / f.divisor for n < 2^31.
GALLOP_FAST_DIV_FN void fast_divmod(uint32_t n, const FastDivU32& f, uint32_t& quotient, uint32_t& remainder) {
  quotient = fast_div(n, f);
  remainder = n - quotient * f.divisor;
}

}  // namespace gallop::kernels

// wgmma.mma_async wrappers (sm_90a) for the shapes the attention kernel uses: m64 x {64, 128} x k16
// (and m64 x 144 x k16 for S = Q·Kᵀ), fp32 accumulators, bf16 or fp16 inputs. Two forms:
//   SS: A and B both K-major in shared memory (S = Q·Kᵀ);
//   RS: A from registers, B N-major ("transposed") in shared memory (O += P·V).
// Accumulator layout per warp w of the warpgroup (g = lane / 4, t = lane % 4): d[4i + 0..1] =
// (row 16w + g, cols 8i + 2t..2t+1), d[4i + 2..3] = (row 16w + g + 8, same cols); the RS A operand
// uses mma.m16n8k16's A layout on the warp's 16 rows. Only compiled into sm_90a device code.
//
// The instruction names each of its N / 2 accumulator registers, so the operand lists are long;
// the macros below write them once: accumulator k is operand %k = d[k], and the operands after
// the accumulators (descriptors, A fragments, scale_d) are numbered from N / 2 on.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "kernels/attention/ptx_sm90.cuh"

namespace gallop::kernels::attn::ptx90 {

#if defined(GALLOP_SM90A_DEVICE)

// "%0, ..., %(8g + 7)": accumulator operand names in groups of 8.
#define GALLOP_WGMMA_R0 "%0, %1, %2, %3, %4, %5, %6, %7"
#define GALLOP_WGMMA_R8 "%8, %9, %10, %11, %12, %13, %14, %15"
#define GALLOP_WGMMA_R16 "%16, %17, %18, %19, %20, %21, %22, %23"
#define GALLOP_WGMMA_R24 "%24, %25, %26, %27, %28, %29, %30, %31"
#define GALLOP_WGMMA_R32 "%32, %33, %34, %35, %36, %37, %38, %39"
#define GALLOP_WGMMA_R40 "%40, %41, %42, %43, %44, %45, %46, %47"
#define GALLOP_WGMMA_R48 "%48, %49, %50, %51, %52, %53, %54, %55"
#define GALLOP_WGMMA_R56 "%56, %57, %58, %59, %60, %61, %62, %63"
#define GALLOP_WGMMA_R64 "%64, %65, %66, %67, %68, %69, %70, %71"
#define GALLOP_WGMMA_REGS_32 GALLOP_WGMMA_R0 ", " GALLOP_WGMMA_R8 ", " GALLOP_WGMMA_R16 ", " GALLOP_WGMMA_R24
#define GALLOP_WGMMA_REGS_64 \
  GALLOP_WGMMA_REGS_32 ", " GALLOP_WGMMA_R32 ", " GALLOP_WGMMA_R40 ", " GALLOP_WGMMA_R48 ", " GALLOP_WGMMA_R56
#define GALLOP_WGMMA_REGS_72 GALLOP_WGMMA_REGS_64 ", " GALLOP_WGMMA_R64
// The matching read-write operands d[b], ..., d[b + 7] and their concatenations.
#define GALLOP_WGMMA_D8(b)                                                                                        \
  "+f"(d[b + 0]), "+f"(d[b + 1]), "+f"(d[b + 2]), "+f"(d[b + 3]), "+f"(d[b + 4]), "+f"(d[b + 5]), "+f"(d[b + 6]), \
      "+f"(d[b + 7])
#define GALLOP_WGMMA_D32 GALLOP_WGMMA_D8(0), GALLOP_WGMMA_D8(8), GALLOP_WGMMA_D8(16), GALLOP_WGMMA_D8(24)
#define GALLOP_WGMMA_D64 \
  GALLOP_WGMMA_D32, GALLOP_WGMMA_D8(32), GALLOP_WGMMA_D8(40), GALLOP_WGMMA_D8(48), GALLOP_WGMMA_D8(56)
#define GALLOP_WGMMA_D72 GALLOP_WGMMA_D64, GALLOP_WGMMA_D8(64)

// SS: D[64 x N] (+)= A[64 x 16] * B[16 x N]. ACC = N / 2; DA, DB, SC = the operand numbers ACC,
// ACC + 1, ACC + 2 of desc_a, desc_b and scale_d (0: D = A·B, else D += A·B).
#define GALLOP_WGMMA_SS(N, ACC, DA, DB, SC, TYPE)                                               \
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %" #SC ", 0;\n"                                \
               "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32." TYPE "." TYPE " "                \
               "{" GALLOP_WGMMA_REGS_##ACC "}, %" #DA ", %" #DB ", p, 1, 1, 0, 0;\n}\n"            \
               : GALLOP_WGMMA_D##ACC                                                            \
               : "l"(desc_a), "l"(desc_b), "r"(scale_d))
// RS: D[64 x N] (+)= A[64 x 16] * B[16 x N], A as four registers (operands A0..A0 + 3 = ACC..ACC + 3),
// B N-major (transposed: the last immediate is 1); DB, SC = ACC + 4, ACC + 5.
#define GALLOP_WGMMA_RS(N, ACC, A0, A1, A2, A3, DB, SC, TYPE)                                   \
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %" #SC ", 0;\n"                                \
               "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32." TYPE "." TYPE " "                \
               "{" GALLOP_WGMMA_REGS_##ACC "}, {%" #A0 ", %" #A1 ", %" #A2 ", %" #A3 "}, %" #DB     \
               ", p, 1, 1, 1;\n}\n"                                                              \
               : GALLOP_WGMMA_D##ACC                                                            \
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(scale_d))

template <typename T>
constexpr bool kIsBf16 = std::is_same_v<T, __nv_bfloat16>;

// S = Q·Kᵀ shapes: N = 64, 128, 144 (the widest block that two P buffers fit beside).
template <typename T>
__device__ __forceinline__ void wgmma_ss_n64(float (&d)[32], uint64_t desc_a, uint64_t desc_b, int scale_d) {
  if constexpr (kIsBf16<T>) GALLOP_WGMMA_SS(64, 32, 32, 33, 34, "bf16");
  else GALLOP_WGMMA_SS(64, 32, 32, 33, 34, "f16");
}
template <typename T>
__device__ __forceinline__ void wgmma_ss_n128(float (&d)[64], uint64_t desc_a, uint64_t desc_b, int scale_d) {
  if constexpr (kIsBf16<T>) GALLOP_WGMMA_SS(128, 64, 64, 65, 66, "bf16");
  else GALLOP_WGMMA_SS(128, 64, 64, 65, 66, "f16");
}
template <typename T>
__device__ __forceinline__ void wgmma_ss_n144(float (&d)[72], uint64_t desc_a, uint64_t desc_b, int scale_d) {
  if constexpr (kIsBf16<T>) GALLOP_WGMMA_SS(144, 72, 72, 73, 74, "bf16");
  else GALLOP_WGMMA_SS(144, 72, 72, 73, 74, "f16");
}
// O += P·V shapes: N = the head dim, 64 or 128.
template <typename T>
__device__ __forceinline__ void wgmma_rs_n64(float (&d)[32], const uint32_t (&a)[4], uint64_t desc_b, int scale_d) {
  if constexpr (kIsBf16<T>) GALLOP_WGMMA_RS(64, 32, 32, 33, 34, 35, 36, 37, "bf16");
  else GALLOP_WGMMA_RS(64, 32, 32, 33, 34, 35, 36, 37, "f16");
}
template <typename T>
__device__ __forceinline__ void wgmma_rs_n128(float (&d)[64], const uint32_t (&a)[4], uint64_t desc_b, int scale_d) {
  if constexpr (kIsBf16<T>) GALLOP_WGMMA_RS(128, 64, 64, 65, 66, 67, 68, 69, "bf16");
  else GALLOP_WGMMA_RS(128, 64, 64, 65, 66, 67, 68, 69, "f16");
}

#undef GALLOP_WGMMA_RS
#undef GALLOP_WGMMA_SS
#undef GALLOP_WGMMA_R0
#undef GALLOP_WGMMA_R8
#undef GALLOP_WGMMA_R16
#undef GALLOP_WGMMA_R24
#undef GALLOP_WGMMA_R32
#undef GALLOP_WGMMA_R40
#undef GALLOP_WGMMA_R48
#undef GALLOP_WGMMA_R56
#undef GALLOP_WGMMA_R64
#undef GALLOP_WGMMA_REGS_32
#undef GALLOP_WGMMA_REGS_64
#undef GALLOP_WGMMA_REGS_72
#undef GALLOP_WGMMA_D8
#undef GALLOP_WGMMA_D32
#undef GALLOP_WGMMA_D64
#undef GALLOP_WGMMA_D72

// Shape-generic front ends: N = 64 or 128 (and 144 for S = Q·Kᵀ).
template <typename T, int N>
__device__ __forceinline__ void wgmma_ss(float (&d)[N / 2], uint64_t desc_a, uint64_t desc_b, int scale_d) {
  static_assert(N == 64 || N == 128 || N == 144, "wgmma_ss: N must be 64, 128 or 144");
  if constexpr (N == 64) wgmma_ss_n64<T>(d, desc_a, desc_b, scale_d);
  else if constexpr (N == 128) wgmma_ss_n128<T>(d, desc_a, desc_b, scale_d);
  else wgmma_ss_n144<T>(d, desc_a, desc_b, scale_d);
}
template <typename T, int N>
__device__ __forceinline__ void wgmma_rs(float (&d)[N / 2], const uint32_t (&a)[4], uint64_t desc_b, int scale_d) {
  static_assert(N == 64 || N == 128, "wgmma_rs: N must be 64 or 128");
  if constexpr (N == 64) wgmma_rs_n64<T>(d, a, desc_b, scale_d);
  else wgmma_rs_n128<T>(d, a, desc_b, scale_d);
}

#endif  // GALLOP_SM90A_DEVICE

}  // namespace gallop::kernels::attn::ptx90

// The L2 read probe of gallop_kernel_bench: every CTA reads the whole of one buffer that fits in L2,
// each from its own starting point, the way the attention kernels' CTAs all stream the same head's
// K and V. Loads are ld.global.cg (cached in L2 only, not L1), 16 bytes per thread, eight in flight
// per thread; an XOR of everything read keeps them from being optimized away.
#include "tools/kernel_bench/l2_read.h"

#include <cstdint>

namespace gallop::bench {

namespace {

constexpr int kThreads = 512;
constexpr int kUnroll = 8;

__global__ void __launch_bounds__(kThreads) l2_read_kernel(const uint4* __restrict__ buf, int64_t n, int passes,
                                                          unsigned* sink) {
  // Start of this CTA's sweep, a whole number of unrolled steps into the buffer.
  constexpr int64_t kStep = int64_t{kThreads} * kUnroll;
  const int64_t steps = n / kStep;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * steps / gridDim.x;
  unsigned acc = 0;
  for (int p = 0; p < passes; ++p) {
    for (int64_t s = 0; s < steps; ++s) {
      int64_t step = first + s;
      if (step >= steps) step -= steps;
      const uint4* base = buf + step * kStep + threadIdx.x;
      uint4 v[kUnroll];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) v[u] = __ldcg(base + u * kThreads);
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) acc ^= v[u].x ^ v[u].y ^ v[u].z ^ v[u].w;
    }
  }
  if (acc == 0x9e3779b9u) *sink = acc;  // practically never; the compiler cannot know
}

}  // namespace

int64_t l2_read_bytes_per_launch(int64_t buffer_bytes, int ctas, int passes) {
  constexpr int64_t kStepBytes = int64_t{kThreads} * kUnroll * 16;
  return buffer_bytes / kStepBytes * kStepBytes * ctas * passes;
}

cudaError_t launch_l2_read(const void* buffer, int64_t buffer_bytes, int ctas, int passes, unsigned* sink,
                           cudaStream_t stream) {
  if (buffer_bytes < int64_t{kThreads} * kUnroll * 16 || ctas < 1 || passes < 1) return cudaErrorInvalidValue;
  l2_read_kernel<<<ctas, kThreads, 0, stream>>>(static_cast<const uint4*>(buffer), buffer_bytes / 16, passes, sink);
  return cudaGetLastError();
}

}  // namespace gallop::bench

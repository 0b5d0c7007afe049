// The L2 read probe of gallop_kernel_bench (l2_read.cu): a kernel in which every CTA reads the whole
// of one buffer small enough to stay in L2, as the attention kernels' CTAs all read one head's K and
// V. Its rate bounds what K/V loads from L2 can reach. No torch here (a .cu of its own target).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace gallop::bench {

// Bytes one launch reads (the buffer rounded down to the kernel's step, times CTAs and passes).
int64_t l2_read_bytes_per_launch(int64_t buffer_bytes, int ctas, int passes);

// Launches `ctas` CTAs on `stream`, each reading the buffer `passes` times from its own starting
// point; `sink` (one unsigned on the device) is written only to keep the loads. Returns the launch
// error (cudaErrorInvalidValue for a buffer under 64 KB or a count below 1).
cudaError_t launch_l2_read(const void* buffer, int64_t buffer_bytes, int ctas, int passes, unsigned* sink,
                           cudaStream_t stream);

}  // namespace gallop::bench

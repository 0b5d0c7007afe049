// Backend and row-schedule choices shared by the fused memory-bound kernels (modulation,
// qk_norm_rope). Plain enums: the .cu parameter structs see them too.
#pragma once

#include <cstdint>

namespace gallop::kernels {

enum class FusedBackend {
  Auto,       // the fused CUDA kernel when it applies (CUDA tensors, dtypes, alignment), else the reference
  Reference,  // ATen ops in the official order
  Cuda,       // the fused CUDA kernel, or std::invalid_argument when it does not apply (tests, bench)
};

// How the row-wise CUDA kernels (layer_norm_modulate, qk_norm_rope) spread token rows over CTAs
// (kernels/common/rows.cuh). kPerRow and kStaged give bit-identical results (the same threads per
// row, the same reduction order); kNarrow and kWarp sum in other orders (within the same tolerance).
enum class RowSchedule : int32_t {
  kPerRow = 0,  // one CTA per row, up to 512 threads (the schedule measured first)
  kStaged = 1,  // a resident grid; each CTA keeps its next rows in flight into shared memory (cp.async)
  kNarrow = 2,  // one CTA per row, up to 8 groups per thread: CTAs of <= 128 threads, more rows per SM
  kWarp = 3,    // one warp per row where 8 groups per lane cover it (else as kNarrow): no block barrier
};

}  // namespace gallop::kernels

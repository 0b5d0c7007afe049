// Backend choice shared by the fused memory-bound kernels (modulation, qk_norm_rope).
#pragma once

namespace gallop::kernels {

enum class FusedBackend {
  Auto,       // the fused CUDA kernel when it applies (CUDA tensors, dtypes, alignment), else the reference
  Reference,  // ATen ops in the official order
  Cuda,       // the fused CUDA kernel, or std::invalid_argument when it does not apply (tests, bench)
};

}  // namespace gallop::kernels

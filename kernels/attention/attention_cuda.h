// gallop's own attention kernels, as the dispatcher sees them: which exist in this binary, which
// can run on the current device, and one launch function. No torch types (see attention.cpp for
// the tensor-facing side) and no kernel code (attention_cuda.cu only switches).
#pragma once

#include <cuda_runtime_api.h>

#include "kernels/attention/attention_params.h"

namespace gallop::kernels::attn {

// Compiled into this binary for some architecture (GALLOP_CUDA_ARCHS intersected with the
// family's own list).
bool gallop_kernel_compiled(GallopKernel kernel);

// This binary has device code of `kernel` for the current device, for this dtype and head dim.
bool gallop_kernel_runnable(GallopKernel kernel, ElementType dtype, int head_dim);

// Launches on `stream`. Returns cudaErrorNotSupported for a combination that is not compiled.
cudaError_t launch_gallop_kernel(GallopKernel kernel, const AttentionParams& p, cudaStream_t stream);

}  // namespace gallop::kernels::attn

// gallop's own attention kernels, as the dispatcher sees them: which exist in this binary, which
// can run on the current device, and one launch function. No torch types (see attention.cpp for
// the tensor-facing side) and no kernel code (attention_cuda.cu only switches).
#pragma once

#include <cuda_runtime_api.h>

#include "kernels/attention/attention_params.h"
#include "kernels/attention/tail_split.h"

namespace gallop::kernels::attn {

// Compiled into this binary for some architecture (GALLOP_CUDA_ARCHS intersected with the
// family's own list).
bool gallop_kernel_compiled(GallopKernel kernel);

// This binary has device code of `kernel` for the current device, for this dtype and head dim.
bool gallop_kernel_runnable(GallopKernel kernel, ElementType dtype, int head_dim);
// How many of its CTAs the current device runs at once (0: not runnable). For the cluster kernels
// this can be below the SM count: each pair of CTAs needs two SMs of one GPC.
int gallop_kernel_resident_ctas(GallopKernel kernel, ElementType dtype, int head_dim);

// How `kernel` splits the last wave of a launch with these parameters on a device that runs `sms`
// of its CTAs at once (gallop_kernel_resident_ctas; the SM count for all but the cluster kernels)
// (tail_split.h): nothing (split_tiles = 0) except for the -split kernels. The caller allocates the
// partials (TailSplit::partial_*_floats with tail_split_block_m()), fills the AttentionParams split
// fields from the plan (split_cluster = the plan's cluster), then launches.
TailSplit gallop_kernel_tail_split(GallopKernel kernel, const AttentionParams& p, int sms);
// Query rows per tile of the split kernels (the Hopper tile's block_m).
int tail_split_block_m();

// Launches on `stream`. Returns cudaErrorNotSupported for a combination that is not compiled.
cudaError_t launch_gallop_kernel(GallopKernel kernel, const AttentionParams& p, cudaStream_t stream);

}  // namespace gallop::kernels::attn

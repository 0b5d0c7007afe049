// Declarations of the per-(dtype, head dim) kernel launchers. Their definitions live in
// flash_sm80.cuh / flash_sm90_launch.cuh and are instantiated once each in the generated
// instance files (kernels/attention/sources.cmake), so that the switch in attention_cuda.cu
// compiles without seeing any kernel code.
#pragma once

#include <cuda_runtime_api.h>

#include "kernels/attention/attention_params.h"
#include "kernels/attention/tile_config.h"

namespace gallop::kernels::attn {

template <typename T, int kHeadDim>
cudaError_t launch_flash_fwd_sm80(const AttentionParams& p, cudaStream_t stream);
template <typename T, int kHeadDim>
int flash_fwd_sm80_resident_ctas();

// kStageCount: the K/V pipeline depth, 0 for the tile's (tile_config.h, sm90_stages).
template <typename T, int kHeadDim, Sm90Schedule kSchedule, int kBlockN, int kStageCount>
cudaError_t launch_flash_fwd_sm90(const AttentionParams& p, cudaStream_t stream);
template <typename T, int kHeadDim, Sm90Schedule kSchedule, int kBlockN, int kStageCount>
int flash_fwd_sm90_resident_ctas();

}  // namespace gallop::kernels::attn

// Host launchers of the modulation kernels (modulation.cu). No torch types; the caller checks
// the returned error and the alignment preconditions below.
#pragma once

#include <cuda_runtime_api.h>

#include "kernels/modulation/modulation_params.h"

namespace gallop::kernels::mod {

// Preconditions: dim * sizeof(x) and the row strides are multiples of 16 bytes, every pointer is
// 16-byte aligned, dim is a multiple of 8, dim * sizeof(x) <= 64 KB.
cudaError_t launch_layer_norm_modulate(const LayerNormModulateParams& p, cudaStream_t stream);

// Preconditions: as above for x, y and out; dim a multiple of 8.
cudaError_t launch_gated_residual(const GatedResidualParams& p, cudaStream_t stream);

}  // namespace gallop::kernels::mod

// Host launcher of the fused q/k RMSNorm + RoPE kernel. No torch types; the caller checks the
// returned error and the preconditions: rows of q, k and the outputs 16-byte aligned with row
// strides that are multiples of 16 bytes, dim a multiple of 8 and of head_dim, head_dim even,
// dim * sizeof(input) <= 64 KB, batch <= kMaxBatch, rows < 2^31, the table 16-byte aligned.
#pragma once

#include <cuda_runtime_api.h>

#include "kernels/qk_norm_rope/qk_norm_rope_params.h"

namespace gallop::kernels::rope {

cudaError_t launch_qk_norm_rope(const QkNormRopeParams& p, cudaStream_t stream);

}  // namespace gallop::kernels::rope

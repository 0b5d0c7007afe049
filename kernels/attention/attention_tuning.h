// Measured attention speeds that `--attention auto` decides by: the data, not code.
//
// One row per (GPU, dtype, head dim, key-length range) where a backend other than the default
// (cuDNN's fused attention) was measured faster, with the figures of the run that showed it.
// Rows come from `gallop_kernel_bench` (tools/kernel_bench) run through tools/gpu/check.sh:
// tools/gpu/tuning_rows.py prints the rows from that summary. Until a row says otherwise,
// `auto` uses cuDNN, so a user never gets a slower kernel than the best library one.
#pragma once

#include <array>
#include <cstdint>

#include "kernels/attention/attention.h"

namespace gallop::kernels {

struct AttentionTuningRow {
  const char* device;      // a whole word of the CUDA device name, e.g. "H100"
  int cc_major;            // compute capability the row was measured on
  int cc_minor;
  const char* dtype;       // "bf16" or "fp16"
  int head_dim;
  int64_t min_len_k;       // key lengths [min_len_k, max_len_k] the row covers
  int64_t max_len_k;
  AttentionBackend backend;  // the fastest measured
  const char* gallop_kernel; // with backend Gallop: the kernel's name (gallop_kernel_name), or "" for
                             // the variant tile_config.h picks
  double backend_tflops;     // its figure
  double cudnn_tflops;       // cuDNN's figure in the same run
  const char* measured;      // "YYYY-MM-DD, <device line>, <shape>"
};

// From tools/gpu/check.sh on an NVIDIA H200 (2026-11-26, second run of the day): the Hopper kernel
// with two P buffers beat cuDNN on all four Wan self-attention shapes (632.8-657.1 against
// 563.0-567.1 TFLOP/s). At the cross-attention length (512 text keys) cuDNN stayed ahead of every
// gallop variant (570.4 against at most 441.4), so keys below 4096 keep cuDNN. No row for the H100
// yet: that card has only timed the serial variant (2026-11-26, first session), slower than cuDNN.
inline constexpr std::array<AttentionTuningRow, 2> kAttentionTuning{{
    {"H200", 9, 0, "bf16", 128, 4096, 49766, AttentionBackend::Gallop, "gallop-sm90-ws-p2", 632.8, 563.0,
     "2026-11-26, NVIDIA H200, 1.3B-480p (worst shape of len_k 32760)"},
    {"H200", 9, 0, "bf16", 128, 49767, 2147483647, AttentionBackend::Gallop, "gallop-sm90-ws-p2", 634.2, 563.6,
     "2026-11-26, NVIDIA H200, 14B-720p (worst shape of len_k 75600)"},
}};

}  // namespace gallop::kernels

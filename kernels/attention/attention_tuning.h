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
  const char* device;      // substring of the CUDA device name, e.g. "H100"
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

// Empty: no gallop kernel has been measured faster than cuDNN yet.
inline constexpr std::array<AttentionTuningRow, 0> kAttentionTuning{};

}  // namespace gallop::kernels

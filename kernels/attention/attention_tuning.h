// Measured attention speeds that `--attention auto` decides by: the data, not code.
//
// One row per (GPU, dtype, head dim, key-length range) where a backend other than the default
// (cuDNN's fused attention) was measured faster, with the figures of the run that showed it.
// Rows come from `gallop_kernel_bench` (tools/kernel_bench) run through tools/gpu/check.sh:
// tools/gpu/tuning_rows.py prints the rows from one card's runs (summaries or the benchmark's own
// JSON), comparing each kernel with cuDNN from its own run. Until a row says otherwise,
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

// From tools/gpu/check.sh on 2026-11-27 (kernels/NOTES.md, "Clusters win"): cuDNN and the Hopper
// variants timed side by side in one process. NVIDIA H100 80GB HBM3: three runs (the full check,
// a second side-by-side run of the leaders, and the run that checked these rows), rows from
// `tuning_rows.py` over all three (the worst ratio to cuDNN over every run that timed a kernel).
// NVIDIA H200: one run. ws-p2 in clusters of two CTAs with the last wave split along the keys
// (c2-split) won everywhere but the H200's 720p rows, where plain c2 led it by 0.8% in one run.
// At the cross-attention length (512 text keys) cuDNN stays ahead of every gallop variant (H100:
// cuDNN 534.9-556.4 TFLOP/s, no gallop variant above 443.6), so keys below 4096 keep cuDNN. The figures are each
// row's worst shape.
inline constexpr std::array<AttentionTuningRow, 4> kAttentionTuning{{
    {"H100", 9, 0, "bf16", 128, 4096, 49766, AttentionBackend::Gallop, "gallop-sm90-ws-p2-c2-split", 675.9, 576.5,
     "2026-11-27, NVIDIA H100 80GB HBM3, 14B-480p (worst shape of len_k 32760 over 3 runs)"},
    {"H100", 9, 0, "bf16", 128, 49767, 2147483647, AttentionBackend::Gallop, "gallop-sm90-ws-p2-c2-split", 669.2, 569.5,
     "2026-11-27, NVIDIA H100 80GB HBM3, 14B-720p (worst shape of len_k 75600 over 3 runs)"},
    {"H200", 9, 0, "bf16", 128, 4096, 49766, AttentionBackend::Gallop, "gallop-sm90-ws-p2-c2-split", 670.9, 572.6,
     "2026-11-27, NVIDIA H200, 14B-480p (worst shape of len_k 32760)"},
    {"H200", 9, 0, "bf16", 128, 49767, 2147483647, AttentionBackend::Gallop, "gallop-sm90-ws-p2-c2", 675.6, 568.6,
     "2026-11-27, NVIDIA H200, 14B-720p (worst shape of len_k 75600)"},
}};

}  // namespace gallop::kernels

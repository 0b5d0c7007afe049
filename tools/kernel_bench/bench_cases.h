// The benchmark groups of gallop_kernel_bench; each returns JSON rows (see main.cpp for the file).
#pragma once

#include <ATen/ATen.h>

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "tools/kernel_bench/bench_util.h"

namespace gallop::bench {

struct BenchOptions {
  int iters = 0;          // timed runs per case; 0: fit about budget_s seconds (3 to 20 runs)
  double budget_s = 0.6;   // seconds of timed runs per case when iters is 0
  bool quick = false;     // fewer, smaller shapes (a smoke run)
};

// Attention at the Wan shapes for each backend: "cudnn", "flash", "sdpa", "gallop-sm80",
// "gallop-sm90", "gallop-sm90-ws-p2", "gallop-sm90-serial", ... After each shape, shape_done (when
// set) receives the rows so far, so that a run stopped part way keeps what it measured.
nlohmann::json bench_attention(const std::vector<std::string>& backends, const BenchOptions& opt,
                               const std::function<void(const nlohmann::json&)>& shape_done = {});

// The fused memory-bound kernels and their ATen paths, as GB/s and % of peak_gbps.
nlohmann::json bench_fused(const BenchOptions& opt, double peak_gbps);

// The card's ceilings as measured here: device-to-device copy GB/s, a bf16 GEMM's TFLOP/s, and the
// rate at which all SMs read one L2-resident buffer (l2_read.h).
nlohmann::json bench_ceilings(const BenchOptions& opt);

}  // namespace gallop::bench

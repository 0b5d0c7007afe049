// Timing and device facts for gallop_kernel_bench: CUDA-event timing (warm-up, median of N,
// optional L2 flush before every timed run), the device's name/clocks/bandwidth, and the current
// clocks read through NVML when the driver's library is present.
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <string>
#include <vector>

namespace gallop::bench {

struct DeviceFacts {
  std::string name;
  int cc_major = 0, cc_minor = 0;
  int sm_count = 0;
  int max_sm_clock_mhz = 0;   // cudaDevAttrClockRate
  int max_mem_clock_mhz = 0;  // cudaDevAttrMemoryClockRate
  int bus_width_bits = 0;
  int64_t l2_bytes = 0;
  double peak_gbps = 0;  // 2 (DDR) x memory clock x bus width
  std::string driver, runtime, cudnn, torch;
};
DeviceFacts device_facts();

// Current SM and memory clocks in MHz from NVML (-1 when NVML is not available).
struct Clocks {
  int sm_mhz = -1;
  int mem_mhz = -1;
};
Clocks current_clocks();

struct Timing {
  double median_ms = 0, min_ms = 0, max_ms = 0;
  int iters = 0;
};

// Runs fn once to warm up, then times each of `iters` runs with its own pair of CUDA events on the
// current stream (when iters <= 0: as many as fit in about `budget_s` seconds, between 3 and 20).
// With flush_l2, a buffer of twice the L2 size is overwritten (untimed) before every run.
Timing time_cuda(const std::function<void()>& fn, int iters, double budget_s, bool flush_l2);

}  // namespace gallop::bench

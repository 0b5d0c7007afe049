// Timing and device facts for gallop_kernel_bench: CUDA-event timing (warm-up, median of N,
// optional L2 flush before every timed run), the device's name/clocks/bandwidth, and the current
// clocks read through NVML when the driver's library is present.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
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

// Current SM and memory clocks in MHz from NVML (-1 when NVML is not available), and NVML's
// clock event reasons: why the clocks are below their maximum (a bit mask; -1 when unknown).
struct Clocks {
  int sm_mhz = -1;
  int mem_mhz = -1;
  int64_t event_reasons = -1;
};
Clocks current_clocks();
// The reasons' names ("power cap, thermal (software)", "none"; "" for -1).
std::string clock_event_reason_names(int64_t bits);

struct Timing {
  double median_ms = 0, min_ms = 0, max_ms = 0;
  int iters = 0;
  // From NVML's energy counter over the timed runs (-1 without it): the card's energy per run, and
  // its mean power over the loop (the runs and the short host gaps between them).
  double joules_per_run = -1, watts = -1;
  // What the figures above are made from: each run's time, and the energy and wall time of the
  // loop (joules < 0 without NVML's counter).
  std::vector<double> runs_ms;
  double joules = -1, wall_s = 0;
};

// Runs fn once to warm up (unless warmup is false), then times each of `iters` runs with its own
// pair of CUDA events on the current stream (when iters <= 0: as many as fit in about `budget_s`
// seconds, between min_runs and max_runs). With flush_l2, a buffer of twice the L2 size is
// overwritten (untimed) before every run.
Timing time_cuda(const std::function<void()>& fn, int iters, double budget_s, bool flush_l2, bool warmup = true,
                 int min_runs = 3, int max_runs = 20);

// Several timings of one case taken apart (interleaved with other cases) as one: the median, min
// and max over all their runs, the energy per run and mean power over all their loops.
Timing merge_timings(const std::vector<Timing>& parts);

// Standard-normal values in `dtype` on the current CUDA device, drawn there from a generator of
// their own seeded with `seed` (the same tensor in every process on one kind of GPU: torch's
// kernels size their grids by the SM count). The five attention shapes draw 2.5 billion values; on
// the host (1.5 s per 100 million on the 2-core development machine) plus 10 GB of copies, that
// was seconds of every benchmark process.
at::Tensor randn_gpu(at::IntArrayRef shape, at::ScalarType dtype, uint64_t seed);

}  // namespace gallop::bench

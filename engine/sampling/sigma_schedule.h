// Sigma grids and model timesteps of the official Wan2.1 schedulers (spec/wan21.md 6.3, 6.4).
//
// The official code builds them in float64 numpy; these functions repeat that arithmetic step by
// step (numpy's linspace formula, the shift as written, truncation to int64, rounding to float32),
// so that timesteps are identical and sigmas bit-identical.
#pragma once

#include <cstdint>
#include <vector>

namespace gallop::engine {

// Training timesteps of every Wan2.1 model.
constexpr int kNumTrainTimesteps = 1000;

struct SigmaSchedule {
  std::vector<int64_t> timesteps;  // N model timesteps, trunc(1000 sigma_i)
  std::vector<float> sigmas;       // N+1 sigmas, float32, last = 0
};

// numpy.linspace(start, stop, num) (endpoint included) in float64: start + i * ((stop - start) /
// (num - 1)), the last element set to stop.
std::vector<double> numpy_linspace(double start, double stop, int num);

// Timestep shift: s * sigma / (1 + (s - 1) * sigma), in float64.
double shift_sigma(double sigma, double shift);

// Largest sigma of the official UniPC grid: the float32 training sigma 1 - 1/1000 (0.99900001...).
double unipc_sigma_max();

// Official UniPC: sigma_i = shift(linspace(sigma_max, 0, N+1)[i]) for i < N, then 0.
// Also the grid gallop uses for Euler.
SigmaSchedule unipc_schedule(int num_steps, double shift);

// Official DPM++: sigma_i = shift(linspace(1, 0, N+1)[i]) for i < N (sigma_0 = 1, t_0 = 1000),
// then 0.
SigmaSchedule dpmpp_schedule(int num_steps, double shift);

}  // namespace gallop::engine

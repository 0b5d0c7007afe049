// Official Wan2.1 sigma grids, repeating the float64 numpy arithmetic of the reference.
//
// Each rounding step is its own statement and the file is built with -ffp-contract=off (see
// sources.cmake): an FMA would change the last bit of some sigmas and so, through truncation,
// possibly a timestep.
#include "engine/sampling/sigma_schedule.h"

#include <cmath>

#include "engine/core/error.h"

namespace gallop::engine {

std::vector<double> numpy_linspace(double start, double stop, int num) {
  GALLOP_CHECK(num >= 0, InvalidArgument, "linspace: negative number of samples ", num);
  std::vector<double> y(static_cast<size_t>(num));
  if (num == 0) return y;
  if (num == 1) {
    y[0] = start;
    return y;
  }
  const double div = static_cast<double>(num - 1);
  const double delta = stop - start;
  const double step = delta / div;
  for (int i = 0; i < num; ++i) {
    double v = static_cast<double>(i);
    if (step == 0.0) {  // numpy's path for a step that underflows: (i / div) * delta
      v = v / div;
      v = v * delta;
    } else {
      v = v * step;
    }
    v = v + start;
    y[static_cast<size_t>(i)] = v;
  }
  y.back() = stop;
  return y;
}

double shift_sigma(double sigma, double shift) {
  const double num = shift * sigma;
  const double scaled = (shift - 1.0) * sigma;
  const double den = 1.0 + scaled;
  return num / den;
}

double unipc_sigma_max() {
  // Training sigmas: 1 - reverse(linspace(1, 1/1000, 1000)) stored as float32; the first one is
  // 1 - 1/1000 (linspace's endpoint is exact). The construction-time shift of 1 is an identity.
  const double last_alpha = 1.0 / kNumTrainTimesteps;
  return static_cast<double>(static_cast<float>(1.0 - last_alpha));
}

namespace {

void check_grid_args(int num_steps, double shift) {
  GALLOP_CHECK(num_steps >= 1, InvalidArgument, "sampling steps must be at least 1, got ", num_steps);
  GALLOP_CHECK(std::isfinite(shift) && shift > 0.0, InvalidArgument,
               "sampling shift must be a positive finite number, got ", shift);
}

// sigmas[0..N) -> timesteps (truncation toward zero, like torch's float64 -> int64 cast) and the
// float32 sigma table with the final 0.
SigmaSchedule finish(const std::vector<double>& shifted) {
  SigmaSchedule s;
  s.timesteps.reserve(shifted.size());
  s.sigmas.reserve(shifted.size() + 1);
  for (double sigma : shifted) {
    const double t = sigma * kNumTrainTimesteps;
    s.timesteps.push_back(static_cast<int64_t>(t));
    s.sigmas.push_back(static_cast<float>(sigma));
  }
  s.sigmas.push_back(0.0f);
  return s;
}

}  // namespace

SigmaSchedule unipc_schedule(int num_steps, double shift) {
  check_grid_args(num_steps, shift);
  const double sigma_min = 0.0;  // last training sigma: 1 - 1
  std::vector<double> grid = numpy_linspace(unipc_sigma_max(), sigma_min, num_steps + 1);
  grid.pop_back();
  for (double& s : grid) s = shift_sigma(s, shift);
  return finish(grid);
}

SigmaSchedule dpmpp_schedule(int num_steps, double shift) {
  check_grid_args(num_steps, shift);
  std::vector<double> grid = numpy_linspace(1.0, 0.0, num_steps + 1);
  grid.pop_back();
  // get_sampling_sigmas applies the shift; the scheduler's own shift (1) is an exact identity.
  for (double& s : grid) s = shift_sigma(s, shift);
  return finish(grid);
}

}  // namespace gallop::engine

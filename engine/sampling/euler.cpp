// Plain flow-matching Euler: x_{i+1} = x_i + (sigma_{i+1} - sigma_i) v_i (spec/wan21.md 6.5).
//
// Not offered by the official Wan2.1 CLI; gallop runs it on the official UniPC grid
// (shift(linspace(0.999..., 0, N+1)), integer timesteps by truncation) so that --solver changes
// only the update rule, never the model timesteps. The update is the one of diffusers'
// FlowMatchEulerDiscreteScheduler (dt as a float32 scalar, then x + dt * v); fed these sigmas,
// diffusers gives bit-identical samples, though it hands the model the unrounded 1000 sigma.
#include <memory>
#include <utility>

#include "engine/sampling/sigma_schedule.h"
#include "engine/sampling/solvers.h"

namespace gallop::engine::sampling_detail {
namespace {

class EulerScheduler final : public Scheduler {
 public:
  EulerScheduler(int num_steps, double shift, SigmaSchedule grid)
      : Scheduler(Solver::Euler, num_steps, shift, std::move(grid.timesteps), std::move(grid.sigmas)) {}

 protected:
  at::Tensor do_step(const at::Tensor& velocity, const at::Tensor& sample, int i) override {
    // velocity, sample: [B, C, F, H, W] float32
    const at::Tensor dt = sigma(i + 1) - sigma(i);  // 0-dim float32 CPU
    return sample + dt * velocity;
  }

  void clear_history() override {}
};

}  // namespace

std::unique_ptr<Scheduler> make_euler(int num_steps, double shift) {
  return std::make_unique<EulerScheduler>(num_steps, shift, unipc_schedule(num_steps, shift));
}

}  // namespace gallop::engine::sampling_detail

// Flow-matching samplers for the denoising loop: official Wan2.1 UniPC (default), official DPM++,
// and plain Euler.
//
// Convention (spec/wan21.md 6.1): x_sigma = (1 - sigma) x0 + sigma noise; the model predicts the
// velocity v = noise - x0. A scheduler owns the sigma grid of one run: N model timesteps (integers,
// what the DiT sees) and N+1 float32 sigmas ending in 0. The loop is
//
//   auto sched = make_scheduler(Solver::UniPC, steps, shift);
//   for (int i = 0; i < steps; ++i) {
//     at::Tensor v = dit(x, sched->timesteps()[i]);   // CFG already applied, float32
//     x = sched->step(v, x);                           // x_{i+1}
//   }
//
// Bit-faithfulness: every update repeats the official scheduler's float32 arithmetic with the
// same ATen ops in the same order (scalar factors are 0-dim float32 CPU tensors, each product and
// difference a separate rounded op, the UniC 2x2 system solved by linalg_solve on the sample's
// device). With the same LibTorch build and device, samples are bit-identical to the official
// Python code (checked on CPU by tests/engine/sampling).
//
// The scheduler keeps references to the sample and model outputs of the previous step (the
// multistep history): do not modify a tensor passed to or returned by step() in place before the
// next step.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gallop::engine {

enum class Solver {
  UniPC,  // official FlowUniPCMultistepScheduler: order 2, bh2, UniC corrector (Wan2.1 default)
  DPMpp,  // official FlowDPMSolverMultistepScheduler: DPM-Solver++ 2M midpoint
  Euler,  // x_{i+1} = x_i + (sigma_{i+1} - sigma_i) v_i on the UniPC sigma grid
};

// "unipc", "dpm++" (the official --sample_solver names; "dpmpp" is accepted too), "euler".
// Throws gallop::Error(InvalidArgument) naming the accepted values.
Solver parse_solver(std::string_view name);
const char* solver_name(Solver solver);

// Largest step count accepted (the models were trained on 1000 timesteps).
constexpr int kMaxSamplingSteps = 1000;

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  Solver solver() const { return solver_; }
  int num_steps() const { return num_steps_; }
  double shift() const { return shift_; }
  // Model timesteps t_0..t_{N-1} (trunc(1000 sigma)), what the DiT is called with.
  const std::vector<int64_t>& timesteps() const { return timesteps_; }
  // sigma_0..sigma_N as float32, sigma_N = 0.
  const std::vector<float>& sigmas() const { return sigmas_; }

  // One solver step: velocity v_i and sample x_i (float32, same shape and device, CPU or CUDA;
  // [B, C, F, H, W] in the pipeline) -> x_{i+1}. Advances step_index(). Throws
  // gallop::Error(InvalidArgument) for mismatched tensors and gallop::Error(Internal) when called
  // after the last step.
  at::Tensor step(const at::Tensor& velocity, const at::Tensor& sample);

  // Index of the next step (0..N); N once the run is complete.
  int step_index() const { return step_index_; }
  bool finished() const { return step_index_ >= num_steps_; }
  // Forgets the multistep history and returns to step 0 (same grid).
  void reset();

 protected:
  Scheduler(Solver solver, int num_steps, double shift, std::vector<int64_t> timesteps,
            std::vector<float> sigmas);

  // sigma_i as a 0-dim float32 CPU tensor (a view into the sigma table, like `sigmas[i]`).
  at::Tensor sigma(int i) const { return sigma_table_[i]; }

  // Runs step `index` (state updates included); inputs are already validated.
  virtual at::Tensor do_step(const at::Tensor& velocity, const at::Tensor& sample, int index) = 0;
  // Drops the solver's history.
  virtual void clear_history() = 0;

 private:
  Solver solver_;
  int num_steps_;
  double shift_;
  std::vector<int64_t> timesteps_;
  std::vector<float> sigmas_;
  at::Tensor sigma_table_;  // [N+1] float32 CPU, the same values as sigmas_
  int step_index_ = 0;
  std::optional<at::Device> device_;  // device and shape of the run in progress
  std::vector<int64_t> shape_;
};

// Builds the scheduler of one run. num_steps in [1, kMaxSamplingSteps], shift > 0 and finite;
// otherwise throws gallop::Error(InvalidArgument).
std::unique_ptr<Scheduler> make_scheduler(Solver solver, int num_steps, double shift);

}  // namespace gallop::engine

// Solver names, the step-count / tensor checks shared by every scheduler, and make_scheduler.
#include "engine/sampling/scheduler.h"

#include <cmath>
#include <utility>

#include "engine/core/error.h"
#include "engine/sampling/solvers.h"

namespace gallop::engine {

Solver parse_solver(std::string_view name) {
  if (name == "unipc") return Solver::UniPC;
  if (name == "dpm++" || name == "dpmpp") return Solver::DPMpp;
  if (name == "euler") return Solver::Euler;
  fail(ErrorKind::InvalidArgument, "unknown sampling solver '", name, "' (expected unipc, dpm++ or euler)");
}

const char* solver_name(Solver solver) {
  switch (solver) {
    case Solver::UniPC: return "unipc";
    case Solver::DPMpp: return "dpm++";
    case Solver::Euler: return "euler";
  }
  return "?";
}

Scheduler::Scheduler(Solver solver, int num_steps, double shift, std::vector<int64_t> timesteps,
                     std::vector<float> sigmas)
    : solver_(solver),
      num_steps_(num_steps),
      shift_(shift),
      timesteps_(std::move(timesteps)),
      sigmas_(std::move(sigmas)) {
  GALLOP_CHECK(static_cast<int>(timesteps_.size()) == num_steps_ &&
                   static_cast<int>(sigmas_.size()) == num_steps_ + 1,
               Internal, "scheduler grid has ", timesteps_.size(), " timesteps and ", sigmas_.size(),
               " sigmas for ", num_steps_, " steps");
  sigma_table_ = at::tensor(at::ArrayRef<float>(sigmas_), at::TensorOptions().dtype(at::kFloat));  // [N+1]
}

at::Tensor Scheduler::step(const at::Tensor& velocity, const at::Tensor& sample) {
  GALLOP_CHECK(step_index_ < num_steps_, Internal, solver_name(solver_), " scheduler: step() called after the last of ",
               num_steps_, " steps (call reset() to start a new run)");
  GALLOP_CHECK(velocity.defined() && sample.defined(), InvalidArgument,
               "scheduler step: velocity and sample must be defined tensors");
  GALLOP_CHECK(velocity.scalar_type() == at::kFloat && sample.scalar_type() == at::kFloat, InvalidArgument,
               "scheduler step: velocity and sample must be float32, got ", velocity.scalar_type(), " and ",
               sample.scalar_type());
  GALLOP_CHECK(velocity.sizes().equals(sample.sizes()), InvalidArgument, "scheduler step: velocity shape ",
               velocity.sizes(), " differs from sample shape ", sample.sizes());
  GALLOP_CHECK(velocity.device() == sample.device(), InvalidArgument, "scheduler step: velocity on ",
               velocity.device(), " but sample on ", sample.device());
  if (step_index_ > 0 && device_) {
    GALLOP_CHECK(*device_ == sample.device(), InvalidArgument, "scheduler step: run started on ", *device_,
                 " but step ", step_index_, " got tensors on ", sample.device());
    GALLOP_CHECK(sample.sizes().equals(shape_), InvalidArgument, "scheduler step: run started with shape ",
                 at::IntArrayRef(shape_), " but step ", step_index_, " got ", sample.sizes());
  }
  device_ = sample.device();
  shape_ = sample.sizes().vec();
  at::Tensor next = do_step(velocity, sample, step_index_);
  ++step_index_;
  return next;
}

void Scheduler::reset() {
  clear_history();
  step_index_ = 0;
  device_.reset();
  shape_.clear();
}

std::unique_ptr<Scheduler> make_scheduler(Solver solver, int num_steps, double shift) {
  GALLOP_CHECK(num_steps >= 1 && num_steps <= kMaxSamplingSteps, InvalidArgument,
               "sampling steps must be in [1, ", kMaxSamplingSteps, "], got ", num_steps);
  GALLOP_CHECK(std::isfinite(shift) && shift > 0.0, InvalidArgument,
               "sampling shift must be a positive finite number, got ", shift);
  switch (solver) {
    case Solver::UniPC: return sampling_detail::make_unipc(num_steps, shift);
    case Solver::DPMpp: return sampling_detail::make_dpmpp(num_steps, shift);
    case Solver::Euler: return sampling_detail::make_euler(num_steps, shift);
  }
  fail(ErrorKind::InvalidArgument, "unknown solver value ", static_cast<int>(solver));
}

}  // namespace gallop::engine

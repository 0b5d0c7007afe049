// Scheduler updates, step by step, on CPU.
//
// Compares every x_{i+1} = step(v_i, x_i) of UniPC, DPM++ and Euler (several N and shifts, N = 1
// and 2 included) with the goldens of tools/reference/sampling_golden.py: (1) its Python
// emulation of the official Wan2.1 solvers, (2) the diffusers schedulers fed the same sigmas.
// Inputs x_i, v_i are the golden ones at every step, so each comparison covers one update plus the
// history the scheduler built from the earlier golden inputs.
// Tolerance: float32, relative error (max|diff| / max|ref|) <= 1e-6 against both; against the
// official emulation the samples must also be bit-identical (same ATen CPU kernels, same op order;
// the measured error is 0). Also checks the step-count and argument errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "engine/core/error.h"
#include "engine/sampling/scheduler.h"
#include "tests/engine/sampling/golden_cases.h"
#include "tests/testing/tensor_compare.h"

using gallop::Error;
using gallop::ErrorKind;
using gallop::engine::make_scheduler;
using gallop::engine::Solver;
using gallop::testing::Identical;
using gallop::testing::RelClose;
using gallop::testing::relative_error;

namespace {

constexpr double kRelTol = 1e-6;  // float32 parity bound of this suite

template <typename F>
ErrorKind error_kind_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no gallop::Error thrown";
  return ErrorKind::Internal;
}

at::Tensor small_latent(int64_t seed) {  // [1, 4, 2, 3, 3]
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randn({1, 4, 2, 3, 3}, g, at::kFloat);
}

}  // namespace

TEST(SchedulerStep, MatchesOfficialEmulationAndDiffusers) {
  const auto steps = gallop::testing::sampling_golden("steps.safetensors");
  const auto schedules = gallop::testing::sampling_golden("schedules.safetensors");
  const auto cases = gallop::testing::sampling_step_cases(*steps);
  ASSERT_GE(cases.size(), 9u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto sched = make_scheduler(c.solver, c.steps, c.shift);
    const at::Tensor x = steps->tensor(c.name + ".x");          // [N+1, B, C, F, H, W]
    const at::Tensor v = steps->tensor(c.name + ".v");          // [N, B, C, F, H, W]
    const at::Tensor d = steps->tensor(c.name + ".diffusers");  // [N, B, C, F, H, W]
    ASSERT_EQ(x.size(0), c.steps + 1);
    if (c.solver != Solver::Euler) {  // Euler's grid is UniPC's (checked in sigma_schedule_test)
      const at::Tensor t = schedules->tensor(c.name + ".timesteps");  // [N]
      ASSERT_EQ(sched->timesteps(), std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + c.steps));
    }
    double worst_official = 0, worst_diffusers = 0;
    for (int i = 0; i < c.steps; ++i) {
      SCOPED_TRACE("step " + std::to_string(i));
      ASSERT_EQ(sched->step_index(), i);
      const at::Tensor out = sched->step(v[i], x[i]);  // [B, C, F, H, W]
      EXPECT_TRUE(RelClose(out, x[i + 1], kRelTol));
      EXPECT_TRUE(Identical(out, x[i + 1]));
      EXPECT_TRUE(RelClose(out, d[i], kRelTol));
      worst_official = std::max(worst_official, relative_error(out, x[i + 1]));
      worst_diffusers = std::max(worst_diffusers, relative_error(out, d[i]));
    }
    EXPECT_TRUE(sched->finished());
    std::printf("%-14s max rel err vs official emulation %.3g, vs diffusers %.3g\n", c.name.c_str(),
                worst_official, worst_diffusers);
  }
}

// spec 6.3 / 6.4: with sigma_N = 0 the last update returns exactly the x0 prediction
// x_{N-1} - sigma_{N-1} v_{N-1} of the sample passed in (UniPC's corrector changes the sample the
// predictor starts from, not the x0 prediction). Holds for every N, including N where the official
// UniPC grid repeats t_0 (N >= 251 at shift 5, where the official index lookup would start at 1).
TEST(SchedulerStep, LastStepReturnsTheX0Prediction) {
  for (Solver solver : {Solver::UniPC, Solver::DPMpp}) {
    for (int n : {1, 2, 7, 300}) {
      SCOPED_TRACE(std::string(gallop::engine::solver_name(solver)) + " N=" + std::to_string(n));
      auto sched = make_scheduler(solver, n, 5.0);
      at::Tensor x = small_latent(n);  // [1, 4, 2, 3, 3]
      at::Tensor v;
      at::Tensor x_before_last;
      for (int i = 0; i < n; ++i) {
        v = at::tanh(x * 0.7) + 0.3 * std::cos(0.01 * sched->timesteps()[i]);  // [1, 4, 2, 3, 3]
        x_before_last = x;
        x = sched->step(v, x);
      }
      ASSERT_TRUE(at::isfinite(x).all().item<bool>());
      const at::Tensor sigma_last = at::scalar_tensor(sched->sigmas()[n - 1], at::kFloat);
      EXPECT_TRUE(Identical(x, x_before_last - sigma_last * v));
      EXPECT_EQ(sched->step_index(), n);
    }
  }
}

TEST(SchedulerStep, ResetReplaysTheSameRun) {
  for (Solver solver : {Solver::UniPC, Solver::DPMpp, Solver::Euler}) {
    auto sched = make_scheduler(solver, 5, 3.0);
    auto run = [&] {
      at::Tensor x = small_latent(7);  // [1, 4, 2, 3, 3]
      for (int i = 0; i < 5; ++i) x = sched->step(at::sin(x) - 0.5 * x, x);
      return x;
    };
    const at::Tensor first = run();
    EXPECT_EQ(error_kind_of([&] { sched->step(first, first); }), ErrorKind::Internal);
    sched->reset();
    EXPECT_EQ(sched->step_index(), 0);
    EXPECT_TRUE(Identical(run(), first)) << gallop::engine::solver_name(solver);
  }
}

TEST(SchedulerStep, StepAfterTheLastStepIsAnError) {
  auto sched = make_scheduler(Solver::UniPC, 2, 5.0);
  at::Tensor x = small_latent(1);
  x = sched->step(x, x);
  x = sched->step(x, x);
  try {
    sched->step(x, x);
    FAIL() << "third step of a 2-step run was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Internal);
    EXPECT_NE(std::string(e.what()).find("after the last of 2 steps"), std::string::npos) << e.what();
  }
  EXPECT_EQ(sched->step_index(), 2);
}

TEST(SchedulerStep, RejectsBadConfigurations) {
  for (Solver solver : {Solver::UniPC, Solver::DPMpp, Solver::Euler}) {
    EXPECT_EQ(error_kind_of([&] { make_scheduler(solver, 0, 5.0); }), ErrorKind::InvalidArgument);
    EXPECT_EQ(error_kind_of([&] { make_scheduler(solver, -4, 5.0); }), ErrorKind::InvalidArgument);
    EXPECT_EQ(error_kind_of([&] { make_scheduler(solver, gallop::engine::kMaxSamplingSteps + 1, 5.0); }),
              ErrorKind::InvalidArgument);
    EXPECT_EQ(error_kind_of([&] { make_scheduler(solver, 10, 0.0); }), ErrorKind::InvalidArgument);
    EXPECT_EQ(error_kind_of([&] { make_scheduler(solver, 10, -1.0); }), ErrorKind::InvalidArgument);
    EXPECT_EQ(error_kind_of([&] { make_scheduler(solver, 10, std::nan("")); }), ErrorKind::InvalidArgument);
  }
}

TEST(SchedulerStep, RejectsMismatchedTensors) {
  auto sched = make_scheduler(Solver::DPMpp, 4, 5.0);
  const at::Tensor x = small_latent(3);  // [1, 4, 2, 3, 3]
  EXPECT_EQ(error_kind_of([&] { sched->step(x.to(at::kDouble), x); }), ErrorKind::InvalidArgument);
  EXPECT_EQ(error_kind_of([&] { sched->step(x, x.to(at::kHalf)); }), ErrorKind::InvalidArgument);
  EXPECT_EQ(error_kind_of([&] { sched->step(x.reshape({4, 18}), x); }), ErrorKind::InvalidArgument);
  EXPECT_EQ(error_kind_of([&] { sched->step(at::Tensor(), x); }), ErrorKind::InvalidArgument);
  EXPECT_EQ(sched->step_index(), 0);  // rejected calls do not advance
  const at::Tensor next = sched->step(x, x);
  EXPECT_EQ(error_kind_of([&] { sched->step(next.reshape({4, 18}), next.reshape({4, 18})); }),
            ErrorKind::InvalidArgument);  // shape changed mid-run
  EXPECT_EQ(sched->step_index(), 1);
}

TEST(SchedulerStep, SolverNames) {
  using gallop::engine::parse_solver;
  using gallop::engine::solver_name;
  for (Solver s : {Solver::UniPC, Solver::DPMpp, Solver::Euler}) EXPECT_EQ(parse_solver(solver_name(s)), s);
  EXPECT_EQ(parse_solver("dpmpp"), Solver::DPMpp);
  EXPECT_STREQ(solver_name(Solver::DPMpp), "dpm++");
  EXPECT_EQ(error_kind_of([] { parse_solver("ddim"); }), ErrorKind::InvalidArgument);
  EXPECT_EQ(error_kind_of([] { parse_solver("UniPC"); }), ErrorKind::InvalidArgument);
}

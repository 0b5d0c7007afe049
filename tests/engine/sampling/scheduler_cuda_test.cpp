// Scheduler updates on CUDA tensors (label gpu; skips without a CUDA device).
//
// Compares every step of every golden case (tools/reference/sampling_golden.py, the official
// emulation run on CPU) with the same step run on CUDA from the same inputs. The CUDA path is not
// expected to be bit-identical to the CPU golden: PyTorch divides a CUDA tensor by a CPU scalar as
// a multiplication by its reciprocal, and the UniC 2x2 system is solved by cuSOLVER/MAGMA instead
// of LAPACK (the official code, running on CUDA, does the same). Tolerance: relative error
// (max|diff| / max|ref|) <= 1e-6 in float32; the measured error is printed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "engine/core/error.h"
#include "engine/sampling/scheduler.h"
#include "tests/engine/sampling/golden_cases.h"
#include "tests/testing/tensor_compare.h"

using gallop::engine::make_scheduler;
using gallop::testing::RelClose;
using gallop::testing::relative_error;

TEST(SchedulerCuda, MatchesCpuGoldens) {
  GALLOP_SKIP_IF_NO_CUDA();
  const auto steps = gallop::testing::sampling_golden("steps.safetensors");
  for (const auto& c : gallop::testing::sampling_step_cases(*steps)) {
    SCOPED_TRACE(c.name);
    auto sched = make_scheduler(c.solver, c.steps, c.shift);
    const at::Tensor x = steps->tensor(c.name + ".x").to(at::kCUDA);  // [N+1, B, C, F, H, W]
    const at::Tensor v = steps->tensor(c.name + ".v").to(at::kCUDA);  // [N, B, C, F, H, W]
    double worst = 0;
    for (int i = 0; i < c.steps; ++i) {
      const at::Tensor out = sched->step(v[i], x[i]);  // [B, C, F, H, W] on CUDA
      ASSERT_TRUE(out.is_cuda());
      EXPECT_TRUE(RelClose(out, x[i + 1], 1e-6)) << "step " << i;
      worst = std::max(worst, relative_error(out, x[i + 1]));
    }
    std::printf("%-14s CUDA vs CPU golden: max rel err %.3g\n", c.name.c_str(), worst);
  }
}

TEST(SchedulerCuda, RejectsMixedDevices) {
  GALLOP_SKIP_IF_NO_CUDA();
  auto sched = make_scheduler(gallop::engine::Solver::UniPC, 4, 5.0);
  const at::Tensor x = at::randn({1, 4, 2, 3, 3});  // [1, 4, 2, 3, 3] CPU
  EXPECT_THROW(sched->step(x.to(at::kCUDA), x), gallop::Error);
  const at::Tensor next = sched->step(x, x);  // the run starts on the CPU
  EXPECT_THROW(sched->step(next.to(at::kCUDA), next.to(at::kCUDA)), gallop::Error);
}

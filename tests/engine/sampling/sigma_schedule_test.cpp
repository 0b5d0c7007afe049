// Sigma grids and model timesteps of the schedulers.
//
// Compares: the timesteps against the test vectors of spec/wan21.md 6.7 (exact integers) and the
// spec's sigmas printed to 6 decimals (|diff| <= 5e-7, the rounding of the printout); timesteps
// and sigmas against the golden schedules of tools/reference/sampling_golden.py (the official
// float64 numpy arithmetic emulated in Python). Tolerance: timesteps identical, sigmas within 1 ulp
// of float32 (the measured distance is printed; it is 0).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "engine/sampling/scheduler.h"
#include "engine/sampling/sigma_schedule.h"
#include "tests/engine/sampling/golden_cases.h"

using gallop::engine::make_scheduler;
using gallop::engine::Solver;

namespace {

// Distance in units in the last place between two finite floats of the same sign or zero.
int64_t ulp_distance(float a, float b) {
  auto ordered = [](float f) {
    int32_t i;
    std::memcpy(&i, &f, sizeof i);
    return i < 0 ? int64_t{INT32_MIN} - i : int64_t{i};
  };
  return std::llabs(ordered(a) - ordered(b));
}

const std::vector<int64_t> kSpecUniPCN50S5 = {
    999, 995, 991, 987, 982, 978, 973, 968, 963, 957, 952, 946, 940, 934, 927, 920, 913,
    906, 898, 890, 882, 873, 863, 854, 843, 833, 821, 809, 796, 783, 768, 753, 737, 720,
    701, 681, 660, 636, 611, 584, 555, 522, 487, 448, 405, 356, 302, 241, 172, 92};
const std::vector<int64_t> kSpecUniPCN40S5 = {
    999, 994, 989, 983, 978, 972, 965, 959, 952, 944, 937, 929, 920, 911, 902, 892, 882, 870, 859, 846,
    833, 818, 803, 786, 768, 749, 728, 706, 681, 654, 624, 591, 555, 514, 468, 416, 356, 288, 208, 113};
const std::vector<int64_t> kSpecUniPCN40S3 = {
    999, 991, 982, 973, 963, 954, 944, 933, 922, 911, 899, 887, 874, 861, 847, 832, 817, 801, 785, 767,
    749, 730, 710, 688, 666, 642, 617, 590, 562, 531, 499, 465, 428, 388, 345, 299, 249, 195, 136, 71};

}  // namespace

TEST(SigmaSchedule, UniPCMatchesSpecVectors) {
  EXPECT_EQ(make_scheduler(Solver::UniPC, 50, 5.0)->timesteps(), kSpecUniPCN50S5);
  EXPECT_EQ(make_scheduler(Solver::UniPC, 40, 5.0)->timesteps(), kSpecUniPCN40S5);
  EXPECT_EQ(make_scheduler(Solver::UniPC, 40, 3.0)->timesteps(), kSpecUniPCN40S3);

  const auto s = make_scheduler(Solver::UniPC, 50, 5.0)->sigmas();
  ASSERT_EQ(s.size(), 51u);
  EXPECT_NEAR(s[0], 0.999800, 5e-7);
  EXPECT_NEAR(s[1], 0.995732, 5e-7);
  EXPECT_NEAR(s[2], 0.991530, 5e-7);
  EXPECT_NEAR(s[3], 0.987187, 5e-7);
  EXPECT_NEAR(s[49], 0.092507, 5e-7);
  EXPECT_EQ(s[50], 0.0f);
  // sigma_max is the float32 training sigma 1 - 1/1000, not 0.999.
  EXPECT_EQ(gallop::engine::unipc_sigma_max(), static_cast<double>(0.999f));
}

TEST(SigmaSchedule, DPMppMatchesSpecVectors) {
  const auto sched = make_scheduler(Solver::DPMpp, 50, 5.0);
  const std::vector<int64_t> head(sched->timesteps().begin(), sched->timesteps().begin() + 6);
  EXPECT_EQ(head, (std::vector<int64_t>{1000, 995, 991, 987, 982, 978}));
  EXPECT_EQ(sched->timesteps().back(), 92);
  EXPECT_EQ(sched->sigmas().front(), 1.0f);  // exactly 1: lambda_0 = -inf
  EXPECT_EQ(sched->sigmas().back(), 0.0f);
}

TEST(SigmaSchedule, EulerUsesTheUniPCGrid) {
  for (auto [n, shift] : {std::pair{6, 5.0}, std::pair{50, 5.0}, std::pair{40, 3.0}}) {
    const auto euler = make_scheduler(Solver::Euler, n, shift);
    const auto unipc = make_scheduler(Solver::UniPC, n, shift);
    EXPECT_EQ(euler->timesteps(), unipc->timesteps());
    EXPECT_EQ(euler->sigmas(), unipc->sigmas());
  }
}

TEST(SigmaSchedule, MatchesGoldenSchedules) {
  const auto file = gallop::testing::sampling_golden("schedules.safetensors");
  int checked = 0;
  int64_t max_ulp = 0;
  for (const auto& entry : file->entries()) {
    const std::string suffix = ".timesteps";
    if (entry.name.size() <= suffix.size() ||
        entry.name.compare(entry.name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    const std::string name = entry.name.substr(0, entry.name.size() - suffix.size());
    char solver[16] = {};
    int n = 0;
    double shift = 0;
    ASSERT_EQ(std::sscanf(name.c_str(), "%15[a-z]_n%d_s%lf", solver, &n, &shift), 3) << name;
    const auto sched = make_scheduler(gallop::engine::parse_solver(solver), n, shift);

    const at::Tensor t = file->tensor(name + ".timesteps");  // [N] int64
    const at::Tensor s = file->tensor(name + ".sigmas");     // [N+1] float32
    ASSERT_EQ(t.numel(), n) << name;
    ASSERT_EQ(s.numel(), n + 1) << name;
    const std::vector<int64_t> want_t(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + n);
    EXPECT_EQ(sched->timesteps(), want_t) << name;
    for (int i = 0; i <= n; ++i) {
      const int64_t d = ulp_distance(sched->sigmas()[i], s.data_ptr<float>()[i]);
      EXPECT_LE(d, 1) << name << " sigma " << i;
      max_ulp = std::max(max_ulp, d);
    }
    ++checked;
  }
  EXPECT_GE(checked, 10);
  std::printf("golden schedules checked: %d, max sigma distance: %lld ulp\n", checked,
              static_cast<long long>(max_ulp));
}

TEST(SigmaSchedule, NumpyLinspaceEdges) {
  using gallop::engine::numpy_linspace;
  EXPECT_EQ(numpy_linspace(0.5, 0.0, 1), std::vector<double>{0.5});
  const auto y = numpy_linspace(1.0, 0.0, 5);
  EXPECT_EQ(y, (std::vector<double>{1.0, 0.75, 0.5, 0.25, 0.0}));
  // The endpoint is stop itself, not start + (num - 1) * step.
  EXPECT_EQ(numpy_linspace(0.1, 0.7, 7).back(), 0.7);
}

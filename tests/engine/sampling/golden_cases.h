// Reads tests/data/sampling/*.safetensors (written by tools/reference/sampling_golden.py): the
// per-step cases listed in the steps file's metadata, and schedules by name.
#pragma once

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "engine/sampling/scheduler.h"
#include "engine/weights/safetensors.h"
#include "tests/testing/test_env.h"

namespace gallop::testing {

struct SamplingCase {
  engine::Solver solver;
  int steps;
  double shift;
  std::string name;  // <solver>_n<N>_s<shift>, the key prefix in the golden files
};

// "<solver>_n<N>_s<shift %g>", the naming of the golden script.
inline std::string sampling_case_name(const std::string& solver, int steps, double shift) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s_n%d_s%g", solver.c_str(), steps, shift);
  return buf;
}

inline std::shared_ptr<const engine::SafetensorsFile> sampling_golden(const std::string& file) {
  return engine::SafetensorsFile::open(data_path("sampling/" + file));
}

inline std::vector<SamplingCase> sampling_step_cases(const engine::SafetensorsFile& steps) {
  std::vector<SamplingCase> cases;
  for (const auto& c : nlohmann::json::parse(steps.metadata().at("cases"))) {
    const std::string solver = c.at("solver").get<std::string>();
    const int n = c.at("steps").get<int>();
    const double shift = c.at("shift").get<double>();
    cases.push_back({engine::parse_solver(solver), n, shift, sampling_case_name(solver, n, shift)});
  }
  return cases;
}

}  // namespace gallop::testing

// Options shared by the subcommands that run a model (generate, animate, bench): one place that
// declares each flag, its help text with the default, and the typed field it sets.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "engine/pipeline/request.h"

namespace gallop::tools {

struct RunOptions {
  std::string device = "auto";
  std::string dtype;  // empty: bf16 on CUDA, fp32 on the CPU
  std::string attention = "auto";
  std::string text_encoder_device;  // empty: the same as --device
  bool quiet = false;
};

// attention_option: declare --attention (bench declares its own list instead).
void add_run_options(CLI::App& cmd, RunOptions& o, bool attention_option = true);

// Resolves the strings into a RunPolicy. Throws gallop::Error(InvalidArgument).
engine::RunPolicy make_run_policy(const RunOptions& o);

}  // namespace gallop::tools

// Where tests find their data and the gallop binary, and how GPU tests skip.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace gallop::testing {

// tests/data/<relative>
std::filesystem::path data_path(const std::string& relative);
// The built gallop program.
std::filesystem::path gallop_binary();
// A fresh empty directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Runs a command through /bin/sh, capturing stdout and stderr separately.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CommandResult run_command(const std::string& command);

// Why no GPU test can run here ("" when a CUDA device is usable).
std::string cuda_unavailable_reason();

}  // namespace gallop::testing

// Skips the current test with a message that says why, when no CUDA GPU is usable.
#define GALLOP_SKIP_IF_NO_CUDA()                                                   \
  do {                                                                             \
    const std::string _why = ::gallop::testing::cuda_unavailable_reason();         \
    if (!_why.empty()) GTEST_SKIP() << "GPU test skipped: " << _why;               \
  } while (0)

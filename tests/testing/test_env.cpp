#include "tests/testing/test_env.h"

#include <ATen/Context.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace gallop::testing {

namespace fs = std::filesystem;

fs::path data_path(const std::string& relative) { return fs::path(GALLOP_TEST_DATA_DIR) / relative; }
fs::path gallop_binary() { return fs::path(GALLOP_BINARY); }

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = fs::temp_directory_path() /
          ("gallop-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

CommandResult run_command(const std::string& command) {
  TempDir dir;
  const fs::path out = dir / "stdout";
  const fs::path err = dir / "stderr";
  const std::string full = command + " >'" + out.string() + "' 2>'" + err.string() + "' </dev/null";
  CommandResult r;
  int status = std::system(full.c_str());
  r.exit_code = (status != -1 && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  if (status != -1 && WIFSIGNALED(status)) r.exit_code = 128 + WTERMSIG(status);
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

std::string cuda_unavailable_reason() {
  if (!at::hasCUDA()) return "this build of LibTorch/gallop has no CUDA, or no CUDA GPU is visible";
  return "";
}

}  // namespace gallop::testing

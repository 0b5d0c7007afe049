// `gallop bench` through the real binary, on the built-in tiny model on the CPU: exit 0, the DiT
// table on stdout, and a JSON report whose --breakdown lists every step of the forward pass once
// per block (the embeddings and the head once), with step times that add up to the breakdown's
// own total (they are the differences of consecutive timestamps) and a total in the range of the
// timed forward passes; with -q nothing goes to stderr. Bad options exit 2 with nothing on stdout.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/pipeline/tiny_model.h"
#include "tests/testing/test_env.h"

using gallop::testing::CommandResult;
using gallop::testing::gallop_binary;
using gallop::testing::run_command;
using gallop::testing::TempDir;

namespace {

std::string q(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

CommandResult bench(const std::string& args) {
  return run_command("timeout 300 " + q(gallop_binary()) + " bench --model tiny --device cpu -q " + args);
}

TEST(BenchCommand, BreakdownCoversEveryStepOfTheForward) {
  TempDir dir;
  const auto json_path = dir.path() / "bench.json";
  const CommandResult r = bench("--frames 5 --repeat 2 --no-vae --breakdown --json " + q(json_path));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "") << "-q: no progress output";
  EXPECT_NE(r.out.find("tiny DiT"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("breakdown of one forward"), std::string::npos) << r.out;

  std::ifstream in(json_path);
  ASSERT_TRUE(in.good());
  const auto report = nlohmann::json::parse(in);
  ASSERT_EQ(report["dit"].size(), 1u);
  const auto& row = report["dit"][0];
  ASSERT_TRUE(row.contains("breakdown")) << row.dump();
  const auto& b = row["breakdown"];
  const int64_t layers = gallop::engine::tiny_model_config().dit.num_layers;
  const std::map<std::string, int64_t> expected_calls = {
      {"embed", 1},
      {"norm1+modulate", layers},
      {"self q/k/v linear", layers},
      {"self q/k norm+rope", layers},
      {"self attention", layers},
      {"self o linear", layers},
      {"self gated residual", layers},
      {"norm3", layers},
      {"cross q/k/v linear", layers},
      {"cross q/k norm", layers},
      {"cross attention", layers},
      {"cross o linear", layers},
      {"cross residual", layers},
      {"norm2+modulate", layers},
      {"ffn linear 1", layers},
      {"ffn gelu", layers},
      {"ffn linear 2", layers},
      {"ffn gated residual", layers},
      {"head", 1},
  };
  ASSERT_EQ(b["steps"].size(), expected_calls.size()) << b.dump(1);
  double sum = 0.0;
  for (const auto& s : b["steps"]) {
    const std::string step = s["step"];
    ASSERT_TRUE(expected_calls.count(step)) << "unexpected step " << step;
    EXPECT_EQ(s["calls"].get<int64_t>(), expected_calls.at(step)) << step;
    EXPECT_GE(s["ms"].get<double>(), 0.0) << step;
    sum += s["ms"].get<double>();
  }
  EXPECT_EQ(b["steps"][0]["step"], "embed");
  EXPECT_EQ(b["steps"][b["steps"].size() - 1]["step"], "head");
  const double total = b["total_ms"];
  EXPECT_NEAR(sum, total, 1e-6 * total + 1e-9);
  // The breakdown's pass is one more forward: within a wide factor of the timed ones. A loaded CI
  // machine varies (the tiny model's timed forwards once took 270 ms against the breakdown's 12.8
  // while other tests ran beside it); a wrong unit, seconds for milliseconds, is off by 1000.
  const double timed_ms = 1000.0 * row["seconds_per_forward"].get<double>();
  EXPECT_GT(total, timed_ms / 100) << "timed forward " << timed_ms << " ms";
  EXPECT_LT(total, timed_ms * 100) << "timed forward " << timed_ms << " ms";
}

TEST(BenchCommand, BadOptionsAreUsageErrors) {
  for (const std::string args : {"--frames 6", "--repeat 0", "--attention nonsense", "--breakdown=maybe"}) {
    SCOPED_TRACE(args);
    const CommandResult r = bench("--no-vae " + args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_FALSE(r.err.empty());
  }
}

}  // namespace

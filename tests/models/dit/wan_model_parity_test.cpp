// WanModel parity against diffusers WanTransformer3DModel (tools/reference/dit_golden.py, with the
// official float64 timestep sinusoid swapped in), tiny T2V / I2V / FLF2V configs with random
// weights, latent grids 2x4x6 and the odd 3x6x10, timesteps 999 / 700 / 500, trimmed text
// contexts padded here with pad_text_context. Goldens: tests/data/dit/{t2v,i2v,flf2v}_tiny.safetensors.
// Tolerances:
//   * fp32 path (compute kFloat): relative error (max|a-b| / max|b|) <= 1e-4 against the fp32
//     reference. Remaining differences are the RoPE arithmetic (complex128 here, fp32 in
//     diffusers) and summation order, ~1e-6.
//   * bf16 path (the official dtype map): max-abs error against the fp32 reference at most
//     2 x that of diffusers' own bf16 run (the "plain bf16" baseline) + 1e-3 · max|reference|.
//   * pre-cast bf16 weights (cast_weights) give bit-identical results to fp32-stored weights.
//   * on the host that made the goldens (same torch version and CPU model), the bf16 path is
//     bit-identical to the official dtype map restated in Python under CPU autocast
//     (out_bf16_official); skipped elsewhere, where GEMM kernels may round differently.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <torch/version.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "models/dit/wan_model.h"
#include "tests/models/dit/dit_golden.h"
#include "tests/testing/tensor_compare.h"

using gallop::testing::dit::Golden;
using gallop::testing::dit::Inputs;
using gallop::testing::dit::load_model;
using gallop::testing::dit::open_golden;
using gallop::testing::dit::run;

namespace {

Inputs inputs(const Golden& g, const std::string& c) { return gallop::testing::dit::load_inputs(g, c); }

// The CPU's "model name" from /proc/cpuinfo ("unknown" elsewhere), as dit_golden.py records it.
std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) break;
    const auto begin = line.find_first_not_of(" \t", colon + 1);
    const auto end = line.find_last_not_of(" \t\r");
    return begin == std::string::npos ? "" : line.substr(begin, end - begin + 1);
  }
  return "unknown";
}

void check_golden(const std::string& name) {
  const auto g = open_golden(name);
  ASSERT_FALSE(g.cases.empty());
  auto model = load_model(g);
  auto model_bf16 = load_model(g);
  model_bf16->cast_weights(at::kBFloat16);
  for (const auto& c : g.cases) {
    SCOPED_TRACE(name + " / " + c);
    const auto in = inputs(g, c);
    const auto ref32 = g.file->tensor(c + ".out_fp32");
    const auto ref16 = g.file->tensor(c + ".out_bf16");

    const auto out32 = run(model, in, at::kFloat);
    ASSERT_EQ(out32.scalar_type(), at::kFloat);
    EXPECT_REL_CLOSE(out32, ref32, 1e-4);

    const auto out16 = run(model, in, at::kBFloat16);
    ASSERT_EQ(out16.scalar_type(), at::kFloat);
    const double scale = ref32.abs().max().item<double>();
    EXPECT_TRUE(gallop::testing::WithinBaselineError(out16, ref16, ref32, 2.0, 1e-3 * scale));
    EXPECT_TRUE(gallop::testing::Identical(run(model_bf16, in, at::kBFloat16), out16));

    std::cout << "[ measured ] " << name << "/" << c << ": fp32 rel " << gallop::testing::relative_error(out32, ref32)
              << "; bf16 max-abs " << gallop::testing::max_abs_error(out16, ref32) << " (rel "
              << gallop::testing::relative_error(out16, ref32) << ") vs diffusers bf16 "
              << gallop::testing::max_abs_error(ref16, ref32) << " (rel "
              << gallop::testing::relative_error(ref16, ref32)
              << "); vs the official-map emulation: rel "
              << gallop::testing::relative_error(out16, g.file->tensor(c + ".out_bf16_official")) << "\n";
  }
}

}  // namespace

TEST(WanModelParity, T2V) { check_golden("t2v_tiny.safetensors"); }
TEST(WanModelParity, I2V) { check_golden("i2v_tiny.safetensors"); }
TEST(WanModelParity, FLF2V) { check_golden("flf2v_tiny.safetensors"); }

TEST(WanModelParity, Bf16IsBitExactWithTheOfficialMapOnTheGoldenHost) {
  // out_bf16_official restates the official dtype map under CPU autocast (dit_golden.py). With the
  // same torch build on the same CPU model both run the same ATen kernels on the same values, so
  // every element must agree; elsewhere GEMM kernels may round differently and the check is skipped.
  const std::string here = nlohmann::json{{"torch", std::to_string(TORCH_VERSION_MAJOR) + "." +
                                                         std::to_string(TORCH_VERSION_MINOR) + "." +
                                                         std::to_string(TORCH_VERSION_PATCH)},
                                          {"cpu_model", cpu_model()}}
                               .dump();
  for (const auto& name : gallop::testing::dit::golden_names()) {
    const auto g = open_golden(name);
    const std::string made = nlohmann::json::parse(g.file->metadata().at("golden_host")).dump();
    if (made != here) GTEST_SKIP() << "goldens made on " << made << ", this host is " << here;
    auto model = load_model(g);
    for (const auto& c : g.cases) {
      SCOPED_TRACE(name + " / " + c);
      EXPECT_TRUE(gallop::testing::Identical(run(model, inputs(g, c), at::kBFloat16),
                                             g.file->tensor(c + ".out_bf16_official")));
    }
  }
}

TEST(WanModelParity, BatchEqualsSamplesRunAlone) {
  // Batch members do not interact: sample 1 of the batched T2V case equals a batch of one.
  const auto g = open_golden("t2v_tiny.safetensors");
  auto model = load_model(g);
  const auto in = inputs(g, "grid_2x4x6");
  ASSERT_EQ(in.x.size(0), 2);
  const auto both = run(model, in, at::kFloat);
  Inputs one{in.x.narrow(0, 1, 1), in.t.narrow(0, 1, 1), in.context.narrow(0, 1, 1), {}, {}};
  EXPECT_REL_CLOSE(run(model, one, at::kFloat), both.narrow(0, 1, 1), 1e-6);
}

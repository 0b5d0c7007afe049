// umT5 encoder parity against HF transformers' UMT5EncoderModel (eager attention), goldens from
// tools/reference/umt5_golden.py (tests/data/text_encoder/tiny_umt5.safetensors: tiny config,
// random bf16-representable weights under the official keys; cases "short" L=64 and "long" L=200,
// each two prompts of different lengths, distances reaching every bucket).
//
// Tolerances:
//  * fp32: relative error (max|a-b| / max|ref|) <= 1e-4, separately on the real (mask = 1) rows and
//    on the pad rows. Pad rows are compared too: the official code and HF both compute queries at
//    pad positions (only keys are masked), and so does gallop; the caller discards them later.
//  * bf16 (the official precision map): max error against the fp32 reference at most 2x the error of
//    the reference's own bf16 run (all weights bf16, as the official model) + atol 1e-6, on real rows.
//    The distance to the reference's bf16 output is printed for information.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <string>

#include "engine/weights/safetensors.h"
#include "models/text_encoder/umt5.h"
#include "tests/testing/module_io.h"
#include "tests/testing/tensor_compare.h"
#include "tests/testing/test_env.h"

using gallop::engine::SafetensorsFile;
using gallop::models::text_encoder::UMT5Config;
using gallop::models::text_encoder::UMT5Encoder;
using gallop::testing::max_abs_error;
using gallop::testing::relative_error;
using gallop::testing::RelClose;
using gallop::testing::WithinBaselineError;

namespace {

constexpr double kFp32Rtol = 1e-4;
constexpr double kBf16Factor = 2.0;
constexpr double kBf16Atol = 1e-6;

class UMT5Parity : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    file_ = SafetensorsFile::open(gallop::testing::data_path("text_encoder/tiny_umt5.safetensors"));
    config_ = UMT5Config::from_hf_json(nlohmann::json::parse(file_->metadata().at("hf_config")));
  }
  static void TearDownTestSuite() { file_.reset(); }

  UMT5Encoder load(at::ScalarType dtype) const {
    UMT5Encoder m(config_, at::TensorOptions().dtype(dtype));
    gallop::testing::load_parameters(*m, *file_);
    return m;
  }
  at::Tensor golden(const std::string& what) const { return file_->tensor(GetParam() + "." + what); }

  // Rows [b, :len_b] (real) or [b, len_b:] (pad) of every prompt, concatenated: [N, d]
  at::Tensor rows(const at::Tensor& out, bool real) const {
    const at::Tensor lengths = golden("mask").sum(1);  // [B]
    std::vector<at::Tensor> parts;
    for (int64_t b = 0; b < out.size(0); ++b) {
      const int64_t n = lengths[b].item<int64_t>();
      parts.push_back(real ? out[b].narrow(0, 0, n) : out[b].narrow(0, n, out.size(1) - n));
    }
    return at::cat(parts, 0);
  }

  static std::shared_ptr<const SafetensorsFile> file_;
  static UMT5Config config_;
};

std::shared_ptr<const SafetensorsFile> UMT5Parity::file_;
UMT5Config UMT5Parity::config_;

TEST_P(UMT5Parity, Fp32MatchesReference) {
  UMT5Encoder m = load(at::kFloat);
  const at::Tensor out = m->forward(golden("ids"), golden("mask"), at::kFloat);  // [B, L, d]
  const at::Tensor ref = golden("out_fp32");                                     // [B, L, d]
  ASSERT_EQ(out.sizes(), ref.sizes());
  ASSERT_EQ(out.scalar_type(), at::kFloat);
  EXPECT_TRUE(RelClose(rows(out, true), rows(ref, true), kFp32Rtol)) << "real rows";
  ASSERT_GT(rows(ref, false).numel(), 0) << "every case pads at least one prompt";
  EXPECT_TRUE(RelClose(rows(out, false), rows(ref, false), kFp32Rtol)) << "pad rows";
  std::cout << "[" << GetParam() << "] fp32 relative error: real rows " << relative_error(rows(out, true), rows(ref, true))
            << ", pad rows " << relative_error(rows(out, false), rows(ref, false)) << "\n";
}

TEST_P(UMT5Parity, Bf16WithinReferenceBf16Error) {
  UMT5Encoder m = load(at::kFloat);
  m->cast_weights_for_compute(at::kBFloat16);  // exact: the golden weights are bf16 values
  const at::Tensor out = m->forward(golden("ids"), golden("mask"), at::kBFloat16);  // [B, L, d]
  ASSERT_EQ(out.scalar_type(), at::kBFloat16);
  const at::Tensor ref32 = rows(golden("out_fp32"), true);
  const at::Tensor ref16 = rows(golden("out_bf16"), true);
  const at::Tensor ours = rows(out, true);
  EXPECT_TRUE(WithinBaselineError(ours, ref16, ref32, kBf16Factor, kBf16Atol));
  std::cout << "[" << GetParam() << "] bf16 max error vs fp32 reference: ours " << max_abs_error(ours, ref32)
            << ", reference bf16 " << max_abs_error(ref16, ref32) << " (scale " << ref32.abs().max().item<double>()
            << "); ours vs reference bf16 " << max_abs_error(ours, ref16) << "\n";
}

TEST_P(UMT5Parity, Fp32FromBf16Weights) {
  // bf16-stored weights run in fp32 are cast per use: same numbers as fp32-stored weights.
  UMT5Encoder m = load(at::kBFloat16);
  const at::Tensor out = m->forward(golden("ids"), golden("mask"), at::kFloat);
  EXPECT_TRUE(RelClose(rows(out, true), rows(golden("out_fp32"), true), kFp32Rtol));
}

INSTANTIATE_TEST_SUITE_P(Cases, UMT5Parity, ::testing::Values("short", "long"));

}  // namespace

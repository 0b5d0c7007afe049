// CPU tests of the attention entry point.
//
// Compares attention_reference (fp32 ATen) with the float64 golden of the official formula
// (tools/reference/kernels_golden.py: softmax(q·kᵀ·scale)·v with keys past k_lens masked):
// relative error <= 1e-6, which fp32 matmuls over 64-wide dot products meet with a wide margin.
// Also checks that every backend on the CPU runs the reference bit for bit, the backend names,
// and the `auto` rule (attention_select.h) against the measured table (attention_tuning.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "engine/weights/safetensors.h"
#include "kernels/attention/attention.h"
#include "kernels/attention/attention_select.h"
#include "kernels/attention/attention_tuning.h"
#include "tests/testing/tensor_compare.h"
#include "tests/testing/test_env.h"

namespace gallop::kernels {
namespace {

using ::gallop::testing::Identical;

std::shared_ptr<const engine::SafetensorsFile> goldens() {
  static auto file = engine::SafetensorsFile::open(testing::data_path("kernels/kernels.safetensors"));
  return file;
}

TEST(AttentionReference, MatchesOfficialFormulaWithPaddedKeys) {
  auto g = goldens();
  const auto q = g->tensor("attention.q");  // [2, 19, 3, 64]
  const auto k = g->tensor("attention.k");  // [2, 23, 3, 64]
  const auto v = g->tensor("attention.v");
  const auto lens = g->tensor("attention.k_lens");  // [2] = {23, 9}
  const auto out = attention_reference(q, k, v, lens, 1.0 / 8.0);
  EXPECT_REL_CLOSE(out, g->tensor("attention.out"), 1e-6);
  // The masked keys must not matter: changing them leaves the second sample unchanged.
  auto k2 = k.clone(), v2 = v.clone();
  k2[1].slice(0, 9).fill_(100.f);
  v2[1].slice(0, 9).fill_(-100.f);
  EXPECT_TRUE(Identical(attention_reference(q, k2, v2, lens, 1.0 / 8.0)[1], out[1]));
}

TEST(AttentionDispatch, EveryBackendRunsTheReferenceOnCpu) {
  auto g = goldens();
  const auto q = g->tensor("attention.q"), k = g->tensor("attention.k"), v = g->tensor("attention.v");
  const auto lens = g->tensor("attention.k_lens");
  const auto ref = attention_reference(q, k, v, lens, 1.0 / 8.0);
  for (auto b : {AttentionBackend::Auto, AttentionBackend::Reference, AttentionBackend::Sdpa, AttentionBackend::Cudnn,
                 AttentionBackend::Flash, AttentionBackend::Gallop}) {
    SCOPED_TRACE(attention_backend_name(b));
    AttentionOptions opts;
    opts.backend = b;
    EXPECT_TRUE(Identical(attention(q, k, v, lens, opts), ref));
    EXPECT_EQ(attention_implementation(q, k, v, lens, opts), "reference");
  }
}

TEST(AttentionDispatch, DefaultScaleIsInverseSqrtHeadDim) {
  auto g = goldens();
  const auto q = g->tensor("attention.q"), k = g->tensor("attention.k"), v = g->tensor("attention.v");
  EXPECT_TRUE(Identical(attention(q, k, v), attention_reference(q, k, v, {}, 1.0 / 8.0)));
}

TEST(AttentionDispatch, RejectsMismatchedShapes) {
  auto q = at::randn({1, 4, 2, 64});
  auto k = at::randn({1, 5, 3, 64});
  EXPECT_THROW(attention(q, k, k), c10::Error);
  EXPECT_THROW(attention(q, q, q, at::ones({2}, at::kLong)), c10::Error);
}

TEST(AttentionDispatch, BackendNamesRoundTrip) {
  for (auto b : {AttentionBackend::Auto, AttentionBackend::Reference, AttentionBackend::Sdpa, AttentionBackend::Cudnn,
                 AttentionBackend::Flash, AttentionBackend::Gallop})
    EXPECT_EQ(parse_attention_backend(attention_backend_name(b)), b);
  EXPECT_THROW(parse_attention_backend("fast"), std::invalid_argument);
}

TEST(AttentionDispatch, KernelNamesParseToGallopWithThatKernel) {
  for (auto b : {AttentionBackend::Auto, AttentionBackend::Reference, AttentionBackend::Sdpa, AttentionBackend::Cudnn,
                 AttentionBackend::Flash, AttentionBackend::Gallop}) {
    const auto o = parse_attention_options(attention_backend_name(b));
    EXPECT_EQ(o.backend, b);
    EXPECT_FALSE(o.gallop_kernel.has_value());
    EXPECT_EQ(attention_options_name(o), attention_backend_name(b));
  }
  for (auto kernel : attn::kAllGallopKernels) {
    const auto o = parse_attention_options(gallop_kernel_name(kernel));
    EXPECT_EQ(o.backend, AttentionBackend::Gallop);
    ASSERT_TRUE(o.gallop_kernel.has_value());
    EXPECT_EQ(*o.gallop_kernel, kernel);
    EXPECT_EQ(attention_options_name(o), gallop_kernel_name(kernel));
  }
  // The list in help and error texts names every kernel, each once.
  const std::string names = gallop_kernel_names() + ", ";
  size_t listed = 0;
  for (auto kernel : attn::kAllGallopKernels) {
    const std::string entry = std::string(gallop_kernel_name(kernel)) + ", ";
    const size_t at = names.find(entry);
    EXPECT_TRUE(at != std::string::npos && (at == 0 || names.compare(at - 2, 2, ", ") == 0)) << entry << names;
    ++listed;
  }
  EXPECT_EQ(static_cast<size_t>(std::count(names.begin(), names.end(), ',')), listed) << names;
  try {
    parse_attention_options("gallop-sm91");
    ADD_FAILURE() << "an unknown name was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(gallop_kernel_names()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("gallop-sm90-ws-p2-c2-s3"), std::string::npos) << e.what();
  }
}

TEST(AttentionDispatch, AGallopKernelThatDoesNotApplyFallsBackToTheReferenceOnCpu) {
  // On CPU tensors every backend is the reference; naming a kernel changes nothing there.
  auto q = at::randn({1, 9, 2, 64});
  AttentionOptions o = parse_attention_options("gallop-sm90-ws-p2");
  EXPECT_EQ(attention_implementation(q, q, q, {}, o), "reference");
  EXPECT_TRUE(Identical(attention(q, q, q, {}, o), attention_reference(q, q, q, {}, 0.125)));
}

TEST(AttentionDispatch, GallopKernelsNeedCudaTensors) {
  auto q = at::randn({1, 8, 2, 64}).to(at::kBFloat16);
  EXPECT_THROW(attention_gallop(q, q, q, {}, 0.125, attn::GallopKernel::kSm80), std::invalid_argument);
  if (!at::hasCUDA()) {
    for (auto kernel : attn::kAllGallopKernels)
      EXPECT_FALSE(gallop_kernel_available(kernel, at::kBFloat16, 128)) << gallop_kernel_name(kernel);
  }
}

TEST(AttentionSelect, DefaultsToCudnnForHalfTypesOnAmpereAndLater) {
  const AttentionDevice h100{"NVIDIA H100 80GB HBM3", 9, 0};
  const AttentionDevice a100{"NVIDIA A100-SXM4-80GB", 8, 0};
  const AttentionDevice t4{"Tesla T4", 7, 5};
  // With no measured row for these shapes, `auto` is cuDNN for bf16/fp16 and ATen's SDPA otherwise.
  EXPECT_EQ(select_attention_backend(a100, at::kBFloat16, 128, 32760), AttentionBackend::Cudnn);
  EXPECT_EQ(select_attention_backend(a100, at::kHalf, 64, 512), AttentionBackend::Cudnn);
  EXPECT_EQ(select_attention_backend(h100, at::kFloat, 128, 32760), AttentionBackend::Sdpa);
  EXPECT_EQ(select_attention_backend(t4, at::kHalf, 128, 32760), AttentionBackend::Sdpa);
}

TEST(AttentionSelect, ARowCanNameTheGallopKernel) {
  // A made-up table (not measurements): 32k keys and up on H100 bf16 D=128 run the warp-specialized
  // kernel with 144-key blocks, shorter key ranges the tile table's Hopper kernel.
  const AttentionTuningRow rows[] = {
      {"H100", 9, 0, "bf16", 128, 32768, 1 << 20, AttentionBackend::Gallop, "gallop-sm90-ws-p2-n144", 700, 600, "test"},
      {"H100", 9, 0, "bf16", 128, 1, 32767, AttentionBackend::Gallop, "", 650, 600, "test"},
  };
  const AttentionDevice h100{"NVIDIA H100 80GB HBM3", 9, 0};
  auto o = select_attention_options(h100, at::kBFloat16, 128, 75600, rows, 2);
  EXPECT_EQ(o.backend, AttentionBackend::Gallop);
  ASSERT_TRUE(o.gallop_kernel.has_value());
  EXPECT_EQ(*o.gallop_kernel, attn::GallopKernel::kSm90WsTwoP144);
  o = select_attention_options(h100, at::kBFloat16, 128, 512, rows, 2);
  EXPECT_EQ(o.backend, AttentionBackend::Gallop);
  EXPECT_FALSE(o.gallop_kernel.has_value());
  o = select_attention_options(h100, at::kHalf, 128, 75600, rows, 2);  // no fp16 row
  EXPECT_EQ(o.backend, AttentionBackend::Cudnn);
  EXPECT_FALSE(o.gallop_kernel.has_value());
}

TEST(AttentionSelect, RowsMatchTheModelAsAWholeWord) {
  const AttentionTuningRow rows[] = {
      {"H200", 9, 0, "bf16", 128, 1, 1 << 20, AttentionBackend::Gallop, "gallop-sm90-ws-p2", 650, 560, "test"},
  };
  for (const char* name : {"NVIDIA H200", "NVIDIA H200 NVL", "H200"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(select_attention_options({name, 9, 0}, at::kBFloat16, 128, 32760, rows, 1).backend,
              AttentionBackend::Gallop);
  }
  for (const char* name : {"NVIDIA GH200 480GB", "NVIDIA H2000", "NVIDIA H20"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(select_attention_options({name, 9, 0}, at::kBFloat16, 128, 32760, rows, 1).backend,
              AttentionBackend::Cudnn);
  }
}

TEST(AttentionSelect, MeasuredRowsWinOnlyWhereTheyApply) {
  for (const auto& row : kAttentionTuning) {
    SCOPED_TRACE(row.measured);
    EXPECT_NE(row.backend, AttentionBackend::Auto);
    ASSERT_NE(row.gallop_kernel, nullptr);
    if (*row.gallop_kernel != '\0') {
      EXPECT_EQ(row.backend, AttentionBackend::Gallop) << "a kernel name needs backend Gallop";
      const auto o = parse_attention_options(row.gallop_kernel);  // throws on an unknown name
      EXPECT_TRUE(o.gallop_kernel.has_value()) << row.gallop_kernel << " is not a gallop kernel";
    }
    EXPECT_LE(row.min_len_k, row.max_len_k);
    EXPECT_GT(row.backend_tflops, row.cudnn_tflops) << "a row must record a measured win over cuDNN";
    const at::ScalarType dt = std::strcmp(row.dtype, "bf16") == 0 ? at::kBFloat16 : at::kHalf;
    const AttentionDevice dev{std::string("NVIDIA ") + row.device, row.cc_major, row.cc_minor};
    EXPECT_EQ(select_attention_backend(dev, dt, row.head_dim, row.min_len_k), row.backend);
    EXPECT_EQ(select_attention_backend({"Other GPU", row.cc_major, row.cc_minor}, dt, row.head_dim, row.min_len_k),
              AttentionBackend::Cudnn);
  }
}

}  // namespace
}  // namespace gallop::kernels

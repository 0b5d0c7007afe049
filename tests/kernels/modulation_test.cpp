// CPU tests of the adaLN modulation references and dispatchers.
//
// Compares layer_norm_modulate_reference and gated_residual_reference with goldens of the
// official expressions run in PyTorch on the CPU (tools/reference/kernels_golden.py). Both sides
// execute the same ATen CPU ops in the same order, so the rule is bit identity. On CPU tensors the
// dispatchers must return exactly the reference.
#include <gtest/gtest.h>

#include "engine/weights/safetensors.h"
#include "kernels/modulation/modulation.h"
#include "tests/testing/tensor_compare.h"
#include "tests/testing/test_env.h"

namespace gallop::kernels {
namespace {

using ::gallop::testing::Identical;

std::shared_ptr<const engine::SafetensorsFile> goldens() {
  static auto file = engine::SafetensorsFile::open(testing::data_path("kernels/kernels.safetensors"));
  return file;
}

TEST(LayerNormModulate, ReferenceMatchesOfficialExpression) {
  auto g = goldens();
  for (const char* name : {"ln_modulate_bf16", "ln_modulate_f32"}) {
    SCOPED_TRACE(name);
    const std::string p = name;
    const auto x = g->tensor(p + ".x");          // [2, 7, 64]
    const auto shift = g->tensor(p + ".shift");  // [2, 64]
    const auto scale = g->tensor(p + ".scale");
    const auto expected = g->tensor(p + ".out");  // fp32
    EXPECT_TRUE(Identical(layer_norm_modulate_reference(x, shift, scale), expected));
    // [B, 1, C] modulation broadcasts the same way.
    EXPECT_TRUE(Identical(layer_norm_modulate_reference(x, shift.unsqueeze(1), scale.unsqueeze(1)), expected));
    // The dispatcher on CPU tensors is the reference; a bf16 output is the fp32 result cast.
    EXPECT_TRUE(Identical(layer_norm_modulate(x, shift, scale), expected));
    EXPECT_TRUE(Identical(layer_norm_modulate(x, shift, scale, 1e-6, at::kBFloat16), expected.to(at::kBFloat16)));
  }
}

TEST(LayerNormModulate, PerTokenModulation) {
  auto x = at::randn({2, 5, 32});
  auto shift = at::randn({2, 5, 32});
  auto scale = at::randn({2, 5, 32});
  auto out = layer_norm_modulate_reference(x, shift, scale);
  auto h = at::layer_norm(x, {32}, {}, {}, 1e-6);
  EXPECT_TRUE(Identical(out, h * (1 + scale) + shift));
}

TEST(LayerNormModulate, RejectsBadModulation) {
  auto x = at::randn({2, 5, 32});
  EXPECT_THROW(layer_norm_modulate(x, at::randn({2, 16}), at::randn({2, 32})), c10::Error);
  EXPECT_THROW(layer_norm_modulate(x, at::randn({3, 32}), at::randn({2, 32})), c10::Error);
  EXPECT_THROW(layer_norm_modulate(x, at::randn({2, 32}).to(at::kBFloat16), at::randn({2, 32})), c10::Error);
}

// layer_norm_affine's reference is nn.LayerNorm with weight and bias (the block's norm3) in fp32;
// on CPU tensors the dispatcher returns it; a bf16 output is that result cast.
TEST(LayerNormAffine, ReferenceIsAtenLayerNorm) {
  auto x = at::randn({2, 5, 32});
  auto w = at::randn({32}) + 1.0;
  auto b = at::randn({32});
  const auto expected = at::layer_norm(x, {32}, w, b, 1e-6);
  EXPECT_TRUE(Identical(layer_norm_affine_reference(x, w, b), expected));
  EXPECT_TRUE(Identical(layer_norm_affine(x, w, b), expected));
  EXPECT_TRUE(Identical(layer_norm_affine(x, w, b, 1e-6, at::kBFloat16), expected.to(at::kBFloat16)));
  EXPECT_THROW(layer_norm_affine(x, at::randn({16}), b), c10::Error);
  EXPECT_THROW(layer_norm_affine(x, w, b, 1e-6, std::nullopt, FusedBackend::Cuda), std::invalid_argument);
}

TEST(GatedResidual, ReferenceMatchesOfficialExpression) {
  auto g = goldens();
  const auto x = g->tensor("gated_residual.x");  // [2, 7, 64] fp32
  const auto y = g->tensor("gated_residual.y");  // bf16
  const auto gate = g->tensor("gated_residual.gate");
  const auto expected = g->tensor("gated_residual.out");
  EXPECT_TRUE(Identical(gated_residual_reference(x, y, gate), expected));
  EXPECT_TRUE(Identical(gated_residual(x, y, gate), expected));
  auto inplace = x.clone();
  gated_residual_(inplace, y, gate);
  EXPECT_TRUE(Identical(inplace, expected));
}

TEST(GatedResidual, Bf16ResidualStreamPromotesToFloat) {
  // Block 0 of the official DiT adds to a bf16 residual stream; the sum is fp32.
  auto x = at::randn({1, 3, 16}).to(at::kBFloat16);
  auto y = at::randn({1, 3, 16}).to(at::kBFloat16);
  auto gate = at::randn({1, 16});
  auto out = gated_residual(x, y, gate);
  EXPECT_EQ(out.scalar_type(), at::kFloat);
  EXPECT_TRUE(Identical(out, x + y * gate.unsqueeze(1)));
  EXPECT_THROW(gated_residual_(x, y, gate), c10::Error);  // in place needs an fp32 stream
}

}  // namespace
}  // namespace gallop::kernels

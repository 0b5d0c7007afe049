// CPU tests of the q/k RMSNorm + 3-D RoPE reference and dispatcher.
//
// Compares rope_freqs_table and qk_norm_rope_reference with goldens of the official code's
// formulas run in PyTorch on the CPU (tools/reference/kernels_golden.py: rope_params / WanRMSNorm /
// rope_apply, complex128 rotation). The same ATen CPU ops run on both sides, so the rule is bit
// identity (fp32 and bf16 outputs). The dispatcher on CPU tensors must return the reference.
#include <gtest/gtest.h>

#include "engine/weights/safetensors.h"
#include "kernels/qk_norm_rope/qk_norm_rope.h"
#include "tests/testing/tensor_compare.h"
#include "tests/testing/test_env.h"

namespace gallop::kernels {
namespace {

using ::gallop::testing::Identical;

std::shared_ptr<const engine::SafetensorsFile> goldens() {
  static auto file = engine::SafetensorsFile::open(testing::data_path("kernels/kernels.safetensors"));
  return file;
}

TEST(RopeTable, MatchesOfficialRopeParams) {
  auto g = goldens();
  for (int64_t hd : {128, 64}) {
    SCOPED_TRACE(hd);
    const auto expected = g->tensor("rope_table_hd" + std::to_string(hd) + ".table");  // [64, hd/2, 2] f64
    EXPECT_TRUE(Identical(at::view_as_real(rope_freqs_table(hd, 64)).contiguous(), expected));
  }
}

TEST(QkNormRope, ReferenceMatchesOfficialCode) {
  auto g = goldens();
  const auto q = g->tensor("qk_norm_rope.q");  // [2, 63, 128] bf16
  const auto k = g->tensor("qk_norm_rope.k");
  const auto wq = g->tensor("qk_norm_rope.weight_q");
  const auto wk = g->tensor("qk_norm_rope.weight_k");
  const auto freqs = rope_freqs_table(64, 64);
  const std::vector<RopeGrid> grids = {{3, 4, 5}, {2, 3, 5}};  // 60 and 30 real tokens of 63
  QkNormRopeOptions f32;
  f32.out_dtype = at::kFloat;
  auto [oq, ok] = qk_norm_rope_reference(q, k, wq, wk, freqs, grids, 2, f32);
  EXPECT_TRUE(Identical(oq, g->tensor("qk_norm_rope.out_q_f32")));
  EXPECT_TRUE(Identical(ok, g->tensor("qk_norm_rope.out_k_f32")));
  auto [bq, bk] = qk_norm_rope_reference(q, k, wq, wk, freqs, grids, 2);  // bf16 for the attention kernel
  EXPECT_TRUE(Identical(bq, g->tensor("qk_norm_rope.out_q_bf16")));
  EXPECT_TRUE(Identical(bk, g->tensor("qk_norm_rope.out_k_bf16")));
  // The dispatcher on CPU tensors is the reference.
  auto [dq, dk] = qk_norm_rope(q, k, wq, wk, freqs, grids, 2);
  EXPECT_TRUE(Identical(dq, bq));
  EXPECT_TRUE(Identical(dk, bk));
  // The float64 [P, D/2, 2] form of the table gives the same result.
  auto [rq, rk] = qk_norm_rope_reference(q, k, wq, wk, at::view_as_real(freqs), grids, 2);
  EXPECT_TRUE(Identical(rq, bq));
}

TEST(QkNormRope, OneGridServesTheWholeBatch) {
  auto q = at::randn({2, 24, 128}).to(at::kBFloat16);
  auto k = at::randn({2, 24, 128}).to(at::kBFloat16);
  auto w = at::rand({128}) + 0.5;
  const auto freqs = rope_freqs_table(64, 16);
  auto [a, b] = qk_norm_rope_reference(q, k, w, w, freqs, {{2, 3, 4}}, 2);
  auto [c, d] = qk_norm_rope_reference(q, k, w, w, freqs, {{2, 3, 4}, {2, 3, 4}}, 2);
  EXPECT_TRUE(Identical(a, c));
  EXPECT_TRUE(Identical(b, d));
}

TEST(QkNormRope, PaddingTokensAreNormalizedButNotRotated) {
  auto q = at::randn({1, 10, 128});
  auto w = at::rand({128}) + 0.5;
  QkNormRopeOptions f32;
  f32.out_dtype = at::kFloat;
  auto [out, unused] = qk_norm_rope_reference(q, q, w, w, rope_freqs_table(64, 16), {{1, 2, 3}}, 2, f32);
  auto normed = q * at::rsqrt(q.pow(2).mean(-1, true) + 1e-6) * w;  // fp32 in: no rounding step
  EXPECT_TRUE(Identical(out.view({1, 10, 128}).slice(1, 6), normed.slice(1, 6)));
  EXPECT_FALSE(Identical(out.view({1, 10, 128}).slice(1, 1, 6), normed.slice(1, 1, 6)));
}

TEST(QkNormRope, RejectsBadShapes) {
  auto q = at::randn({1, 10, 128});
  auto w = at::ones({128});
  const auto freqs = rope_freqs_table(64, 16);
  EXPECT_THROW(qk_norm_rope(q, q, w, w, freqs, {{2, 2, 3}}, 2), c10::Error);   // 12 tokens > 10
  EXPECT_THROW(qk_norm_rope(q, q, w, w, freqs, {{1, 2, 20}}, 2), c10::Error);  // past the table
  EXPECT_THROW(qk_norm_rope(q, q, w, w, freqs, {{1, 2, 3}}, 3), c10::Error);   // 128 / 3 heads
  EXPECT_THROW(qk_norm_rope(q, q, w, w, rope_freqs_table(128, 16), {{1, 2, 3}}, 2), c10::Error);
}

// rms_norm's reference is qk_norm_rope's (checked against the official goldens above) with no token
// rotated, bit for bit, in every output dtype; on CPU tensors the dispatcher returns it.
TEST(RmsNorm, IsQkNormRopeWithoutRotation) {
  auto x = at::randn({2, 7, 128}).mul_(3.0).to(at::kBFloat16);
  auto w = at::rand({128}) + 0.5;
  const auto freqs = rope_freqs_table(64, 16);
  for (auto out : {at::kBFloat16, at::kHalf, at::kFloat}) {
    SCOPED_TRACE(c10::toString(out));
    QkNormRopeOptions o;
    o.out_dtype = out;
    auto [normed, unused] = qk_norm_rope_reference(x, x, w, w, freqs, {{0, 0, 0}}, 2, o);
    const auto got = rms_norm_reference(x, w, 1e-6, out);
    EXPECT_EQ(got.scalar_type(), out);
    EXPECT_TRUE(Identical(got, normed.view({2, 7, 128})));
    EXPECT_TRUE(Identical(rms_norm(x, w, 1e-6, out), got));
  }
  EXPECT_THROW(rms_norm(x, at::ones({64}), 1e-6, at::kFloat), c10::Error);                   // weight width
  EXPECT_THROW(rms_norm(x.view({14, 128}), w, 1e-6, at::kFloat), c10::Error);                 // not [B, L, dim]
  EXPECT_THROW(rms_norm(x, w, 1e-6, at::kFloat, FusedBackend::Cuda), std::invalid_argument);  // CPU tensor
}

}  // namespace
}  // namespace gallop::kernels

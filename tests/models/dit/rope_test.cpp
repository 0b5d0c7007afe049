// DiT position encodings against formulas evaluated here with <cmath> in double precision:
//   * timestep_sinusoid: [cos(t·ω_k), sin(t·ω_k)], ω_k = 10000^(−k/half) (spec §2.3);
//   * rope_multipliers for head dim 128 (bands of 22/21/21 pairs, spec §2.5) and for the tiny
//     head dim 32 (6/5/5 pairs), on an odd grid: the angle of pair k of a band of real width d at
//     position p is p·10000^(−2k/d);
//   * apply_rope: the complex rotation of consecutive channel pairs, and its fp32 result.
// Tolerances: 1e-12 absolute on float64 values (libm vs ATen's vectorized cos/sin differ in the
// last ulps only), the fp32 rounding bound (2^-24 relative) on apply_rope's output.
#include <gtest/gtest.h>

#include <cmath>

#include "models/dit/rope.h"
#include "tests/testing/tensor_compare.h"

using gallop::models::dit::apply_rope;
using gallop::models::dit::rope_multipliers;
using gallop::models::dit::RopeCache;
using gallop::models::dit::timestep_sinusoid;

TEST(DitSinusoid, MatchesTheFormula) {
  auto t = at::tensor({0L, 1L, 500L, 999L}, at::kLong);
  auto emb = timestep_sinusoid(t, 256);  // [4, 256]
  ASSERT_EQ(emb.scalar_type(), at::kDouble);
  ASSERT_EQ(emb.sizes(), (std::vector<int64_t>{4, 256}));
  auto acc = emb.accessor<double, 2>();
  const int64_t times[] = {0, 1, 500, 999};
  double worst = 0;
  for (int b = 0; b < 4; ++b)
    for (int k = 0; k < 128; ++k) {
      const double angle = static_cast<double>(times[b]) * std::pow(10000.0, -static_cast<double>(k) / 128.0);
      worst = std::max(worst, std::abs(acc[b][k] - std::cos(angle)));
      worst = std::max(worst, std::abs(acc[b][128 + k] - std::sin(angle)));
    }
  EXPECT_LT(worst, 1e-12);
}

namespace {

// Max |multiplier - e^(i·angle)| over the grid for head dim `hd`.
double rope_table_error(int64_t hd, int64_t f, int64_t h, int64_t w) {
  auto table = rope_multipliers(hd, 1024, {f, h, w});  // [f·h·w, 1, hd/2] complex128
  EXPECT_EQ(table.scalar_type(), at::kComplexDouble);
  EXPECT_EQ(table.sizes(), (std::vector<int64_t>{f * h * w, 1, hd / 2}));
  auto real = at::view_as_real(table).contiguous();  // [L, 1, hd/2, 2]
  auto acc = real.accessor<double, 4>();
  const int64_t hw = 2 * (hd / 6), tw = hd - 2 * hw;  // real widths of the bands
  double worst = 0;
  for (int64_t a = 0; a < f; ++a)
    for (int64_t b = 0; b < h; ++b)
      for (int64_t c = 0; c < w; ++c) {
        const int64_t token = (a * h + b) * w + c;
        for (int64_t k = 0; k < hd / 2; ++k) {
          int64_t pos, width, kk;
          if (k < tw / 2) {
            pos = a, width = tw, kk = k;
          } else if (k < tw / 2 + hw / 2) {
            pos = b, width = hw, kk = k - tw / 2;
          } else {
            pos = c, width = hw, kk = k - tw / 2 - hw / 2;
          }
          const double angle = static_cast<double>(pos) * (1.0 / std::pow(10000.0, 2.0 * kk / width));
          worst = std::max(worst, std::abs(acc[token][0][k][0] - std::cos(angle)));
          worst = std::max(worst, std::abs(acc[token][0][k][1] - std::sin(angle)));
        }
      }
  return worst;
}

}  // namespace

TEST(DitRope, MultipliersMatchTheFormula) {
  EXPECT_LT(rope_table_error(128, 3, 3, 5), 1e-12);  // 22/21/21 pairs
  EXPECT_LT(rope_table_error(32, 2, 3, 5), 1e-12);   // 6/5/5 pairs
}

TEST(DitRope, LargePositionsStayInTheTable) {
  // The largest real grids (21 x 45 x 80 at 720p) and the table limit itself.
  EXPECT_LT(rope_table_error(128, 2, 45, 80), 1e-12);
  EXPECT_NO_THROW(rope_multipliers(128, 1024, {1, 1, 1024}));
  EXPECT_THROW(rope_multipliers(128, 1024, {1, 1, 1025}), c10::Error);
}

TEST(DitRope, ApplyRotatesChannelPairs) {
  at::manual_seed(7);
  const int64_t B = 2, H = 3, D = 32;
  const std::array<int64_t, 3> grid = {3, 3, 5};
  const int64_t L = 45;
  auto x = at::randn({B, L, H, D});                     // [B, L, H, D] fp32
  auto table = rope_multipliers(D, 1024, grid);         // [L, 1, D/2]
  auto out = apply_rope(x, table);                      // [B, L, H, D] fp32
  ASSERT_EQ(out.scalar_type(), at::kFloat);
  // Expected, pair by pair in double: (a + ib)(c + is).
  auto xd = x.to(at::kDouble).view({B, L, H, D / 2, 2});
  auto m = at::view_as_real(table).view({1, L, 1, D / 2, 2});
  auto a = xd.select(-1, 0), b = xd.select(-1, 1), c = m.select(-1, 0), s = m.select(-1, 1);
  auto expected = at::stack({a * c - b * s, a * s + b * c}, -1).view({B, L, H, D});
  const double bound = std::ldexp(1.0, -24) * expected.abs().max().item<double>() * 1.01;
  EXPECT_LE(gallop::testing::max_abs_error(out, expected), bound);
  // Token 0 sits at position (0, 0, 0): the identity.
  EXPECT_TRUE(gallop::testing::Identical(out.select(1, 0), x.select(1, 0)));
  // Working through the tokens in chunks (here 7 and 45 = 6·7 + 3) changes nothing.
  EXPECT_TRUE(gallop::testing::Identical(apply_rope(x, table, 7), out));
  EXPECT_TRUE(gallop::testing::Identical(apply_rope(x.to(at::kBFloat16), table, 7),
                                         apply_rope(x.to(at::kBFloat16), table)));
}

TEST(DitRope, CacheReturnsTheSameTablePerGrid) {
  RopeCache cache(32, 1024);
  auto a = cache.get({2, 3, 5}, at::kCPU);
  auto b = cache.get({2, 3, 5}, at::kCPU);
  auto c = cache.get({3, 3, 5}, at::kCPU);
  EXPECT_TRUE(a.is_same(b));
  EXPECT_EQ(c.size(0), 45);
  EXPECT_TRUE(gallop::testing::Identical(a, rope_multipliers(32, 1024, {2, 3, 5})));
}

// umT5 relative-position buckets: relative_position_bucket() for rel = -600..600 against the table
// written out in spec §3.1 (32 buckets, max distance 128), and the [Lq, Lk] table built from it.
// Exact integer comparison (no tolerance).
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "models/text_encoder/position_bucket.h"

using gallop::models::text_encoder::relative_position_bucket;
using gallop::models::text_encoder::relative_position_buckets;

namespace {

// Spec §3.1, for n = |key_pos - query_pos|, before the +16 for keys right of the query.
int64_t spec_bucket(int64_t n) {
  if (n < 8) return n;
  if (n <= 11) return 8;
  if (n <= 15) return 9;
  if (n <= 22) return 10;
  if (n <= 31) return 11;
  if (n <= 45) return 12;
  if (n <= 63) return 13;
  if (n <= 90) return 14;
  return 15;
}

TEST(UMT5PositionBucket, MatchesSpecTableBothDirections) {
  constexpr int64_t kMax = 600;
  at::Tensor rel = at::arange(-kMax, kMax + 1, at::kLong);  // [1201]
  at::Tensor got = relative_position_bucket(rel, 32, 128);  // [1201]
  ASSERT_EQ(got.scalar_type(), at::kLong);
  ASSERT_EQ(got.numel(), rel.numel());
  auto acc = got.accessor<int64_t, 1>();
  int mismatches = 0;
  for (int64_t r = -kMax; r <= kMax; ++r) {
    const int64_t n = r < 0 ? -r : r;
    const int64_t expected = spec_bucket(n) + (r > 0 ? 16 : 0);
    const int64_t actual = acc[r + kMax];
    if (actual != expected && ++mismatches <= 10) ADD_FAILURE() << "rel " << r << ": bucket " << actual << ", spec " << expected;
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(UMT5PositionBucket, AcceptsInt32) {
  at::Tensor rel = at::tensor(std::vector<int32_t>{-100, -9, 0, 9, 100});
  at::Tensor got = relative_position_bucket(rel, 32, 128);
  at::Tensor expected = at::tensor(std::vector<int64_t>{15, 8, 0, 24, 31});
  EXPECT_TRUE(got.equal(expected)) << got;
}

TEST(UMT5PositionBucket, TableIsKeyMinusQuery) {
  // A rectangular table: entry [i, j] is the bucket of j - i.
  const int64_t lq = 7, lk = 140;
  at::Tensor table = relative_position_buckets(lq, lk, 32, 128, at::kCPU);  // [7, 140]
  ASSERT_EQ(table.sizes(), (std::vector<int64_t>{lq, lk}));
  auto acc = table.accessor<int64_t, 2>();
  for (int64_t i = 0; i < lq; ++i) {
    for (int64_t j = 0; j < lk; ++j) {
      const int64_t r = j - i;
      const int64_t n = r < 0 ? -r : r;
      ASSERT_EQ(acc[i][j], spec_bucket(n) + (r > 0 ? 16 : 0)) << "at [" << i << ", " << j << "]";
    }
  }
}

TEST(UMT5PositionBucket, RejectsBadArguments) {
  at::Tensor rel = at::arange(5, at::kLong);
  EXPECT_THROW(relative_position_bucket(rel.to(at::kFloat), 32, 128), c10::Error);
  EXPECT_THROW(relative_position_bucket(rel, 31, 128), c10::Error);
  EXPECT_THROW(relative_position_bucket(rel, 32, 8), c10::Error);
}

}  // namespace

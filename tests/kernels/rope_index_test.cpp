// The index arithmetic of the fused q/k norm + RoPE kernel on the CPU, the same code the kernel runs
// (kernels/common/fast_div.h, kernels/qk_norm_rope/rope_index.h): the multiply-high division against
// `/` and `%`, and each pair's table slot against the plain formula of spec §2.6 (position of the
// token in its sample's grid, axis of the pair), for Wan's grids and odd ones, with padding tokens.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/common/fast_div.h"
#include "kernels/qk_norm_rope/rope_index.h"

namespace gallop::kernels {
namespace {

void expect_divides(uint32_t n, const FastDivU32& f) {
  uint32_t q = 0, r = 0;
  fast_divmod(n, f, q, r);
  if (q != n / f.divisor || r != n % f.divisor)
    ADD_FAILURE() << n << " / " << f.divisor << ": got " << q << " r " << r << ", want " << n / f.divisor << " r "
                  << n % f.divisor;
}

TEST(FastDiv, MatchesDivisionForEveryDivisorUpTo70000) {
  // Numerators around every multiple near the top of the range (where the rounding of the multiplier
  // shows first), small ones, and the largest allowed.
  for (uint32_t d = 1; d <= 70000; ++d) {
    const FastDivU32 f = make_fast_div(d);
    const uint32_t top = (0x7FFFFFFFu / d) * d;
    for (uint32_t n : {0u, 1u, d - 1, d, d + 1, 2 * d - 1, top - 1, top, 0x7FFFFFFFu, 0x7FFFFFFEu})
      expect_divides(n, f);
    if (HasFailure()) return;
  }
}

TEST(FastDiv, MatchesDivisionOnRandomPairs) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> numerator(0, 0x7FFFFFFFu);
  for (int shift = 0; shift <= 31; ++shift) {
    std::uniform_int_distribution<uint32_t> divisor(1, shift == 31 ? 0x80000000u : (2u << shift) - 1);
    for (int i = 0; i < 20000; ++i) expect_divides(numerator(rng), make_fast_div(divisor(rng)));
    if (HasFailure()) return;
  }
  for (uint32_t shift = 0; shift <= 31; ++shift) {  // powers of two, and one either side
    const uint32_t p2 = 1u << shift;
    for (uint32_t d : {p2 - 1, p2, p2 + 1})
      if (d >= 1 && d <= 0x80000000u)
        for (uint32_t n : {0u, 1u, p2, 12345u, 0x7FFFFFFFu}) expect_divides(n, make_fast_div(d));
  }
}

TEST(FastDiv, ZeroDivisorGivesTheUnitConstants) {
  const FastDivU32 f = make_fast_div(0);
  EXPECT_EQ(f.divisor, 1u);
  EXPECT_EQ(fast_div(12345, f), 12345u);
}

struct Grid {
  int32_t frames, height, width;
};

// The table slot of every pair of every head of every token, computed the plain way.
uint32_t plain_slot(const rope::QkNormRopeParams& p, const std::vector<Grid>& grids, int64_t row, int64_t col,
                    bool& rotated) {
  const int64_t b = row / p.len, l = row % p.len;
  const Grid& g = grids[b];
  rotated = l < int64_t{g.frames} * g.height * g.width;
  if (!rotated) return 0;
  const int64_t pos[3] = {l / (int64_t{g.height} * g.width), (l / g.width) % g.height, l % g.width};
  const int64_t pair = (col % p.head_dim) / 2;
  const int axis = pair < p.pairs_t ? 0 : (pair < p.pairs_t + p.pairs_h ? 1 : 2);
  return static_cast<uint32_t>(pos[axis] * (p.head_dim / 2) + pair);
}

void check_slots(int64_t heads, int32_t head_dim, int64_t len, const std::vector<Grid>& grids, int64_t row_step) {
  SCOPED_TRACE("heads=" + std::to_string(heads) + " head_dim=" + std::to_string(head_dim) +
               " len=" + std::to_string(len));
  rope::QkNormRopeParams p;
  p.len = len;
  p.head_dim = head_dim;
  p.dim = static_cast<int32_t>(heads * head_dim);
  const int32_t c = head_dim / 2;
  p.pairs_t = c - 2 * (c / 3);  // spec §2.5
  p.pairs_h = c / 3;
  for (size_t b = 0; b < grids.size(); ++b) {
    p.grid[b][0] = grids[b].frames;
    p.grid[b][1] = grids[b].height;
    p.grid[b][2] = grids[b].width;
  }
  rope::set_rope_divisors(p);
  const uint32_t half = static_cast<uint32_t>(head_dim / 2);
  const int64_t rows = len * static_cast<int64_t>(grids.size());
  std::vector<int64_t> sample_rows;  // every row_step-th row, and each sample's first and last two
  for (int64_t row = 0; row < rows; row += row_step) sample_rows.push_back(row);
  for (int64_t b = 0; b < static_cast<int64_t>(grids.size()); ++b)
    for (int64_t l : {int64_t{0}, int64_t{1}, len - 2, len - 1})
      if (l >= 0 && l < len) sample_rows.push_back(b * len + l);
  int64_t checked = 0;
  for (const int64_t row : sample_rows) {
    rope::RopeBases bases;
    const bool rotate = rope::rope_bases(p, static_cast<uint32_t>(row), half, bases);
    // The kernel's walk: per 16-byte group (8 elements of a 16-bit input, 4 of fp32), the group's
    // first pair, then the group's other pairs from it.
    for (const int group : {8, 4}) {
      for (int64_t col0 = 0; col0 < p.dim; col0 += group) {
        const uint32_t pair0 = rope::rope_pair_of_column(p, static_cast<uint32_t>(col0));
        for (int e = 0; e < group; e += 2) {
          bool want_rotated = false;
          const uint32_t want = plain_slot(p, grids, row, col0 + e, want_rotated);
          ASSERT_EQ(rotate, want_rotated) << "row " << row;
          if (!rotate) continue;
          const uint32_t got = rope::rope_slot(p, pair0 + e / 2, bases);
          ASSERT_EQ(got, want) << "row " << row << " col " << col0 + e << " group " << group;
          ++checked;
        }
      }
    }
  }
  EXPECT_GT(checked, 0);
}

TEST(RopeIndex, SlotsMatchThePlainFormula) {
  check_slots(12, 128, 32760, {{21, 30, 52}}, 97);           // Wan 1.3B at 480p
  check_slots(40, 128, 75600, {{21, 45, 80}}, 1009);         // Wan 14B at 720p
  check_slots(3, 64, 37, {{2, 3, 5}, {1, 4, 4}}, 1);         // head dim 64, two samples with padding
  check_slots(2, 128, 36, {{5, 1, 7}}, 1);                   // one padding token
  check_slots(1, 8, 300, {{7, 11, 3}, {0, 0, 0}, {1, 1, 1}}, 1);  // an empty grid, a one-token grid
  check_slots(5, 24, 1000, {{3, 17, 19}, {2, 16, 31}}, 1);   // head dim 24: axes of 4, 4 and 4 pairs
}

}  // namespace
}  // namespace gallop::kernels

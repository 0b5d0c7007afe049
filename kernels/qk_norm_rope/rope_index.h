// Where a RoPE pair finds its angle: the table slot of pair `pair` (0 .. head_dim/2 - 1) of a head
// in token row `row` (spec §2.6). Host and device run this same code; the CPU test
// (tests/kernels/rope_index_test.cpp) checks it against the plain formula.
//
// Token l of sample b (row = b * len + l) sits at (f, i, j) in the sample's (frames, height, width)
// grid, l = (f * height + i) * width + j; tokens at or past frames * height * width are padding and
// are not rotated. Pair p takes the angle of its axis's position: f for p < pairs_t, i for the next
// pairs_h pairs, j for the rest, at slot position * (head_dim / 2) + p of the [max_pos, head_dim / 2]
// table.
//
// The kernel splits this by what changes when: per row, the three slot bases position * half (three
// divisions, by len, height * width and width, each by a FastDivU32 multiplier from the host); per
// 16-byte group, the pair its first element starts (one more, by head_dim: a group never spans two
// heads since head_dim is a multiple of the group); per pair, two compares and a select.
#pragma once

#include <cstdint>

#include "kernels/common/fast_div.h"
#include "kernels/qk_norm_rope/qk_norm_rope_params.h"

#if defined(__CUDACC__)
#define GALLOP_ROPE_INDEX_FN __host__ __device__ __forceinline__
#else
#define GALLOP_ROPE_INDEX_FN inline
#endif

namespace gallop::kernels::rope {

// Host: the divisors of p.len, p.head_dim and each sample's grid (after those are set). p.len and
// p.head_dim must lie in [1, 2^31). A non-empty grid holds at most len tokens, so its plane is below
// 2^31; an empty grid's divisors are never used (no token of it is rotated).
inline void set_rope_divisors(QkNormRopeParams& p) {
  p.len_div = make_fast_div(static_cast<uint32_t>(p.len));
  p.head_dim_div = make_fast_div(static_cast<uint32_t>(p.head_dim));
  for (int b = 0; b < kMaxBatch; ++b) {
    const uint32_t height = static_cast<uint32_t>(p.grid[b][1]), width = static_cast<uint32_t>(p.grid[b][2]);
    const uint64_t plane = static_cast<uint64_t>(height) * width;
    p.plane_div[b] = make_fast_div(plane < (uint64_t{1} << 31) ? static_cast<uint32_t>(plane) : 0);
    p.width_div[b] = make_fast_div(width);
  }
}

// A token's slot bases: its frame, row and column index, each times head_dim / 2.
struct RopeBases {
  uint32_t t = 0, h = 0, w = 0;
};

// The bases of token row `row` (< 2^31, a launch precondition); false for a padding token (bases
// then 0). `half` = head_dim / 2.
GALLOP_ROPE_INDEX_FN bool rope_bases(const QkNormRopeParams& p, uint32_t row, uint32_t half, RopeBases& bases) {
  uint32_t b, l;
  fast_divmod(row, p.len_div, b, l);
  const uint32_t frames = p.grid[b][0], height = p.grid[b][1], width = p.grid[b][2];
  bases = RopeBases{};
  if (static_cast<uint64_t>(l) >= static_cast<uint64_t>(frames) * height * width) return false;
  uint32_t f, in_plane, i, j;
  fast_divmod(l, p.plane_div[b], f, in_plane);  // plane <= l < 2^31 here
  fast_divmod(in_plane, p.width_div[b], i, j);
  bases = RopeBases{f * half, i * half, j * half};
  return true;
}

// The pair within its head that element `col` of a row (an even column) starts.
GALLOP_ROPE_INDEX_FN uint32_t rope_pair_of_column(const QkNormRopeParams& p, uint32_t col) {
  uint32_t head, in_head;
  fast_divmod(col, p.head_dim_div, head, in_head);
  return in_head / 2;
}

// Table slot of pair `pair` of a head of the token with these bases. Selects, not an indexed array:
// a run-time index would put the bases in local memory (rows_sass_test.py checks there is none).
GALLOP_ROPE_INDEX_FN uint32_t rope_slot(const QkNormRopeParams& p, uint32_t pair, const RopeBases& bases) {
  const uint32_t pairs_t = static_cast<uint32_t>(p.pairs_t);
  const uint32_t pairs_th = pairs_t + static_cast<uint32_t>(p.pairs_h);
  return pair + (pair < pairs_t ? bases.t : (pair < pairs_th ? bases.h : bases.w));
}

}  // namespace gallop::kernels::rope

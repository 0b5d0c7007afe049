// Splitting the last wave of an attention grid along the keys (the "-split" Hopper kernel).
//
// A Hopper attention CTA fills its SM (one CTA per SM), and every tile (128 query rows of one
// batch and head) costs the same, so a grid of `tiles` CTAs runs in ceil(tiles / SMs) waves of
// equal length and the last one is only (tiles % SMs) / SMs full. At the T2V-1.3B 480p shape
// (12 heads x 256 tiles = 3072 CTAs on 132 SMs) that is 23 full waves and one of 36 CTAs: about 3%
// of the kernel's time with 96 SMs idle. Here the last wave's tiles are each cut into `splits`
// key ranges run as separate CTAs (36 x 3 = 108 CTAs of a third of the work), which write their
// normalized partial output and log-sum-exp in fp32; a small combine kernel merges them:
//   O = sum_c w_c O_c,  w_c = 2^(lse_c - m) / sum_c' 2^(lse_c' - m),  m = max_c lse_c,
// where O_c = softmax over chunk c's keys times V, and lse_c = log2 sum_(keys in c) 2^(s·scale·log2 e).
//
// Everything here is plain data and arithmetic shared by the host (planning, tests) and the
// kernels (chunk ranges, the log-sum-exp, the weights), so the CPU tests exercise the same code.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define GALLOP_SPLIT_FN __host__ __device__ __forceinline__
#else
#define GALLOP_SPLIT_FN inline
#endif

namespace gallop::kernels::attn {

// Upper bound on key chunks per tile: enough to fill an SM count of 132 from a last wave of 17
// tiles or more; each chunk costs a 64 KB fp32 partial (head dim 128) and a share of the combine.
inline constexpr int kMaxTailSplits = 8;

// The grid of a split launch, in launch order: tiles [0, full_tiles) run whole, one CTA each
// (CTA index = tile index); tiles [full_tiles, full_tiles + split_tiles) run as `splits` CTAs each
// (CTA full_tiles + i * splits + c runs key chunk c of tile full_tiles + i). Tiles are numbered
// m_block + m_blocks * (head + heads * batch), the order of the unsplit grid.
struct TailSplit {
  int64_t full_tiles = 0;
  int64_t split_tiles = 0;  // 0: nothing is split (the unsplit launch)
  int splits = 1;
  GALLOP_SPLIT_FN constexpr int64_t ctas() const { return full_tiles + split_tiles * splits; }
  // fp32 elements of the partial outputs and of the log-sum-exps, for `block_m` rows per tile.
  GALLOP_SPLIT_FN constexpr int64_t partial_o_floats(int block_m, int head_dim) const {
    return split_tiles * splits * block_m * head_dim;
  }
  GALLOP_SPLIT_FN constexpr int64_t partial_lse_floats(int block_m) const { return split_tiles * splits * block_m; }
};

// `tiles` CTAs of equal cost on `sms` SMs (one resident CTA each), `key_blocks` key blocks per tile:
// splits the tiles of the last, partial wave into as many key chunks as fill the SMs (at most
// kMaxTailSplits, at most one chunk per key block). Nothing is split when the last wave is full,
// or when it is more than half full (two chunks per tile would not fit in one wave).
GALLOP_SPLIT_FN constexpr TailSplit plan_tail_split(int64_t tiles, int sms, int key_blocks) {
  TailSplit plan;
  plan.full_tiles = tiles > 0 ? tiles : 0;
  if (tiles <= 0 || sms <= 0 || key_blocks < 2) return plan;
  const int64_t rem = tiles % sms;
  if (rem == 0) return plan;
  int64_t s = sms / rem;
  if (s > kMaxTailSplits) s = kMaxTailSplits;
  if (s > key_blocks) s = key_blocks;
  if (s < 2) return plan;
  plan.full_tiles = tiles - rem;
  plan.split_tiles = rem;
  plan.splits = static_cast<int>(s);
  return plan;
}

// Key blocks [begin, end) of chunk c out of s over n_blocks blocks: contiguous, in order, sizes
// differing by at most one, covering every block once; a chunk is empty when n_blocks < s (a
// sample whose valid keys are fewer than its tile's chunks).
struct KeyChunk {
  int begin;
  int end;
};
GALLOP_SPLIT_FN constexpr KeyChunk key_chunk(int n_blocks, int c, int s) {
  return {static_cast<int>(static_cast<int64_t>(n_blocks) * c / s),
          static_cast<int>(static_cast<int64_t>(n_blocks) * (c + 1) / s)};
}

// What one tile of a split launch is: which tile, and which key chunk (-1: all of its keys).
struct SplitCta {
  int64_t tile;
  int chunk;
  int64_t partial;  // index of its partial in the workspace (chunk >= 0 only)
};
GALLOP_SPLIT_FN constexpr SplitCta split_cta(const TailSplit& plan, int64_t cta) {
  if (cta < plan.full_tiles) return {cta, -1, -1};
  const int64_t r = cta - plan.full_tiles;
  return {plan.full_tiles + r / plan.splits, static_cast<int>(r % plan.splits), r};
}

// log2 of a row's sum of 2^(s_k·scale_log2) over a chunk's keys, from the kernel's running state:
// row_max = the largest raw score s_k (not scaled), row_sum = sum 2^((s_k - row_max)·scale_log2).
// -inf for a row that saw no valid key (row_sum 0).
GALLOP_SPLIT_FN float chunk_lse2(float row_max, float row_sum, float scale_log2) {
  return row_sum > 0.f ? row_max * scale_log2 + log2f(row_sum) : -INFINITY;
}

// The weights of a row's chunks in the combined output, from their chunk_lse2 values (-inf past
// the tile's chunk count: weight 0). They sum to 1, or are all 0 when no chunk saw a valid key
// (the row is then zero, as in the unsplit kernel). Fixed-size arrays, so that the kernel keeps
// them in registers.
GALLOP_SPLIT_FN void chunk_weights(const float (&lse2)[kMaxTailSplits], float (&w)[kMaxTailSplits]) {
  float m = -INFINITY;
#if defined(__CUDACC__)
#pragma unroll
#endif
  for (int c = 0; c < kMaxTailSplits; ++c) m = fmaxf(m, lse2[c]);
  float total = 0.f;
#if defined(__CUDACC__)
#pragma unroll
#endif
  for (int c = 0; c < kMaxTailSplits; ++c) {
    w[c] = m == -INFINITY ? 0.f : exp2f(lse2[c] - m);  // 2^-inf = 0 for an empty chunk
    total += w[c];
  }
  const float inv = total > 0.f ? 1.f / total : 0.f;  // total >= 1 unless every chunk is empty
#if defined(__CUDACC__)
#pragma unroll
#endif
  for (int c = 0; c < kMaxTailSplits; ++c) w[c] *= inv;
}

}  // namespace gallop::kernels::attn

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
// Cluster launches (ws-p2-c2-split): the two CTAs of a cluster share each K/V load, so they must run
// the same key range of two adjacent tiles of one (batch, head). There the unit of the plan is the
// cluster: the tiles are numbered over a tile count padded to a multiple of the cluster size per
// (batch, head), the wave holds slots / cluster clusters, and the last wave's clusters are split,
// both CTAs of a cluster taking the same chunk. With cluster = 1 everything reduces to the above.
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
// (with cluster = 1, CTA full_tiles + i * splits + c runs key chunk c of tile full_tiles + i; see
// split_cta for clusters). Tiles are numbered m_block + m_blocks * (head + heads * batch), the
// order of the unsplit grid, with m_blocks rounded up to a multiple of `cluster`.
struct TailSplit {
  int64_t full_tiles = 0;
  int64_t split_tiles = 0;  // 0: nothing is split (the unsplit launch)
  int splits = 1;
  int cluster = 1;  // CTAs per cluster; full_tiles and split_tiles are multiples of it
  GALLOP_SPLIT_FN constexpr int64_t ctas() const { return full_tiles + split_tiles * splits; }
  // fp32 elements of the partial outputs and of the log-sum-exps, for `block_m` rows per tile.
  GALLOP_SPLIT_FN constexpr int64_t partial_o_floats(int block_m, int head_dim) const {
    return split_tiles * splits * block_m * head_dim;
  }
  GALLOP_SPLIT_FN constexpr int64_t partial_lse_floats(int block_m) const { return split_tiles * splits * block_m; }
};

// `tiles` CTAs of equal cost on `sms` resident CTA slots (one CTA per SM), `key_blocks` key blocks
// per tile: splits the tiles of the last, partial wave into as many key chunks as fill the slots (at
// most kMaxTailSplits, at most one chunk per key block). Nothing is split when the last wave is
// full, or when it is more than half full (two chunks per tile would not fit in one wave). With
// cluster > 1 the same holds for clusters: `tiles` (a multiple of `cluster`, padded per batch and
// head) form tiles / cluster units on sms / cluster cluster slots.
GALLOP_SPLIT_FN constexpr TailSplit plan_tail_split(int64_t tiles, int sms, int key_blocks, int cluster = 1) {
  TailSplit plan;
  plan.full_tiles = tiles > 0 ? tiles : 0;
  plan.cluster = cluster > 1 ? cluster : 1;
  const int64_t units = tiles / plan.cluster;
  const int slots = sms / plan.cluster;
  if (tiles <= 0 || tiles % plan.cluster != 0 || slots <= 0 || key_blocks < 2) return plan;
  const int64_t rem = units % slots;
  if (rem == 0) return plan;
  int64_t s = slots / rem;
  if (s > kMaxTailSplits) s = kMaxTailSplits;
  if (s > key_blocks) s = key_blocks;
  if (s < 2) return plan;
  plan.full_tiles = (units - rem) * plan.cluster;
  plan.split_tiles = rem * plan.cluster;
  plan.splits = static_cast<int>(s);
  return plan;
}

// Query tiles per (batch, head) in a split launch's numbering: ceil(len_q / block_m) rounded up to a
// multiple of the cluster size (a padding tile past len_q reads the last rows and stores nothing).
GALLOP_SPLIT_FN constexpr int padded_m_blocks(int len_q, int block_m, int cluster) {
  const int m_blocks = (len_q + block_m - 1) / block_m;
  return cluster > 1 ? (m_blocks + cluster - 1) / cluster * cluster : m_blocks;
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

// What one CTA of a split launch runs: which tile, and which key chunk (-1: all of its keys). Past
// the whole tiles, consecutive groups of `cluster` CTAs (one cluster) take the same chunk of the
// `cluster` adjacent tiles of one unit, the CTA of cluster rank k tile unit * cluster + k; a split
// tile's partials are consecutive, from (tile - full_tiles) * splits, as the combine reads them.
struct SplitCta {
  int64_t tile;
  int chunk;
  int64_t partial;  // index of its partial in the workspace (chunk >= 0 only)
};
GALLOP_SPLIT_FN constexpr SplitCta split_cta(const TailSplit& plan, int64_t cta) {
  if (cta < plan.full_tiles) return {cta, -1, -1};
  const int64_t r = cta - plan.full_tiles;
  const int64_t in_unit = r / plan.cluster;  // (split unit, chunk) in launch order
  const int chunk = static_cast<int>(in_unit % plan.splits);
  const int64_t tile = plan.full_tiles + (in_unit / plan.splits) * plan.cluster + r % plan.cluster;
  return {tile, chunk, (tile - plan.full_tiles) * plan.splits + chunk};
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

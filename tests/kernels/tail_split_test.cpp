// The split of an attention grid's last wave (kernels/attention/tail_split.h), on the CPU: the
// plan at the Wan shapes and over a sweep (every tile runs once, the split tiles' chunks fill at
// most one wave, the CTA order is the one the combine kernel reads), the key chunks, and the
// combine arithmetic the kernels use (chunk_lse2, chunk_weights) against a float64 softmax, with
// the kernel's per-chunk running state emulated in float32. The kernels themselves run in
// kernels_gpu_test (gallop-sm90-ws-p2-split).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "kernels/attention/tail_split.h"
#if defined(GALLOP_HAVE_CUDA)
#include "kernels/attention/attention_cuda.h"
#endif

namespace gallop::kernels::attn {
namespace {

TEST(TailSplit, PlansTheWanShapes) {
  // T2V-1.3B 480p: 12 heads x 256 tiles on 132 SMs = 23 waves + 36 tiles, each cut in 3 (108 CTAs).
  const TailSplit a = plan_tail_split(12 * 256, 132, 256);
  EXPECT_EQ(a.full_tiles, 3036);
  EXPECT_EQ(a.split_tiles, 36);
  EXPECT_EQ(a.splits, 3);
  EXPECT_EQ(a.ctas(), 3036 + 108);
  // T2V-14B 720p: 40 heads x 591 tiles = 179 waves + 12 tiles: 8 chunks each (the cap).
  const TailSplit b = plan_tail_split(40 * 591, 132, 591);
  EXPECT_EQ(b.full_tiles, 40 * 591 - 12);
  EXPECT_EQ(b.split_tiles, 12);
  EXPECT_EQ(b.splits, kMaxTailSplits);
  // A last wave more than half full is left alone (1.3B 720p on an H100 PCIe's 114 SMs: 7092 %
  // 114 = 24 -> 4 chunks; on 132 SMs 7092 % 132 = 96 -> nothing).
  EXPECT_EQ(plan_tail_split(12 * 591, 132, 591).split_tiles, 0);
  EXPECT_EQ(plan_tail_split(12 * 591, 114, 591).splits, 4);
  // Full last wave, one key block, no SMs: nothing split.
  EXPECT_EQ(plan_tail_split(264, 132, 256).split_tiles, 0);
  EXPECT_EQ(plan_tail_split(36, 132, 1).split_tiles, 0);
  EXPECT_EQ(plan_tail_split(36, 0, 256).split_tiles, 0);
  EXPECT_EQ(plan_tail_split(0, 132, 256).ctas(), 0);
  // Few keys bound the chunks: 3 key blocks, 10 tiles on 132 SMs -> 3 chunks.
  EXPECT_EQ(plan_tail_split(10, 132, 3).splits, 3);
}

TEST(TailSplit, EveryTileRunsOnceAndTheSplitFitsOneWave) {
  for (int sms : {1, 7, 78, 108, 114, 132}) {
    for (int key_blocks : {1, 2, 3, 5, 256}) {
      for (int64_t tiles = 1; tiles <= 300; ++tiles) {
        SCOPED_TRACE(::testing::Message() << "tiles=" << tiles << " sms=" << sms << " key_blocks=" << key_blocks);
        const TailSplit plan = plan_tail_split(tiles, sms, key_blocks);
        ASSERT_EQ(plan.full_tiles + plan.split_tiles, tiles);
        const int64_t rem = tiles % sms;
        const bool split = plan.split_tiles > 0;
        ASSERT_EQ(split, rem != 0 && key_blocks >= 2 && sms / rem >= 2);
        if (split) {
          ASSERT_EQ(plan.full_tiles % sms, 0);
          ASSERT_EQ(plan.split_tiles, rem);
          ASSERT_GE(plan.splits, 2);
          ASSERT_LE(plan.splits, std::min(kMaxTailSplits, key_blocks));
          ASSERT_LE(plan.split_tiles * plan.splits, sms);  // the chunks run in one wave
          // As many chunks as fit: one more per tile would not fit (or hits a cap).
          ASSERT_TRUE(plan.split_tiles * (plan.splits + 1) > sms || plan.splits == kMaxTailSplits ||
                      plan.splits == key_blocks);
        } else {
          ASSERT_EQ(plan.splits, 1);
        }
        // CTA -> (tile, chunk) is one-to-one onto the tiles and their chunks; a split tile's
        // partials are consecutive from (tile - full_tiles) * splits, as the combine reads them.
        std::set<std::pair<int64_t, int>> seen;
        std::set<int64_t> partials;
        for (int64_t cta = 0; cta < plan.ctas(); ++cta) {
          const SplitCta c = split_cta(plan, cta);
          ASSERT_TRUE(seen.insert({c.tile, c.chunk}).second) << "cta " << cta;
          ASSERT_GE(c.tile, 0);
          ASSERT_LT(c.tile, tiles);
          if (c.tile < plan.full_tiles) {
            ASSERT_EQ(c.chunk, -1);
          } else {
            ASSERT_GE(c.chunk, 0);
            ASSERT_LT(c.chunk, plan.splits);
            ASSERT_EQ(c.partial, (c.tile - plan.full_tiles) * plan.splits + c.chunk);
            partials.insert(c.partial);
          }
        }
        ASSERT_EQ(static_cast<int64_t>(seen.size()), plan.full_tiles + plan.split_tiles * plan.splits);
        ASSERT_EQ(static_cast<int64_t>(partials.size()), plan.split_tiles * plan.splits);
      }
    }
  }
}

// Clusters of two: the plan counts pairs of adjacent tiles on half the slots, and the two CTAs of a
// cluster (CTAs 2i, 2i + 1) always run the same chunk of the two tiles of one pair, rank k tile
// 2 * pair + k; tiles, chunks and partials are covered once, as with single CTAs.
TEST(TailSplit, ClustersSplitPairsTogether) {
  for (int sms : {2, 8, 78, 128, 132}) {
    for (int key_blocks : {1, 2, 3, 256}) {
      for (int64_t pairs = 1; pairs <= 150; ++pairs) {
        SCOPED_TRACE(::testing::Message() << "pairs=" << pairs << " sms=" << sms << " key_blocks=" << key_blocks);
        const int64_t tiles = 2 * pairs;
        const TailSplit plan = plan_tail_split(tiles, sms, key_blocks, 2);
        const TailSplit units = plan_tail_split(pairs, sms / 2, key_blocks);
        ASSERT_EQ(plan.cluster, 2);
        ASSERT_EQ(plan.full_tiles, 2 * units.full_tiles);
        ASSERT_EQ(plan.split_tiles, 2 * units.split_tiles);
        ASSERT_EQ(plan.splits, units.splits);
        ASSERT_EQ(plan.ctas() % 2, 0);
        std::set<std::pair<int64_t, int>> seen;
        std::set<int64_t> partials;
        for (int64_t cta = 0; cta < plan.ctas(); cta += 2) {
          const SplitCta a = split_cta(plan, cta), b = split_cta(plan, cta + 1);
          ASSERT_EQ(a.tile % 2, 0) << "cta " << cta;
          ASSERT_EQ(b.tile, a.tile + 1) << "cta " << cta;
          ASSERT_EQ(a.chunk, b.chunk) << "cta " << cta;
          for (const SplitCta& c : {a, b}) {
            ASSERT_TRUE(seen.insert({c.tile, c.chunk}).second) << "cta " << cta;
            ASSERT_LT(c.tile, tiles);
            if (c.chunk >= 0) {
              ASSERT_GE(c.tile, plan.full_tiles);
              ASSERT_EQ(c.partial, (c.tile - plan.full_tiles) * plan.splits + c.chunk);
              partials.insert(c.partial);
            }
          }
        }
        ASSERT_EQ(static_cast<int64_t>(seen.size()), plan.full_tiles + plan.split_tiles * plan.splits);
        ASSERT_EQ(static_cast<int64_t>(partials.size()), plan.split_tiles * plan.splits);
      }
    }
  }
  // An odd tile count is not a cluster plan: nothing is split.
  EXPECT_EQ(plan_tail_split(301, 132, 256, 2).split_tiles, 0);
  EXPECT_EQ(padded_m_blocks(75600, 128, 2), 592);
  EXPECT_EQ(padded_m_blocks(75600, 128, 1), 591);
  EXPECT_EQ(padded_m_blocks(32760, 128, 2), 256);
}

TEST(TailSplit, KeyChunksCoverEveryBlockOnceInOrder) {
  for (int n = 0; n <= 70; ++n) {
    for (int s = 2; s <= kMaxTailSplits; ++s) {
      int expected_begin = 0;
      for (int c = 0; c < s; ++c) {
        const KeyChunk k = key_chunk(n, c, s);
        EXPECT_EQ(k.begin, expected_begin) << n << " " << s << " " << c;
        EXPECT_GE(k.end, k.begin);
        EXPECT_LE(k.end - k.begin, n / s + 1);
        EXPECT_GE(k.end - k.begin, n / s);
        expected_begin = k.end;
      }
      EXPECT_EQ(expected_begin, n);
    }
  }
}

// One query row against `keys` keys (the first `valid` unmasked), head dim 8, in 128-key blocks:
// the float64 softmax output, and the split path: per chunk the kernel's running max over raw
// scores and its sum of 2^((s - max)·scale_log2) in float32, the chunk's normalized output, then
// chunk_lse2 and chunk_weights.
struct RowCase {
  int keys;
  int valid;
  int splits;
  double score_spread;  // standard deviation of the raw scores
};

void check_row(const RowCase& rc, uint32_t seed) {
  SCOPED_TRACE(::testing::Message() << "keys=" << rc.keys << " valid=" << rc.valid << " splits=" << rc.splits
                                    << " spread=" << rc.score_spread);
  constexpr int kD = 8;
  constexpr int kBlock = 128;
  const float scale = 1.f / std::sqrt(128.f);
  const float scale_log2 = scale * 1.4426950408889634f;
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> score(rc.keys), value(static_cast<size_t>(rc.keys) * kD);
  for (auto& x : score) x = static_cast<float>(rc.score_spread) * normal(gen);
  for (auto& x : value) x = normal(gen);

  // float64 reference over the valid keys.
  std::vector<double> ref(kD, 0.0);
  if (rc.valid > 0) {
    double mx = -INFINITY, sum = 0.0;
    for (int k = 0; k < rc.valid; ++k) mx = std::max(mx, static_cast<double>(score[k]));
    for (int k = 0; k < rc.valid; ++k) {
      const double e = std::exp((score[k] - mx) * static_cast<double>(scale));
      sum += e;
      for (int d = 0; d < kD; ++d) ref[d] += e * value[static_cast<size_t>(k) * kD + d];
    }
    for (auto& r : ref) r /= sum;
  }

  // The split path.
  const int n_blocks = (rc.valid + kBlock - 1) / kBlock;
  float lse[kMaxTailSplits];
  float w[kMaxTailSplits];
  std::vector<std::vector<float>> partial(kMaxTailSplits, std::vector<float>(kD, 0.f));
  for (int c = 0; c < kMaxTailSplits; ++c) lse[c] = -INFINITY;
  for (int c = 0; c < rc.splits; ++c) {
    const KeyChunk kc = key_chunk(n_blocks, c, rc.splits);
    const int k0 = kc.begin * kBlock, k1 = std::min(kc.end * kBlock, rc.valid);
    float mx = -INFINITY;
    for (int k = k0; k < k1; ++k) mx = std::max(mx, score[k]);
    float l = 0.f;
    std::vector<float> o(kD, 0.f);
    for (int k = k0; k < k1; ++k) {
      const float p = std::exp2(std::fma(score[k], scale_log2, -mx * scale_log2));
      l += p;
      for (int d = 0; d < kD; ++d) o[d] += p * value[static_cast<size_t>(k) * kD + d];
    }
    const float inv = l > 0.f ? 1.f / l : 0.f;
    for (int d = 0; d < kD; ++d) partial[c][d] = o[d] * inv;
    lse[c] = chunk_lse2(mx, l, scale_log2);
    if (k1 <= k0) {
      EXPECT_EQ(lse[c], -INFINITY) << "chunk " << c << " has no key";
    }
  }
  chunk_weights(lse, w);
  double wsum = 0.0;
  for (int c = 0; c < kMaxTailSplits; ++c) {
    EXPECT_GE(w[c], 0.f);
    if (c >= rc.splits) {
      EXPECT_EQ(w[c], 0.f);
    }
    wsum += w[c];
  }
  EXPECT_NEAR(wsum, rc.valid > 0 ? 1.0 : 0.0, 1e-6);
  double max_ref = 0.0;
  for (double r : ref) max_ref = std::max(max_ref, std::abs(r));
  for (int d = 0; d < kD; ++d) {
    float got = 0.f;
    for (int c = 0; c < kMaxTailSplits; ++c) got = std::fma(w[c], partial[c][d], got);
    // float32 sums over up to 10^4 keys: a few 1e-6 relative, bounded generously.
    EXPECT_NEAR(got, ref[d], 2e-5 * std::max(1.0, max_ref)) << "column " << d;
    if (rc.valid == 0) {
      EXPECT_EQ(got, 0.f);
    }
  }
}

TEST(TailSplit, CombinedChunksEqualTheSoftmaxOfAllKeys) {
  const std::vector<RowCase> cases = {
      {1000, 1000, 2, 3.0},   {1000, 1000, 8, 3.0},   {4096, 4096, 3, 10.0},  // even and uneven chunks
      {4096, 4096, 3, 200.0},                                                 // one chunk dominates
      {1000, 999, 4, 3.0},                                                    // a masked key in the last block
      {512, 1, 4, 3.0},       {512, 130, 4, 3.0},                             // chunks without keys
      {512, 0, 4, 3.0},                                                       // no valid key: zeros
      {10000, 10000, 8, 1.0},
  };
  uint32_t seed = 7;
  for (const auto& rc : cases) check_row(rc, seed++);
}

#if defined(GALLOP_HAVE_CUDA)
TEST(TailSplit, OnlyTheSplitKernelSplits) {
  AttentionParams p;
  p.batch = 1;
  p.heads = 12;
  p.len_q = 32760;
  p.len_k = 32760;
  p.head_dim = 128;
  const TailSplit split = gallop_kernel_tail_split(GallopKernel::kSm90WsTwoPSplit, p, 132);
  EXPECT_EQ(split.full_tiles, 3036);
  EXPECT_EQ(split.split_tiles, 36);
  EXPECT_EQ(split.splits, 3);
  EXPECT_EQ(tail_split_block_m(), 128);
  // 144-key blocks: 228 key blocks, the same tiles.
  const TailSplit n144 = gallop_kernel_tail_split(GallopKernel::kSm90WsTwoP144Split, p, 132);
  EXPECT_EQ(n144.split_tiles, 36);
  EXPECT_EQ(n144.splits, 3);
  // Clusters of two: 1536 pairs on 66 cluster slots = 23 waves + 18 pairs, each cut in 3.
  const TailSplit c2 = gallop_kernel_tail_split(GallopKernel::kSm90WsTwoPClusterSplit, p, 132);
  EXPECT_EQ(c2.cluster, 2);
  EXPECT_EQ(c2.full_tiles, 3036);
  EXPECT_EQ(c2.split_tiles, 36);
  EXPECT_EQ(c2.splits, 3);
  for (auto kernel : kAllGallopKernels) {
    if (kernel == GallopKernel::kSm90WsTwoPSplit || kernel == GallopKernel::kSm90WsTwoP144Split ||
        kernel == GallopKernel::kSm90WsTwoPClusterSplit)
      continue;
    const TailSplit none = gallop_kernel_tail_split(kernel, p, 132);
    EXPECT_EQ(none.split_tiles, 0);
    EXPECT_EQ(none.full_tiles, 12 * 256);
  }
  // 14B 720p: 591 tiles per head, padded to 592 for the pairs: 11840 pairs on 66 slots = 179 waves
  // + 26 pairs, cut in 2.
  p.heads = 40;
  p.len_q = p.len_k = 75600;
  const TailSplit c2_720 = gallop_kernel_tail_split(GallopKernel::kSm90WsTwoPClusterSplit, p, 132);
  EXPECT_EQ(c2_720.full_tiles + c2_720.split_tiles, 40 * 592);
  EXPECT_EQ(c2_720.split_tiles, 52);
  EXPECT_EQ(c2_720.splits, 2);
  // A device whose GPCs pair only 128 of 132 SMs: 64 slots, 1536 pairs = 24 full waves.
  p.heads = 12;
  p.len_q = p.len_k = 32760;
  EXPECT_EQ(gallop_kernel_tail_split(GallopKernel::kSm90WsTwoPClusterSplit, p, 128).split_tiles, 0);
}
#endif

}  // namespace
}  // namespace gallop::kernels::attn

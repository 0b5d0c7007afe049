// The plain parameters of one attention launch: the only thing the CUDA kernels see.
//
// No torch types here (the .cu files include this and must stay free of torch headers). All
// strides are in elements; the head dimension is contiguous (stride 1). The layout is the one
// the DiT uses, [B, L, H, D]: for a contiguous tensor row_stride = H*D and head_stride = D.
#pragma once

#include <cstdint>

namespace gallop::kernels::attn {

enum class ElementType : int32_t { kBf16 = 0, kFp16 = 1 };

// gallop's own attention kernels.
enum class GallopKernel : int32_t {
  kSm80,         // mma.sync, FlashAttention-2 schedule (Ampere, Ada, Hopper)
  kSm90,         // Hopper wgmma/TMA kernel, the variant tile_config.h chooses
  kSm90Serial,   // Hopper, S -> softmax -> P·V in order
  // Hopper, softmax overlapped with P·V (intra-warpgroup overlap), a producer warpgroup (warp
  // specialization, setmaxnreg) and two P buffers: P(j) is converted while P(j-1)·V(j-1) runs.
  kSm90WsTwoP,
  kSm90WsPingpongTwoP,  // kSm90WsTwoP + the two math warpgroups take turns on the tensor cores
  kSm90WsTwoPSplit,     // kSm90WsTwoP with the last wave's tiles split along the keys (tail_split.h)
  kSm90WsTwoP144,       // kSm90WsTwoP with 144-key blocks (head dim 128 only)
  kSm90WsTwoP144Split,  // kSm90WsTwoP144 with the last wave's tiles split along the keys
  kSm90WsTwoPCluster,   // kSm90WsTwoP in clusters of 2 CTAs sharing K/V loads (multicast; head dim 128)
  kSm90WsTwoP144Cluster,  // kSm90WsTwoP144 in clusters of 2 CTAs sharing K/V loads
  kSm90WsTwoPClusterSplit,  // kSm90WsTwoPCluster with the last wave's clusters split along the keys
  kSm90WsTwoPStages3,        // kSm90WsTwoP with three K/V stages (head dim 128; 64 has three already)
  kSm90WsTwoPClusterStages3,  // kSm90WsTwoPCluster with three K/V stages
  kSm90WsTwoPProfile,  // kSm90WsTwoP with cycle counters around its waits (AttentionParams::profile)
  kSm90WsPingpongTwoPCluster,  // kSm90WsPingpongTwoP in clusters of 2 CTAs sharing K/V loads (head dim 128)
};

// Every value above, for code that lists, tests or benchmarks them all.
inline constexpr GallopKernel kAllGallopKernels[] = {GallopKernel::kSm80, GallopKernel::kSm90,
                                                     GallopKernel::kSm90Serial, GallopKernel::kSm90WsTwoP,
                                                     GallopKernel::kSm90WsPingpongTwoP, GallopKernel::kSm90WsTwoPSplit,
                                                     GallopKernel::kSm90WsTwoP144, GallopKernel::kSm90WsTwoP144Split,
                                                     GallopKernel::kSm90WsTwoPCluster,
                                                     GallopKernel::kSm90WsTwoP144Cluster,
                                                     GallopKernel::kSm90WsTwoPClusterSplit,
                                                     GallopKernel::kSm90WsTwoPStages3,
                                                     GallopKernel::kSm90WsTwoPClusterStages3,
                                                     GallopKernel::kSm90WsTwoPProfile,
                                                     GallopKernel::kSm90WsPingpongTwoPCluster};

// What gallop-sm90-ws-p2-prof adds up in AttentionParams::profile: SM clock cycles summed over
// warps (the math warps' counters over every math warp of every CTA; the producer's over the one
// thread per CTA that issues the loads), except the two counts.
enum ProfileCounter : int {
  kProfMathWarps = 0,  // count: math warps
  kProfMathCta,        // each math warp from kernel entry to its last store
  kProfMathLoop,       // each math warp's key loop, from its wait for Q to its last P·V landing
  kProfWaitK,          // in the loop, waiting for Q and K(j) to land (TMA)
  kProfWaitV,          // ... for V(j) to land
  kProfWaitS,          // ... for S(j) = Q·K(j)ᵀ (wgmma)
  kProfWaitPV,         // ... for P(j)·V(j) (wgmma)
  kProfBlocks,         // count: key blocks, summed over math warps
  kProfProducerLoop,   // the producer's refill loop
  kProfProducerWait,   // ... waiting for both CTAs' warps to release a stage
  kProfileCounters,
};

struct AttentionParams {
  const void* q = nullptr;  // [B, Lq, H, D]
  const void* k = nullptr;  // [B, Lk, H, D]
  const void* v = nullptr;  // [B, Lk, H, D]
  void* o = nullptr;        // [B, Lq, H, D], same element type as q

  int64_t q_batch_stride = 0, q_row_stride = 0, q_head_stride = 0;
  int64_t k_batch_stride = 0, k_row_stride = 0, k_head_stride = 0;
  int64_t v_batch_stride = 0, v_row_stride = 0, v_head_stride = 0;
  int64_t o_batch_stride = 0, o_row_stride = 0, o_head_stride = 0;

  int32_t batch = 0;
  int32_t heads = 0;
  int32_t len_q = 0;
  int32_t len_k = 0;
  int32_t head_dim = 0;

  float scale = 0.f;       // softmax scale (1/sqrt(D) by default)
  float scale_log2 = 0.f;  // scale * log2(e): the kernels exponentiate with exp2

  // [B] valid key counts on the device (int32), or nullptr when all len_k keys are valid.
  // Keys j >= k_lens[b] are masked out; a row with no valid key gets zeros.
  const int32_t* k_lens = nullptr;

  ElementType dtype = ElementType::kBf16;

  // Hopper kernels only: the last wave's tiles split along the keys (tail_split.h). split_tiles = 0
  // is the plain launch, a (m_blocks, heads, batch) grid. Otherwise the grid is one-dimensional,
  // TailSplit's order, and the split CTAs write their partials here for the combine kernel.
  int64_t split_full_tiles = 0;
  int64_t split_tiles = 0;
  int32_t splits = 1;
  int32_t split_cluster = 1;   // CTAs per cluster of the split plan (TailSplit::cluster)
  float* split_o = nullptr;    // [split_tiles * splits, block_m, D]: each chunk's normalized output
  float* split_lse = nullptr;  // [split_tiles * splits, block_m]: its log2-sum-exp (chunk_lse2)

  // gallop-sm90-ws-p2-prof only: kProfileCounters zeroed counters the kernel adds to (atomically).
  unsigned long long* profile = nullptr;  // NOLINT(runtime/int): atomicAdd's 64-bit type
};

}  // namespace gallop::kernels::attn

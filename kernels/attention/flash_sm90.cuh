// FlashAttention-3-style forward kernel for Hopper (sm_90a): TMA loads, wgmma, an mbarrier
// producer/consumer pipeline between the loads and two math warpgroups, online softmax in fp32.
//
// Same contract as the sm_80 kernel (attention_params.h): O = softmax(Q·Kᵀ·scale)·V per (batch,
// head), bf16/fp16, head dims 64 and 128, non-causal, keys limited to k_lens[b].
//
// CTA = 2 math warpgroups (256 threads; the ws-p2 family adds a producer warpgroup in front), 128
// query rows of one (batch, head), 64 rows per math warpgroup.
//   Loads: thread 0 loads Q once and K(j), V(j) into stage j % kStages with 4-D TMA tile loads
//     ([D, L, H, B] tensor maps, 64-column boxes, 128-byte swizzle); each completes on a "full"
//     mbarrier with its byte count. The first kStages blocks are issued up front; after that,
//     once all 8 math warps have arrived on a stage's "empty" mbarrier, thread 0 refills it with
//     block j + kStages (serial: thread 0 of the math warps, at the end of its own iteration j,
//     when the other warpgroup has normally released the stage too; the ws-p2 family: the
//     producer warpgroup's thread 0, as soon as the stage is released).
//   Math, per warpgroup: S = Q·K(j)ᵀ is an SS
//     wgmma (m64 x block_n x k16 steps over D); the softmax runs on the accumulators in registers;
//     P (converted to 16-bit in registers, in the wgmma A-operand layout) times V(j) is an RS
//     wgmma with V read N-major. One lane per warp arrives on "empty" when K or V is consumed.
//   Schedules (tile_config.h): serial waits for each product before the next step. The ws-p2
//     family issues S(j) and P(j-1)·V(j-1) back to back and runs the softmax of block j while the
//     second product is still on the tensor cores (FA3's intra-warpgroup overlap), converting P(j)
//     into the P buffer that product does not read; O is rescaled once that product has landed.
//     ws-pingpong-p2 adds turns between the warpgroups: before issuing its products
//     a warpgroup waits for its own turn, afterwards it passes the turn to the other, so the
//     warpgroups alternate on the tensor cores and each one's softmax runs during the other's
//     products. Turns per warpgroup: n_blocks + 1 issue segments (S(0); S(j) + P(j-1)·V(j-1) for
//     j = 1..n-1; P(n-1)·V(n-1)); warpgroup 1 arrives first, once, to let warpgroup 0 start, and
//     skips its arrival after its last segment, so that every arrival meets exactly one wait.
//     The turns are hardware named barriers (bar.sync / bar.arrive over the 256 math threads, as
//     in FlashAttention-3): until 2026-11-26 they were mbarriers polled with try_wait, and that
//     ping-pong ran 0.3-2% slower than the same loop without turns (H200). A named barrier counts
//     arrivals without phases, so a warpgroup must never arrive twice before the other has waited
//     once; the alternation guarantees it (a warpgroup's next arrival follows its own next turn,
//     which needs the other's arrival, which follows the other's wait).
// Split launches (tail_split.h; the -split kernel names): the grid is one-dimensional, the tiles of
// the last partial wave run as several CTAs over contiguous ranges of key blocks, and those CTAs
// write their normalized fp32 output and log2-sum-exp instead of the output; split_combine_kernel
// merges them. The key loop is the same (its block index is offset by the chunk's first block).
// Cluster launches (ws-p2-c2, head dim 128): CTAs run in clusters of two on adjacent query tiles of
// one (batch, head), hence the same keys. Each CTA's producer loads one 64-column half of K(j) and
// V(j) and multicasts it into both CTAs' stage, completing on both CTAs' "full" barriers (each
// expects the whole block); every math warp releases a stage on both CTAs' "empty" barriers (16
// arrivals), so neither producer refills a stage that either CTA still reads. The barriers are
// initialized on both sides before anything crosses (a cluster barrier), and each producer waits
// for the last releases before it exits: the other CTA's warps arrive on this CTA's barriers until
// then. tests/kernels/sm90_pipeline_model_test.py replays this protocol too.
// Keys past kv_end inside the last block are masked to -inf; rows and keys past the tensor's end
// are zero-filled by TMA. The output goes straight from registers to global memory (4-byte
// stores; the output is small next to the O(L²) work).
//
// Every wait on an mbarrier aborts the kernel after ~10 s (ptx_sm90.cuh, DeadlockAbort: a trap, or
// for the warp-specialized variants an illegal-address error), so a pipeline bug fails the launch
// instead of hanging; the ping-pong turns' named barriers cannot time out (their protocol is
// replayed by tests/kernels/sm90_pipeline_model_test.py). Tiles:
// tile_config.h. Build: ARCHS 90a only.
#pragma once

#include <cuda.h>
#include <cuda_runtime.h>

#include <cmath>

#include "kernels/attention/attention_params.h"
#include "kernels/attention/ptx_sm80.cuh"
#include "kernels/attention/ptx_sm90.cuh"
#include "kernels/attention/tail_split.h"
#include "kernels/attention/tile_config.h"
#include "kernels/attention/wgmma_sm90.cuh"

namespace gallop::kernels::attn {

// What the Hopper kernel receives: the plain parameters plus the TMA descriptors built from them
// on the host (CUtensorMap is an opaque 128-byte blob; it must live in kernel parameter space,
// hence __grid_constant__).
struct Sm90Params {
  CUtensorMap tmap_q;
  CUtensorMap tmap_k;
  CUtensorMap tmap_v;
  AttentionParams p;
};

namespace sm90 {

// serial: two warpgroups and no separate producer; thread 0 issues the TMA loads between its own
// math. 256 threads under __launch_bounds__(256, 1) may use up to 255 registers.
// The ws-p2 family: a producer warpgroup in front (thread 0 issues every load), 384 threads launched
// at 168 registers each; the producer drops to 24 and the math warpgroups rise to 240
// (128 x 24 + 256 x 240 = 384 x 168). ptxas reports the launch figure (168) for the kernel but
// allocates the code after setmaxnreg.inc with up to 240.
GALLOP_TILE_FN constexpr int sm90_threads(Sm90Schedule s) { return sm90_warp_specialized(s) ? 384 : 256; }
constexpr int kProducerRegs = 24;
constexpr int kMathRegs = 240;
constexpr int kConsumerWarps = 8;  // arrivals on each "empty" barrier
constexpr int kSwizzleRowBytes = 128;   // one 128-byte-swizzled row = 64 16-bit elements
constexpr int kSwizzleAtomBytes = 1024; // 8 rows
// Ping-pong turns: named barrier kTurnBarrier + w is warpgroup w's "your turn", completed by its
// 128 threads waiting and the other math warpgroup's 128 arriving.
constexpr uint32_t kTurnBarrier = 1;
constexpr uint32_t kTurnThreads = 256;

template <int kHeadDim, int kBlockM, int kBlockN, int kStages>
struct SmemLayout {
  static constexpr int kQBytes = kBlockM * kHeadDim * 2;
  static constexpr int kKVBytes = kBlockN * kHeadDim * 2;
  static constexpr int kQ = 0;
  static constexpr int kK = kQ + kQBytes;
  static constexpr int kV = kK + kStages * kKVBytes;
  static constexpr int kBarriers = kV + kStages * kKVBytes;
  // full_q, full_k[S], full_v[S], empty_k[S], empty_v[S]
  static constexpr int kTotal = kBarriers + (1 + 4 * kStages) * 8;
  static_assert(kQBytes % kSwizzleAtomBytes == 0 && kKVBytes % kSwizzleAtomBytes == 0, "tiles must keep 1 KB alignment");
};

#if defined(GALLOP_SM90A_DEVICE)

template <int N>
__device__ __forceinline__ void fence_array(float (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) ptx90::fence_operand(r[i]);
}
template <int N>
__device__ __forceinline__ void fence_array(uint32_t (&r)[N][4]) {
#pragma unroll
  for (int i = 0; i < N; ++i)
#pragma unroll
    for (int e = 0; e < 4; ++e) ptx90::fence_operand(r[i][e]);
}

// Holds the wait for P(j-1)·V(j-1) behind the softmax of block j, as the overlapped key loop
// needs. ptxas treats the A registers of an RS wgmma as dead once it is issued and moves
// wgmma.wait_group freely within a basic block; in the SASS of the first overlapped variant (CUDA
// 13.0, checked with cuobjdump) the wait for P·V landed above the softmax, either because the
// softmax's row sums were given P's registers or, with those kept, by the scheduler's choice,
// undoing the overlap. A branch on a value the softmax produces (a row sum, never negative) ends
// the basic block after the softmax, and reading P's fragments inside it keeps their registers
// allocated until then. The branch is never taken. Reading the new P (r2) in the branch too keeps
// ptxas from sinking its conversion below the P·V wait (it moved half of it there otherwise).
template <int N>
__device__ __forceinline__ void keep_live(const uint32_t (&r)[N][4], const uint32_t (&r2)[N][4], bool never,
                                          void* sink) {
  if (never) {
    uint32_t x = 0;
#pragma unroll
    for (int i = 0; i < N; ++i)
#pragma unroll
      for (int e = 0; e < 4; ++e) x ^= r[i][e] ^ r2[i][e];
    *static_cast<volatile uint32_t*>(sink) = x;
  }
}

// One consumer warpgroup's view of the running softmax for its two rows per thread.
template <int kBlockN>
struct SoftmaxState {
  float row_max[2];
  float row_sum[2];  // per-thread partial sums (reduced over the quad at the end)
};

// Masks keys >= kv_end (key0 = first key of this block), then folds the block into the running
// max: s becomes exp2(s * scale_log2 - max * scale_log2), `correction` receives the factor by
// which the previous O and sums must be scaled, `block_sum` this block's partial row sums.
template <int kBlockN>
__device__ __forceinline__ void softmax_block(float (&s)[kBlockN / 2], SoftmaxState<kBlockN>& st, bool mask, int key0,
                                              int kv_end, int t, float scale_log2, float (&correction)[2],
                                              float (&block_sum)[2]) {
  if (mask) {
#pragma unroll
    for (int i = 0; i < kBlockN / 8; ++i)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        if (key0 + 8 * i + 2 * t + (e & 1) >= kv_end) s[4 * i + e] = -INFINITY;
  }
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float mx = st.row_max[r];
#pragma unroll
    for (int i = 0; i < kBlockN / 8; ++i) mx = fmaxf(mx, fmaxf(s[4 * i + 2 * r], s[4 * i + 2 * r + 1]));
    mx = ptx::quad_max(mx);  // finite: every block holds at least one valid key
    // Exactly 1 when the max did not move (rescale_o then skips the warp's O rescale).
    correction[r] = mx == st.row_max[r] ? 1.f : ptx90::exp2_ftz((st.row_max[r] - mx) * scale_log2);
    st.row_max[r] = mx;
    const float max_scaled = mx * scale_log2;
    float sum = 0.f;
#pragma unroll
    for (int i = 0; i < kBlockN / 8; ++i) {
#pragma unroll
      for (int e = 2 * r; e < 2 * r + 2; ++e) {
        const float pe = ptx90::exp2_ftz(fmaf(s[4 * i + e], scale_log2, -max_scaled));
        s[4 * i + e] = pe;
        sum += pe;
      }
    }
    block_sum[r] = sum;
  }
}

// P (fp32 accumulator layout) -> 16-bit A fragments, one per 16-key step.
template <typename T, int kBlockN>
__device__ __forceinline__ void convert_p(const float (&s)[kBlockN / 2], uint32_t (&pf)[kBlockN / 16][4]) {
#pragma unroll
  for (int kk = 0; kk < kBlockN / 16; ++kk) {
    pf[kk][0] = ptx::pack2<T>(s[8 * kk + 0], s[8 * kk + 1]);
    pf[kk][1] = ptx::pack2<T>(s[8 * kk + 2], s[8 * kk + 3]);
    pf[kk][2] = ptx::pack2<T>(s[8 * kk + 4], s[8 * kk + 5]);
    pf[kk][3] = ptx::pack2<T>(s[8 * kk + 6], s[8 * kk + 7]);
  }
}

// Scales O by the correction factors. When no row of the warp changed its max in this block (all
// factors exactly 1: after the first blocks of a long row, the common case) the warp skips the
// kHeadDim / 2 multiplies: a warp-uniform branch, so a skipped rescale costs no issue slots, and
// the result is the same either way.
template <int kHeadDim>
__device__ __forceinline__ void rescale_o(float (&o)[kHeadDim / 2], const float (&correction)[2]) {
  if (!__any_sync(0xffffffffu, correction[0] != 1.f || correction[1] != 1.f)) return;
#pragma unroll
  for (int i = 0; i < kHeadDim / 8; ++i) {
    o[4 * i + 0] *= correction[0];
    o[4 * i + 1] *= correction[0];
    o[4 * i + 2] *= correction[1];
    o[4 * i + 3] *= correction[1];
  }
}

#endif  // GALLOP_SM90A_DEVICE

// kStageCount: the K/V stages, 0 for the tile's (sm90_stages).
template <typename T, int kHeadDim, Sm90Schedule kSchedule, int kBlockN, int kStageCount>
__global__ void __launch_bounds__(sm90_threads(kSchedule), 1)
    flash_fwd_sm90_kernel(const __grid_constant__ Sm90Params params) {
#if defined(GALLOP_SM90A_DEVICE)
  // Every schedule but serial is ws-p2's overlapped key loop with a producer warpgroup and two P
  // buffers, plus turns (ws-pingpong-p2), clusters (ws-p2-c2), both (ws-pingpong-p2-c2) or cycle
  // counters (ws-p2-prof).
  constexpr bool kWs = sm90_warp_specialized(kSchedule);
  constexpr bool kPingpong =
      kSchedule == Sm90Schedule::kWsPingpongTwoP || kSchedule == Sm90Schedule::kWsPingpongTwoPCluster;
  constexpr bool kCluster = sm90_cluster(kSchedule);
  constexpr bool kProfile = kSchedule == Sm90Schedule::kWsTwoPProfile;  // ws-p2 + cycle counters
  [[maybe_unused]] const uint32_t t_entry = kProfile ? ptx90::clock32() : 0;
  static_assert(!kWs || kProducerRegs * 128 + kMathRegs * 256 <= 65536, "register split");
  // See DeadlockAbort: serial's loader waits while products are in flight.
  constexpr auto kAbort = kWs ? ptx90::DeadlockAbort::kIllegalStore : ptx90::DeadlockAbort::kTrap;
  constexpr Sm90Tile kTile = sm90_tile(kHeadDim);
  constexpr int kBlockM = kTile.block_m;
  constexpr int kStages = sm90_stages(kHeadDim, kStageCount);
  using Layout = SmemLayout<kHeadDim, kBlockM, kBlockN, kStages>;
  constexpr int kColBlocks = kHeadDim / 64;  // 64-column (128-byte) boxes per row
  static_assert(kBlockM == 128, "two consumer warpgroups of 64 rows");
  static_assert(kHeadDim == 64 || kHeadDim == 128, "head dim");
  static_assert(kBlockN == 64 || kBlockN == 128 || kBlockN == 144, "key block");
  static_assert(!kWs || kBlockN <= 144, "two P buffers fit the registers only up to 144 keys");
  // A cluster's CTAs each load one 64-column half of every K and V block.
  static_assert(!kCluster || kColBlocks == kSm90ClusterSize, "clusters need head dim 128");

  const AttentionParams& p = params.p;
  extern __shared__ unsigned char smem_raw[];
  // Align to the 1 KB swizzle atom (the launch reserves the slack).
  const uint32_t smem_base = (ptx90::smem_u32(smem_raw) + kSwizzleAtomBytes - 1) & ~uint32_t(kSwizzleAtomBytes - 1);
  const uint32_t sQ = smem_base + Layout::kQ;
  const uint32_t bars = smem_base + Layout::kBarriers;
  auto sK = [&](int s) { return smem_base + Layout::kK + s * Layout::kKVBytes; };
  auto sV = [&](int s) { return smem_base + Layout::kV + s * Layout::kKVBytes; };
  const uint32_t full_q = bars;
  auto full_k = [&](int s) { return bars + 8 * (1 + s); };
  auto full_v = [&](int s) { return bars + 8 * (1 + kStages + s); };
  auto empty_k = [&](int s) { return bars + 8 * (1 + 2 * kStages + s); };
  auto empty_v = [&](int s) { return bars + 8 * (1 + 3 * kStages + s); };

  // The tile this CTA runs and, in a split launch (tail_split.h), its key chunk (-1: every key).
  int m_block = blockIdx.x, head = blockIdx.y, batch = blockIdx.z, chunk = -1;
  int64_t partial = -1;
  if (p.split_tiles > 0) {
    const SplitCta cta =
        split_cta(TailSplit{p.split_full_tiles, p.split_tiles, p.splits, p.split_cluster}, blockIdx.x);
    const int m_blocks = padded_m_blocks(p.len_q, kBlockM, p.split_cluster);
    m_block = static_cast<int>(cta.tile % m_blocks);
    head = static_cast<int>((cta.tile / m_blocks) % p.heads);
    batch = static_cast<int>(cta.tile / m_blocks / p.heads);
    chunk = cta.chunk;
    partial = cta.partial;
  }
  // Read through a shuffle from lane 0, so that ptxas knows it is warp-uniform and keeps what is
  // derived from it (the Q descriptor) in uniform registers instead of moving it there per wgmma.
  const int warpgroup = __shfl_sync(0xffffffffu, static_cast<int>(threadIdx.x / 128), 0);
  // Math warpgroup index: rows [64 * consumer, 64 * consumer + 64) of the tile (-1: the producer).
  const int consumer = kWs ? warpgroup - 1 : warpgroup;
  const int tid = threadIdx.x % 128;
  const int warp = tid / 32;
  const int lane = tid % 32;
  const int g = lane / 4;
  const int t = lane % 4;
  const bool loader = threadIdx.x == 0;  // the one thread that issues TMA loads
  // ws-p2-c2: this CTA's rank in its cluster of two (the other one is `peer`), which is also the
  // 64-column half of K and V that its producer loads for both.
  const uint32_t cta_rank = kCluster ? ptx90::cluster_ctarank() : 0;
  const uint32_t peer = cta_rank ^ 1;

  int kv_end = p.len_k;
  if (p.k_lens != nullptr) kv_end = max(0, min(p.k_lens[batch], p.len_k));
  // Key blocks [block0, block0 + n_blocks); j below counts from block0.
  int block0 = 0;
  int n_blocks = (kv_end + kBlockN - 1) / kBlockN;
  if (chunk >= 0) {
    const KeyChunk kc = key_chunk(n_blocks, chunk, p.splits);
    block0 = kc.begin;
    n_blocks = kc.end - kc.begin;
  }
  const int key_base = block0 * kBlockN;

  // ws-p2-prof: cycles spent in each kind of wait (ProfileCounter), per thread; lane 0 of each math
  // warp and the loader add theirs to params.p.profile at the end. No-ops in every other variant.
  [[maybe_unused]] uint32_t prof_k = 0, prof_v = 0, prof_s = 0, prof_pv = 0;
  auto timed = [&](uint32_t& acc, const auto& wait) {
    if constexpr (kProfile) {
      const uint32_t t0 = ptx90::clock32();
      wait();
      acc += ptx90::clock32() - t0;
    } else {
      wait();
    }
  };
  auto add_profile = [&](ProfileCounter c, uint32_t value) {
    if constexpr (kProfile) atomicAdd(p.profile + c, static_cast<unsigned long long>(value));  // NOLINT(runtime/int)
  };

  // ---- loads (issued by `loader` only) ----
  // Every CTA expects the whole block on its own "full" barrier; in a cluster, half of the bytes come
  // from the other CTA's multicast (which may land before this expect_tx: the phase cannot complete
  // without this arrival, and the transaction count may go below zero meanwhile).
  auto load_kv = [&](uint32_t dst, const CUtensorMap* map, uint32_t bar, int j) {
    ptx90::mbarrier_arrive_expect_tx(bar, Layout::kKVBytes);
    if constexpr (kCluster) {
      ptx90::tma_load_4d_multicast(dst + cta_rank * kBlockN * kSwizzleRowBytes, map, bar, 0x3,
                                   static_cast<int>(cta_rank) * 64, key_base + j * kBlockN, head, batch);
    } else {
#pragma unroll
      for (int cb = 0; cb < kColBlocks; ++cb)
        ptx90::tma_load_4d(dst + cb * kBlockN * kSwizzleRowBytes, map, bar, cb * 64, key_base + j * kBlockN, head,
                           batch);
    }
  };
  auto load_k = [&](int j) { load_kv(sK(j % kStages), &params.tmap_k, full_k(j % kStages), j); };
  auto load_v = [&](int j) { load_kv(sV(j % kStages), &params.tmap_v, full_v(j % kStages), j); };
  // serial: once every warp has released block j's K (V), its stage is refilled with block
  // j + kStages. Warp 0 reconverges afterwards: the wgmma instructions that follow are
  // warp-synchronous.
  auto refill_k = [&](int j) {
    if (loader && j + kStages < n_blocks) {
      ptx90::mbarrier_wait<kAbort>(empty_k(j % kStages), (j / kStages) & 1);
      load_k(j + kStages);
    }
    __syncwarp();
  };
  auto refill_v = [&](int j) {
    if (loader && j + kStages < n_blocks) {
      ptx90::mbarrier_wait<kAbort>(empty_v(j % kStages), (j / kStages) & 1);
      load_v(j + kStages);
    }
    __syncwarp();
  };

  if (loader) {
    ptx90::prefetch_tensor_map(&params.tmap_q);
    ptx90::prefetch_tensor_map(&params.tmap_k);
    ptx90::prefetch_tensor_map(&params.tmap_v);
    ptx90::mbarrier_init(full_q, 1);
    for (int s = 0; s < kStages; ++s) {
      ptx90::mbarrier_init(full_k(s), 1);
      ptx90::mbarrier_init(full_v(s), 1);
      // In a cluster, the math warps of both CTAs release every stage of both.
      ptx90::mbarrier_init(empty_k(s), kConsumerWarps * (kCluster ? kSm90ClusterSize : 1));
      ptx90::mbarrier_init(empty_v(s), kConsumerWarps * (kCluster ? kSm90ClusterSize : 1));
    }
    ptx90::mbarrier_init_fence();
    ptx90::mbarrier_arrive_expect_tx(full_q, Layout::kQBytes);
    // A cluster launch's padding CTA (past the last tile) reads the last tile's rows; it stores nothing.
    const int q_block = kCluster ? min(m_block, (p.len_q - 1) / kBlockM) : m_block;
#pragma unroll
    for (int cb = 0; cb < kColBlocks; ++cb)
      ptx90::tma_load_4d(sQ + cb * kBlockM * kSwizzleRowBytes, &params.tmap_q, full_q, cb * 64, q_block * kBlockM, head,
                         batch);
    if constexpr (!kCluster) {
      for (int j = 0; j < kStages && j < n_blocks; ++j) {
        load_k(j);
        load_v(j);
      }
    }
  }
  if constexpr (kCluster) {
    // Both CTAs' barriers are initialized before either multicasts into the other or arrives on it.
    ptx90::cluster_sync();
    if (loader) {
      for (int j = 0; j < kStages && j < n_blocks; ++j) {
        load_k(j);
        load_v(j);
      }
    }
  } else {
    __syncthreads();  // barriers initialized before anyone waits on them
  }

  if constexpr (kWs) {
    if (warpgroup == 0) {
      // The producer: block j goes into the stage of block j - kStages once all 8 math warps
      // have released that block's K (V). Its warps leave when it is done; the loads it issued
      // complete on the "full" barriers regardless.
      ptx90::setmaxnreg_dec<kProducerRegs>();
      if (loader) {
        [[maybe_unused]] const uint32_t t_loop = kProfile ? ptx90::clock32() : 0;
        uint32_t prof_wait = 0;
        for (int j = kStages; j < n_blocks; ++j) {
          const int r = j - kStages;
          timed(prof_wait, [&] { ptx90::mbarrier_wait<kAbort>(empty_k(r % kStages), (r / kStages) & 1); });
          load_k(j);
          timed(prof_wait, [&] { ptx90::mbarrier_wait<kAbort>(empty_v(r % kStages), (r / kStages) & 1); });
          load_v(j);
        }
        if constexpr (kProfile) {
          add_profile(kProfProducerLoop, ptx90::clock32() - t_loop);
          add_profile(kProfProducerWait, prof_wait);
        }
        if constexpr (kCluster) {
          // The other CTA's math warps arrive on this CTA's "empty" barriers for every block, the
          // last ones included; the CTA must not exit before they have (its barriers would be gone).
          for (int r = max(0, n_blocks - kStages); r < n_blocks; ++r) {
            ptx90::mbarrier_wait<kAbort>(empty_k(r % kStages), (r / kStages) & 1);
            ptx90::mbarrier_wait<kAbort>(empty_v(r % kStages), (r / kStages) & 1);
          }
        }
      }
      return;
    }
    ptx90::setmaxnreg_inc<kMathRegs>();
  }

  // ---- wgmma operand descriptors: one per operand, advanced per k-step and stage ----
  static_assert(Layout::kTotal + kSwizzleAtomBytes <= 256 * 1024, "advance_desc needs operands below 256 KB");
  const uint64_t q_desc = ptx90::make_smem_desc(sQ + consumer * 64 * kSwizzleRowBytes, 16, kSwizzleAtomBytes);
  const uint64_t k_desc = ptx90::make_smem_desc(sK(0), 16, kSwizzleAtomBytes);
  const uint64_t v_desc = ptx90::make_smem_desc(sV(0), kBlockN * kSwizzleRowBytes, kSwizzleAtomBytes);
  auto desc_q = [&](int ks) {
    return ptx90::advance_desc(q_desc, (ks / 4) * kBlockM * kSwizzleRowBytes + (ks % 4) * 32);
  };
  auto desc_k = [&](uint64_t stage_desc, int ks) {  // stage_desc: k_desc advanced to the stage
    return ptx90::advance_desc(stage_desc, (ks / 4) * kBlockN * kSwizzleRowBytes + (ks % 4) * 32);
  };
  auto desc_v = [&](uint64_t stage_desc, int kk) {
    return ptx90::advance_desc(stage_desc, kk * 16 * kSwizzleRowBytes);
  };
  auto release = [&](uint32_t bar) {
    __syncwarp();
    if (lane == 0) {
      ptx90::mbarrier_arrive(bar);
      if constexpr (kCluster) ptx90::mbarrier_arrive_cluster(bar, peer);  // its producer refills ours too
    }
  };

  float o[kHeadDim / 2];
#pragma unroll
  for (int i = 0; i < kHeadDim / 2; ++i) o[i] = 0.f;
  float s[kBlockN / 2];
  using PFragments = uint32_t[kBlockN / 16][4];
  PFragments pf;
  PFragments pf2;  // the overlapped loop only: P of the odd blocks
  SoftmaxState<kBlockN> st;
  st.row_max[0] = st.row_max[1] = -INFINITY;
  st.row_sum[0] = st.row_sum[1] = 0.f;
  float correction[2];
  float block_sum[2];
  const bool last_partial = (block0 + n_blocks) * kBlockN > kv_end;

  // The mbarrier waits before these may leave a warp diverged; wgmma needs it converged.
  auto issue_s = [&](int stage) {
    __syncwarp();
    fence_array(s);
    ptx90::wgmma_fence();
    const uint64_t stage_desc = ptx90::advance_desc(k_desc, stage * Layout::kKVBytes);
#pragma unroll
    for (int ks = 0; ks < kHeadDim / 16; ++ks)
      ptx90::wgmma_ss<T, kBlockN>(s, desc_q(ks), desc_k(stage_desc, ks), ks > 0 ? 1 : 0);
    ptx90::wgmma_commit();
  };
  auto issue_pv = [&](int stage, PFragments& p_frag) {
    __syncwarp();
    fence_array(o);
    fence_array(p_frag);
    ptx90::wgmma_fence();
    const uint64_t stage_desc = ptx90::advance_desc(v_desc, stage * Layout::kKVBytes);
#pragma unroll
    for (int kk = 0; kk < kBlockN / 16; ++kk) ptx90::wgmma_rs<T, kHeadDim>(o, p_frag[kk], desc_v(stage_desc, kk), 1);
    ptx90::wgmma_commit();
  };

  // Ping-pong turns (no-ops for the other schedules): wait for this warpgroup's turn, hand the
  // turn to the other one. Callers are converged warps (bar.sync/bar.arrive are warp-aligned).
  auto take_turn = [&] {
    if constexpr (kPingpong) ptx90::named_barrier_sync(kTurnBarrier + consumer, kTurnThreads);
  };
  auto pass_turn = [&](bool last_segment) {
    if constexpr (kPingpong) {
      if (!(last_segment && consumer == 1)) ptx90::named_barrier_arrive(kTurnBarrier + 1 - consumer, kTurnThreads);
    }
  };
  if constexpr (kPingpong) {
    if (consumer == 1 && n_blocks > 0) pass_turn(false);  // warpgroup 0 goes first
  }

  [[maybe_unused]] const uint32_t t_loop = kProfile ? ptx90::clock32() : 0;
  timed(prof_k, [&] { ptx90::mbarrier_wait<kAbort>(full_q, 0); });

  if constexpr (!kWs) {
    for (int j = 0; j < n_blocks; ++j) {
      const int stage = j % kStages;
      const uint32_t phase = (j / kStages) & 1;
      ptx90::mbarrier_wait<kAbort>(full_k(stage), phase);
      issue_s(stage);
      ptx90::wgmma_wait<0>();
      fence_array(s);
      release(empty_k(stage));
      softmax_block<kBlockN>(s, st, last_partial && j == n_blocks - 1, key_base + j * kBlockN, kv_end, t, p.scale_log2,
                             correction, block_sum);
      rescale_o<kHeadDim>(o, correction);
      st.row_sum[0] = st.row_sum[0] * correction[0] + block_sum[0];
      st.row_sum[1] = st.row_sum[1] * correction[1] + block_sum[1];
      convert_p<T, kBlockN>(s, pf);
      ptx90::mbarrier_wait<kAbort>(full_v(stage), phase);
      issue_pv(stage, pf);
      ptx90::wgmma_wait<0>();
      fence_array(o);
      fence_array(pf);
      release(empty_v(stage));
      refill_k(j);
      refill_v(j);
    }
  } else if (n_blocks > 0) {
    // The producer warpgroup refills the stages (above). tests/kernels/sm90_pipeline_model_test.py
    // replays this protocol (every schedule, 2 and 3 stages, 0 to 8 blocks) under random
    // interleavings of the warpgroups, the producer and TMA: no deadlock, every stage read holds
    // the block expected; with the release of K(0) missing it deadlocks. Keep the model in step with
    // any change to the loop.
    timed(prof_k, [&] { ptx90::mbarrier_wait<kAbort>(full_k(0), 0); });
    __syncwarp();
    take_turn();
    issue_s(0);
    pass_turn(false);
    timed(prof_s, [&] { ptx90::wgmma_wait<0>(); });
    fence_array(s);
    release(empty_k(0));
    softmax_block<kBlockN>(s, st, last_partial && n_blocks == 1, key_base, kv_end, t, p.scale_log2, correction,
                           block_sum);
    st.row_sum[0] = block_sum[0];
    st.row_sum[1] = block_sum[1];
    convert_p<T, kBlockN>(s, pf);
    // One iteration: S(j) and P(j-1)·V(j-1), P(j-1) read from p_prev; P(j) goes to p_next (the
    // iterations alternate the two buffers).
    auto step = [&](int j, PFragments& p_prev, PFragments& p_next) {
      const int stage = j % kStages;
      const uint32_t phase = (j / kStages) & 1;
      const int prev = (j - 1) % kStages;
      const uint32_t prev_phase = ((j - 1) / kStages) & 1;
      timed(prof_k, [&] { ptx90::mbarrier_wait<kAbort>(full_k(stage), phase); });
      timed(prof_v, [&] { ptx90::mbarrier_wait<kAbort>(full_v(prev), prev_phase); });
      __syncwarp();
      take_turn();
      issue_s(stage);                                   // S(j) = Q·K(j)ᵀ
      issue_pv(prev, p_prev);                           // O += P(j-1)·V(j-1), still in flight below
      pass_turn(false);
      // Where the first overlapped loop's math warps refilled K(j-1) and V(j-2) (removed with the
      // schedules that lacked a producer): ptxas schedules the loop around these two points of
      // reconvergence, and with them the instructions stay exactly as timed on the H200 (2026-11-26,
      // ws-p2 632.8-657.1 TFLOP/s). Without them the same instructions come out in another order,
      // which no run has timed yet.
      __syncwarp();
      if (j >= 2) __syncwarp();
      timed(prof_s, [] { ptx90::wgmma_wait<1>(); });    // S(j) has landed
      fence_array(s);
      release(empty_k(stage));
      softmax_block<kBlockN>(s, st, last_partial && j == n_blocks - 1, key_base + j * kBlockN, kv_end, t, p.scale_log2,
                             correction, block_sum);
      // P(j) into the other buffer while P(j-1)·V(j-1) still runs; keep_live after it holds
      // p_prev's registers allocated (ptxas cannot give them to p_next, which would need the
      // product's wait first) and p_next's conversion above the wait.
      convert_p<T, kBlockN>(s, p_next);
      keep_live(p_prev, p_next, block_sum[0] < 0.f, p.o);
      timed(prof_pv, [] { ptx90::wgmma_wait<0>(); });   // P(j-1)·V(j-1) has landed
      fence_array(o);
      fence_array(p_prev);
      release(empty_v(prev));
      rescale_o<kHeadDim>(o, correction);
      st.row_sum[0] = st.row_sum[0] * correction[0] + block_sum[0];
      st.row_sum[1] = st.row_sum[1] * correction[1] + block_sum[1];
    };
    // Unrolled by two so that each iteration names its buffers statically (a run-time index into a
    // register array would put it in local memory): P(j) sits in pf for even j, pf2 for odd.
    int j = 1;
    for (; j + 1 < n_blocks; j += 2) {
      step(j, pf, pf2);
      step(j + 1, pf2, pf);
    }
    if (j < n_blocks) step(j, pf, pf2);
    const bool last_in_pf2 = ((n_blocks - 1) & 1) != 0;
    const int last = (n_blocks - 1) % kStages;
    timed(prof_v, [&] { ptx90::mbarrier_wait<kAbort>(full_v(last), ((n_blocks - 1) / kStages) & 1); });
    __syncwarp();
    take_turn();
    if (last_in_pf2) {
      issue_pv(last, pf2);
    } else {
      issue_pv(last, pf);
    }
    pass_turn(true);
    timed(prof_pv, [] { ptx90::wgmma_wait<0>(); });
    fence_array(o);
    release(empty_v(last));
  }

  [[maybe_unused]] const uint32_t loop_cycles = kProfile ? ptx90::clock32() - t_loop : 0;

  // ---- epilogue: O / l straight to global memory ----
  if (chunk >= 0) {
    // A key chunk of a split tile: its normalized output and log2-sum-exp, fp32, for the combine.
    float* part = p.split_o + partial * kBlockM * kHeadDim;
    const int tile_row_a = consumer * 64 + warp * 16 + g;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const float l = ptx::quad_sum(st.row_sum[r]);
      const float inv = l > 0.f ? 1.f / l : 0.f;
      const int tile_row = tile_row_a + 8 * r;
      if (m_block * kBlockM + tile_row < p.len_q) {
        float* dst = part + tile_row * kHeadDim + 2 * t;
#pragma unroll
        for (int i = 0; i < kHeadDim / 8; ++i)
          *reinterpret_cast<float2*>(dst + 8 * i) = make_float2(o[4 * i + 2 * r] * inv, o[4 * i + 2 * r + 1] * inv);
        if (t == 0) p.split_lse[partial * kBlockM + tile_row] = chunk_lse2(st.row_max[r], l, p.scale_log2);
      }
    }
    return;
  }
  T* out = static_cast<T*>(p.o) + batch * p.o_batch_stride + head * p.o_head_stride;
  const int row_a = m_block * kBlockM + consumer * 64 + warp * 16 + g;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const float l = ptx::quad_sum(st.row_sum[r]);
    const float inv = l > 0.f ? 1.f / l : 0.f;
    const int row = row_a + 8 * r;
    if (row < p.len_q) {
      T* dst = out + static_cast<int64_t>(row) * p.o_row_stride + 2 * t;
#pragma unroll
      for (int i = 0; i < kHeadDim / 8; ++i)
        *reinterpret_cast<uint32_t*>(dst + 8 * i) = ptx::pack2<T>(o[4 * i + 2 * r] * inv, o[4 * i + 2 * r + 1] * inv);
    }
  }
  if constexpr (kProfile) {
    if (lane == 0) {
      add_profile(kProfMathWarps, 1);
      add_profile(kProfMathCta, ptx90::clock32() - t_entry);
      add_profile(kProfMathLoop, loop_cycles);
      add_profile(kProfWaitK, prof_k);
      add_profile(kProfWaitV, prof_v);
      add_profile(kProfWaitS, prof_s);
      add_profile(kProfWaitPV, prof_pv);
      add_profile(kProfBlocks, static_cast<uint32_t>(n_blocks));
    }
  }
#endif  // GALLOP_SM90A_DEVICE
}

// Merges the key chunks of a split launch (tail_split.h): one warp per query row of a split tile,
// each lane owning kHeadDim / 32 adjacent columns; out = sum_c w_c O_c with chunk_weights. Rows
// past len_q have no partial and are skipped. Grid: split_tiles * block_m / 4 CTAs of 128 threads.
template <typename T, int kHeadDim, int kBlockM>
__global__ void __launch_bounds__(128) split_combine_kernel(const AttentionParams p) {
  constexpr int kCols = kHeadDim / 32;
  static_assert(kCols % 2 == 0, "two columns per store");
  const int64_t row_id = static_cast<int64_t>(blockIdx.x) * 4 + threadIdx.x / 32;  // over split tiles' rows
  const int lane = threadIdx.x % 32;
  if (row_id >= p.split_tiles * kBlockM) return;
  const int64_t tile = p.split_full_tiles + row_id / kBlockM;
  const int tile_row = static_cast<int>(row_id % kBlockM);
  const int m_blocks = padded_m_blocks(p.len_q, kBlockM, p.split_cluster);
  const int row = static_cast<int>(tile % m_blocks) * kBlockM + tile_row;
  if (row >= p.len_q) return;
  const int head = static_cast<int>((tile / m_blocks) % p.heads);
  const int batch = static_cast<int>(tile / m_blocks / p.heads);

  const int64_t first = (row_id / kBlockM) * p.splits;  // the tile's first partial
  float lse[kMaxTailSplits];
  float w[kMaxTailSplits];
#pragma unroll
  for (int c = 0; c < kMaxTailSplits; ++c)
    lse[c] = c < p.splits ? p.split_lse[(first + c) * kBlockM + tile_row] : -INFINITY;
  chunk_weights(lse, w);
  float acc[kCols];
#pragma unroll
  for (int e = 0; e < kCols; ++e) acc[e] = 0.f;
#pragma unroll
  for (int c = 0; c < kMaxTailSplits; ++c) {
    if (w[c] == 0.f) continue;  // an empty chunk's partial holds zeros; skip its reads
    const float* src = p.split_o + ((first + c) * kBlockM + tile_row) * kHeadDim + lane * kCols;
#pragma unroll
    for (int e = 0; e < kCols; e += 2) {
      const float2 v = *reinterpret_cast<const float2*>(src + e);
      acc[e] = fmaf(w[c], v.x, acc[e]);
      acc[e + 1] = fmaf(w[c], v.y, acc[e + 1]);
    }
  }
  T* out = static_cast<T*>(p.o) + batch * p.o_batch_stride + head * p.o_head_stride +
           static_cast<int64_t>(row) * p.o_row_stride + lane * kCols;
#pragma unroll
  for (int e = 0; e < kCols; e += 2) *reinterpret_cast<uint32_t*>(out + e) = ptx::pack2<T>(acc[e], acc[e + 1]);
}

}  // namespace sm90
}  // namespace gallop::kernels::attn

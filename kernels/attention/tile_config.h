// Tile shapes of gallop's attention kernels: the one table, with the reasons for each choice.
//
// Included by the kernels (as template arguments) and by the host code (launch geometry and
// shared-memory sizes), so it holds only constexpr data. Changing a tile here changes both.
#pragma once

#if defined(__CUDACC__)
#define GALLOP_TILE_FN __host__ __device__
#else
#define GALLOP_TILE_FN
#endif

namespace gallop::kernels::attn {

// ---- sm_80 path (mma.sync m16n8k16, ldmatrix, cp.async; runs on Ampere, Ada and Hopper) -------
//
// One CTA of 4 warps owns 128 query rows of one (batch, head); each warp owns 32 rows (two m16
// tiles). Q stays in shared memory for the whole key loop; K and V have one buffer each, and
// their cp.async loads overlap the other matrix's product (V(j) lands during S = Q·K(j)ᵀ, K(j+1)
// during O += P·V(j)), FlashAttention-2's schedule.
struct Sm80Tile {
  int head_dim;
  int block_m;  // query rows per CTA
  int block_n;  // keys per iteration
  int warps;
  // Shared memory: Q [block_m, D] + K [block_n, D] + V [block_n, D], 16-bit elements.
  GALLOP_TILE_FN constexpr int smem_bytes() const { return (block_m + 2 * block_n) * head_dim * 2; }
};

// D = 64: 128 x 128. The accumulators are small (O 64 + S 128 fp32 registers per thread) and
// 48 KB of shared memory lets 4 CTAs share an A100/H100 SM; a wider key block halves the
// number of online-softmax rescales.
// D = 128: 128 x 64. O alone takes 128 registers per thread; S at 64 keys adds 64, which keeps
// the total under 255 without spills. 64 KB of shared memory: 3 CTAs per H100 SM, 2 per A100.
inline constexpr Sm80Tile kSm80Tiles[] = {
    {64, 128, 128, 4},
    {128, 128, 64, 4},
};

GALLOP_TILE_FN constexpr Sm80Tile sm80_tile(int head_dim) {
  for (const auto& t : kSm80Tiles)
    if (t.head_dim == head_dim) return t;
  return {0, 0, 0, 0};
}

// ---- sm_90a path (wgmma + TMA + mbarrier pipeline; Hopper only) --------------------------------
//
// One CTA = 2 warpgroups, each owning 64 query rows (wgmma's M) of the CTA's 128; thread 0 also
// issues the TMA loads of Q (once) and K/V (per stage) and refills a stage once all 8 warps have
// released it. S = Q·Kᵀ is an SS wgmma (both operands in shared memory, 128-byte swizzle written
// by TMA); O += P·V takes P from registers (RS wgmma) and V from shared memory read N-major.
//
// Schedules of the key loop (each a compiled variant, selectable by name for tests and benchmarks):
//   serial    S(j) -> softmax(j) -> P(j)·V(j), each product waited for before the next step; thread
//             0 of the math warps also issues the loads (no producer warpgroup).
//   ws-p2     S(j) and P(j-1)·V(j-1) issued back to back, the softmax of block j running while the
//             second product is on the tensor cores (FlashAttention-3's intra-warpgroup overlap),
//             with a third, producer warpgroup that only issues the TMA loads (warp specialization):
//             setmaxnreg gives its registers to the two math warpgroups (24 + 2 x 240 per thread
//             slot; ptxas allocates the code after setmaxnreg.inc with the raised limit as long as
//             the kernel has no trap, see ptx_sm90.cuh), so no math warp ever waits to refill a
//             stage. Two P buffers (up to 144 keys: 32-36 more registers per thread): the 16-bit
//             P(j) is written to the buffer P(j-1)·V(j-1) is not reading, right after the softmax
//             and while that product runs, so the gap between a warpgroup's P·V landing and its
//             next products holds only the O rescale.
//   ws-pingpong-p2  ws-p2 plus turns: the two warpgroups take turns issuing their products (two
//             named barriers), so that one warpgroup's softmax runs while the other's products use
//             the tensor cores (FlashAttention-3's inter-warpgroup "ping-pong" schedule).
//   ws-p2-c2  ws-p2 launched as clusters of 2 CTAs on adjacent query tiles of one (batch, head)
//             (head dim 128 only): each CTA's producer loads one of the two 64-column halves of
//             K(j) and V(j) and multicasts it to both CTAs, so each key block leaves L2 once per
//             256 query rows instead of once per 128 (FlashAttention-3 does this for bf16/fp16
//             head dim >= 128, non-causal). At ws-p2's 632.8 TFLOP/s on the H200 a 128-row tile
//             pulls 512 bytes of K and V per key for 4 x 128 x 128 flops, about 4.9 TB/s from L2
//             across the GPU, a rate at which L2 bandwidth may well limit (not measured);
//             clusters halve it. A CTA's stage is refilled only after the math warps of both CTAs
//             released it (the "empty" barriers count 16 arrivals), and each producer waits for
//             its CTA's last releases before it exits, so that no CTA leaves while the other can
//             still arrive on its barriers. With the -split plan (ws-p2-c2-split) the fastest
//             kernel measured (2026-11-27, bf16: 664.5-700.7 TFLOP/s on an H100 over three runs,
//             670.9-719.5 on an H200, against cuDNN's 555.9-595.9 and 568.6-574.8 in the same
//             runs); `--attention gallop` runs it at head dim 128 (attention.cpp).
//   ws-pingpong-p2-c2  both: turns inside each CTA, K/V shared across the cluster's two CTAs. The
//             turns are named barriers among a CTA's own math warps and the clusters' barriers are
//             mbarriers, so neither protocol waits on the other; FlashAttention-3's head-dim-128
//             forward combines the two as well (with 176-key blocks and one P buffer). Measured
//             level with ws-p2-c2 (2026-11-27: 652.2-675.5 TFLOP/s on an H100, 666.7-673.0 on an
//             H200), not ahead of it.
//   ws-p2-prof  ws-p2 with cycle counters around every wait (kernel_profile.h), for the benchmark
//             to say where the math warps' time goes; a diagnostic, never chosen by `auto`.
// Measured and removed (2026-11-27; the last tree with them is commit c6bf1cf): overlap and
// pingpong (ws-p2's loop without the producer warpgroup and the second P buffer), ws and
// ws-pingpong (without the second P buffer), and ws / ws-pingpong with FlashAttention-3's 176-key
// block. Each trailed ws-p2 on every Wan self-attention shape on an H200 (the table below and
// kernels/NOTES.md); they cost a third of the GPU test time and build.
//
// Pipeline depth: the tile's `stages` below unless a variant names its own (the -s3 kernels: three
// K/V stages at head dim 128, see the table's comment).
// The values are stable (they appear in the kernels' mangled names, which the SASS tests read).
enum class Sm90Schedule : int {
  kSerial = 0,
  kWsTwoP = 5,
  kWsPingpongTwoP = 6,
  kWsTwoPCluster = 7,
  kWsTwoPProfile = 8,
  kWsPingpongTwoPCluster = 9,
};

GALLOP_TILE_FN constexpr bool sm90_warp_specialized(Sm90Schedule s) {
  return s != Sm90Schedule::kSerial;
}
GALLOP_TILE_FN constexpr bool sm90_cluster(Sm90Schedule s) {
  return s == Sm90Schedule::kWsTwoPCluster || s == Sm90Schedule::kWsPingpongTwoPCluster;
}
// CTAs per cluster of the clustered schedule; the grid's first dimension is padded to a multiple.
constexpr int kSm90ClusterSize = 2;

struct Sm90Tile {
  int head_dim;
  int block_m;   // query rows per CTA (64 per consumer warpgroup)
  int block_n;   // keys per stage
  int stages;    // K/V pipeline depth
  Sm90Schedule schedule;  // the variant `gallop-sm90` runs
  // Shared memory: sm90::SmemLayout in flash_sm90.cuh (Q + stages x (K + V) + barriers + 1 KB of
  // alignment slack).
};

// D = 128: 128 x 128, 2 stages, schedule ws-p2: 32 KB Q + 2 x 64 KB K/V = 161 KB, one CTA per SM;
// O 64 + S 64 + two P buffers of 32 registers per math thread (168 at launch, 240 after setmaxnreg;
// no spills). Measured on an NVIDIA H200 (2026-11-26, bf16, the four Wan self-attention shapes,
// kernels/NOTES.md): ws-p2 632.8-657.1 TFLOP/s, then the fastest variant on every shape (the
// clusters, timed the next day, beat it: ws-p2-c2 above), against
// cuDNN's 563.0-567.1 in the same run; ws-n176 (FlashAttention-3's 176-key block) 619.2-632.2,
// ws-pingpong-n176 618.7-631.5, ws 607.3-625.7. The earlier run on the same kind of card: overlap
// 592-611, pingpong 588-601, serial 523-533. (All but serial since removed, see above.)
// The 176-key block cannot hold a second P buffer (S 88
// + P 44 + O 64 registers already take ~230 of the 240); a 144-key block can (S 72 + 2 x P 36 + O
// 64: ws-p2-n144, R231 of 240 in the SASS, no spills; 655.7-711.0 TFLOP/s on an H100, 2026-11-27,
// within the spread of ws-p2 there). The -split kernel is ws-p2
// with the grid's last partial wave split along the keys (tail_split.h), not a tile of its own.
// Three K/V stages at D = 128 (ws-p2-s3, ws-p2-c2-s3; 2026-11-27: level with two stages, no consistent gain; NOTES):
// 32 KB Q + 3 x 64 KB K/V + barriers = 225 KB (230,504 bytes with the alignment slack, of the
// 232,448 a Hopper CTA may opt into). With two stages the load of V(j + 2) waits until both
// warpgroups released V(j), about one and a half blocks of math before V(j + 2) is read (K: about
// two); a third stage adds one block of slack. That matters most for the clusters, where a stage is refilled only
// after the warps of both CTAs released it, so one CTA running ahead of the other stalls the pair;
// FlashAttention-3 uses two stages at this head dim without clusters.
// D = 64: 128 x 128, 3 stages, serial: 16 KB Q + 3 x 32 KB = 113 KB; the math per block is half
// as long, so a deeper pipeline hides the same load latency. One CTA per SM (161 registers x 256
// threads: a second CTA would not get its registers). Every schedule passes the GPU tests at head
// dim 64, but none has been timed there (no Wan model uses it): serial stays until one is.
inline constexpr Sm90Tile kSm90Tiles[] = {
    {64, 128, 128, 3, Sm90Schedule::kSerial},
    {128, 128, 128, 2, Sm90Schedule::kWsTwoP},
};

GALLOP_TILE_FN constexpr Sm90Tile sm90_tile(int head_dim) {
  for (const auto& t : kSm90Tiles)
    if (t.head_dim == head_dim) return t;
  return {0, 0, 0, 0, Sm90Schedule::kSerial};
}

// K/V stages of a compiled Hopper kernel: `stages` when a variant names its own (> 0), else the
// tile's.
GALLOP_TILE_FN constexpr int sm90_stages(int head_dim, int stages) {
  return stages > 0 ? stages : sm90_tile(head_dim).stages;
}

}  // namespace gallop::kernels::attn

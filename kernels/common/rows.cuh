// The row loop of the row-wise fused kernels (layer_norm_modulate, qk_norm_rope). A CTA handles a
// token row with each thread owning kVecs 16-byte groups of it (group g = threadIdx.x + i *
// blockDim.x), which it holds in registers as loaded (vec::load_raw) while it reduces, normalizes
// and writes them. Three schedules (RowSchedule) run the same per-row code; per-row and staged
// give bit-identical results, narrow changes the launch shape and with it the reduction order:
//   per-row  one CTA per row, loading into registers. The loads of a row are in flight only until
//            its CTA first uses them, so the bytes in flight on an SM are at most (resident CTAs) x
//            (row bytes), and the registers each thread needs bound the resident CTAs.
//   staged   a resident grid; each CTA walks the rows blockIdx.x, + gridDim.x, ... and keeps the
//            next kStages - 1 of them in flight into a ring of shared-memory stages (cp.async, no
//            registers held), reading the current one from its stage. Bytes in flight per CTA:
//            (kStages - 1) x (row bytes), bounded by shared memory instead of registers.
//   narrow   one CTA per row like per-row, with more groups per thread and so fewer threads per CTA
//            (at most kNarrowThreads where 8 groups per thread allow it): the same bytes of a row in
//            flight per CTA from fewer registers in all, so more CTAs, rows and bytes in flight per
//            SM. Its per-thread partial sums cover other groups than per-row's, so the reductions
//            (and, rarely, the last bit of a result) differ from the other two schedules.
//   warp     narrow taken to one warp per row where 8 groups per lane cover the row (256 groups: a
//            2048-wide bf16 row), else narrow's shape. The row's reduction is the warp's shuffles
//            alone (vec::block_sum skips its shared-memory stage and barriers for a one-warp CTA), and
//            a lane's fixed per-row work (position, reduction, addresses) spreads over up to 8 groups.
// A thread copies, waits for and reads back only its own groups, so the ring needs no barrier:
// cp.async.wait_group makes a thread's own copies visible to it, and a stage is refilled only after
// the same thread has read it (program order).
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "kernels/common/cp_async.cuh"
#include "kernels/common/fused_backend.h"
#include "kernels/common/vec.cuh"

namespace gallop::kernels::rows {

constexpr int kStages = 4;  // shared-memory stages of the staged schedule: 3 rows in flight per CTA

constexpr int kNarrowThreads = 128;  // the narrow schedule's CTA size where 8 groups per thread allow it

// Host and device: 16-byte groups per thread (1, 2, 4 or 8; 0 when a row of `groups` groups does not
// fit 8 x max_threads). Per-row and staged: the fewest that keep a CTA within max_threads; narrow:
// the fewest that keep it within kNarrowThreads, else 8; warp: the fewest that keep it within one
// warp, else narrow's.
__host__ __device__ inline int groups_per_thread(int groups, RowSchedule schedule, int max_threads) {
  if (schedule == RowSchedule::kWarp && groups <= 8 * 32) {
    for (int vecs = 1; vecs < 8; vecs *= 2)
      if (groups <= vecs * 32) return vecs;
    return 8;
  }
  const int cap = schedule == RowSchedule::kNarrow || schedule == RowSchedule::kWarp ? kNarrowThreads : max_threads;
  for (int vecs = 1; vecs <= 8; vecs *= 2)
    if (groups <= vecs * cap) return vecs;
  return groups <= 8 * max_threads ? 8 : 0;
}

// One thread's share of kRows rows (kRows = 2 for a q/k pair), raw: group i of row r in g[r][i].
template <int kVecs, int kRows = 1>
struct RawGroups {
  static constexpr int rows = kRows;
  static constexpr int vecs = kVecs;
  uint4 g[kRows][kVecs];
};

// Per-row schedule: this thread's groups of the row at x (`groups` 16-byte groups) into regs.g[r].
template <typename T, int kVecs, int kRows>
__device__ __forceinline__ void load_row(const T* x, int groups, RawGroups<kVecs, kRows>& regs, int r = 0) {
#pragma unroll
  for (int i = 0; i < kVecs; ++i) {
    const int g = threadIdx.x + i * blockDim.x;
    if (g < groups) regs.g[r][i] = vec::load_raw(x + g * vec::kGroup<T>);
  }
}

// Staged schedule: one stage holds kRows rows of kVecs * blockDim.x groups; this thread's group i of
// row r sits at uint4 index (r * kVecs + i) * blockDim.x + threadIdx.x (consecutive threads,
// consecutive 16 bytes: conflict-free). Bytes of one stage:
__host__ __device__ constexpr int stage_bytes(int rows_per_stage, int vecs, int threads) {
  return rows_per_stage * vecs * threads * 16;
}

// Issues the copies of this thread's groups of the row at x into row r of `stage` (not committed).
template <typename T, int kVecs, int kRows>
__device__ __forceinline__ void stage_row(const T* x, int groups, uint4* stage, int r = 0) {
#pragma unroll
  for (int i = 0; i < kVecs; ++i) {
    const int g = threadIdx.x + i * blockDim.x;
    if (g < groups) {
      async::cp_async_16(async::smem_u32(stage + (r * kVecs + i) * blockDim.x + threadIdx.x),
                         x + g * vec::kGroup<T>);
    }
  }
}

// Calls process(row, regs) for this CTA's rows (`groups` 16-byte groups per row).
//   kStaged false: row blockIdx.x only (one CTA per row); load(row, regs) fills the registers.
//   kStaged true: rows blockIdx.x + k * gridDim.x < rows; stage(row, stage_ptr) issues the copies of
//     a row into a stage of `ring` (kStages stages of stage_uint4s uint4 each, dynamic shared memory).
// process() may synchronize the block: every thread of a CTA walks the same rows.
template <bool kStaged, typename Regs, typename Load, typename Stage, typename Process>
__device__ __forceinline__ void for_each_row(int64_t rows, int groups, uint4* ring, int stage_uint4s, Load&& load,
                                             Stage&& stage, Process&& process) {
  if constexpr (!kStaged) {
    Regs regs;  // only the groups of this thread that exist (g < groups) are written and read
    load(static_cast<int64_t>(blockIdx.x), regs);
    process(static_cast<int64_t>(blockIdx.x), regs);
  } else {
    constexpr int kRows = Regs::rows;
    constexpr int kVecs = Regs::vecs;
    const int64_t first = blockIdx.x, step = gridDim.x;
#pragma unroll
    for (int s = 0; s < kStages - 1; ++s) {  // prologue: rows 0 .. kStages-2 of this CTA
      const int64_t row = first + s * step;
      if (row < rows) stage(row, ring + s * stage_uint4s);
      async::cp_async_commit();
    }
    int slot = 0;  // stage of row k
    for (int64_t row = first; row < rows; row += step) {
      // Refill the stage read in the previous iteration with row k + kStages - 1 (one group per
      // iteration, empty past the end, so that "all but kStages - 1 groups" always means row k).
      const int64_t ahead = row + (kStages - 1) * step;
      const int refill = slot == 0 ? kStages - 1 : slot - 1;
      if (ahead < rows) stage(ahead, ring + refill * stage_uint4s);
      async::cp_async_commit();
      async::cp_async_wait<kStages - 1>();
      const uint4* cur = ring + slot * stage_uint4s;
      Regs regs;
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
#pragma unroll
        for (int i = 0; i < kVecs; ++i) {
          if (static_cast<int>(threadIdx.x) + i * static_cast<int>(blockDim.x) < groups)
            regs.g[r][i] = cur[(r * kVecs + i) * blockDim.x + threadIdx.x];
        }
      }
      process(row, regs);
      slot = slot == kStages - 1 ? 0 : slot + 1;
    }
    async::cp_async_wait<0>();
  }
}

// Host: the x size of a staged grid of `kernel` (threads per CTA, dynamic shared memory smem_bytes)
// with grid_y CTAs per row index: the CTAs the device holds at once, divided among the grid_y, at
// least 1, at most rows. Sets the kernel's dynamic shared-memory limit to smem_bytes: always, since
// the 48 KB that needs no opt-in counts the kernel's static shared memory too (a 48 KB ring plus
// the reduction scratch failed to launch on the H200, "invalid configuration argument").
template <typename Kernel>
cudaError_t resident_grid(Kernel kernel, int threads, int smem_bytes, unsigned grid_y, int64_t rows,
                          unsigned& grid_x) {
  int device = 0, sms = 0, per_sm = 0;
  cudaError_t err = cudaGetDevice(&device);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
  if (err == cudaSuccess) err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_bytes);
  if (err == cudaSuccess) err = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, threads, smem_bytes);
  if (err != cudaSuccess) return err;
  if (per_sm < 1) return cudaErrorInvalidConfiguration;
  const int64_t resident = static_cast<int64_t>(sms) * per_sm / std::max(grid_y, 1u);
  grid_x = static_cast<unsigned>(std::clamp<int64_t>(resident, 1, std::max<int64_t>(rows, 1)));
  return cudaSuccess;
}

// Host: whether a staged launch fits: kStages stages of stage_bytes within the device's opt-in
// shared-memory limit per block (227 KB on an H100, 163 KB on an A100, 99 KB on Ada).
inline bool staged_fits(int stage_bytes_per_stage) {
  int device = 0, limit = 0;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device) != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  return static_cast<int64_t>(kStages) * stage_bytes_per_stage <= limit - 1024;  // static shared memory too
}

}  // namespace gallop::kernels::rows

// Inline-PTX wrappers for the sm_90a attention kernel: mbarriers, TMA tile loads (multicast too),
// cluster synchronization and wgmma fences. Compiled only into sm_90a code (the callers guard
// with GALLOP_SM90A_DEVICE).
//
// Shared-memory matrix descriptor of wgmma (64 bits):
//   [0,14) start address >> 4   [16,30) leading byte offset >> 4   [32,46) stride byte offset >> 4
//   [49,52) base offset (0: tiles are 1024-byte aligned)          [62,64) swizzle (1 = 128 bytes)
// For the 128-byte swizzle, rows of 64 16-bit elements (128 bytes) are grouped 8 at a time
// (1024-byte atoms, the XOR pattern TMA's CU_TENSOR_MAP_SWIZZLE_128B writes):
//   K-major operand (Q, K): stride byte offset = 1024 (next 8 rows); the leading byte offset is
//     unused (1); the k-th 16-element slice starts 32*k bytes into the row.
//   MN-major operand (V read as B[k = key][n = d]): stride byte offset = 1024 (next 8 keys),
//     leading byte offset = distance between 64-column blocks of d.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define GALLOP_SM90A_DEVICE 1
#endif

namespace gallop::kernels::attn::ptx90 {

// A wait that spins longer than this many SM clock cycles (about 10 s at 1.7 GHz) means the
// pipeline is deadlocked: the kernel aborts so that the launch fails with an error instead of
// hanging the process (and the GPU checks) forever.
constexpr long long kDeadlockCycles = 1LL << 34;

__device__ __forceinline__ uint32_t smem_u32(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

#if defined(GALLOP_SM90A_DEVICE)

__device__ __forceinline__ void mbarrier_init(uint32_t bar, uint32_t count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
// Makes the initialized barriers visible to the async proxy (TMA) and the other threads
// (followed by __syncthreads()).
__device__ __forceinline__ void mbarrier_init_fence() {
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
}
__device__ __forceinline__ void mbarrier_arrive_expect_tx(uint32_t bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbarrier_arrive(uint32_t bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
__device__ __forceinline__ bool mbarrier_try_wait(uint32_t bar, uint32_t parity) {
  uint32_t done;
  asm volatile(
      "{\n"
      ".reg .pred p;\n"
      "mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
      "selp.u32 %0, 1, 0, p;\n"
      "}\n"
      : "=r"(done)
      : "r"(bar), "r"(parity)
      : "memory");
  return done != 0;
}
// How a deadlocked wait ends the kernel. Both fail the launch; which one a kernel may use depends on
// what ptxas (CUDA 13.0) does with it, checked in the SASS (tests/kernels/sass_schedule_test.py):
//   kTrap: __trap(). Anywhere in a kernel it makes ptxas ignore setmaxnreg.inc when allocating
//     registers (the warp-specialized variant then spilled and serialized its wgmmas).
//   kIllegalStore: a store to address 0 (never mapped; the launch fails with "an illegal memory
//     access was encountered"), then exit. An exit reachable while a wgmma is in flight makes
//     ptxas serialize every wgmma of the kernel, so only kernels whose waits all happen with no
//     wgmma in flight (the warp-specialized ones) may use it.
enum class DeadlockAbort { kTrap, kIllegalStore };

template <DeadlockAbort kAbort>
__device__ __forceinline__ void abort_deadlocked() {
  if constexpr (kAbort == DeadlockAbort::kTrap) {
    __trap();
  } else {
    asm volatile(
        "{\n"
        ".reg .u64 a;\n"
        "mov.u64 a, 0;\n"
        "st.global.volatile.u32 [a], 1;\n"
        "exit;\n"
        "}\n" ::: "memory");
  }
}
// Waits until the phase with the given parity has completed.
template <DeadlockAbort kAbort = DeadlockAbort::kTrap>
__device__ __forceinline__ void mbarrier_wait(uint32_t bar, uint32_t parity) {
  if (mbarrier_try_wait(bar, parity)) return;
  const long long start = clock64();
  while (!mbarrier_try_wait(bar, parity)) {
    if (clock64() - start > kDeadlockCycles) abort_deadlocked<kAbort>();
  }
}

// Thread-block clusters (ws-p2-c2). The CTA's rank in its cluster.
__device__ __forceinline__ uint32_t cluster_ctarank() {
  uint32_t r;
  asm volatile("mov.u32 %0, %%cluster_ctarank;\n" : "=r"(r));
  return r;
}
// One arrival on the mbarrier at CTA-relative address `bar` of cluster CTA `cta` (another CTA's or
// this one's), with the instruction's default semantics (release, CTA scope), as CUTLASS's cluster
// barriers arrive. The kernel arrives so to say "my wgmma has read this stage": those reads are
// complete once wgmma.wait_group returned, before the arrival, and the other CTA's TMA writes into
// the stage only after it. Release at cluster scope (".release.cluster") would add MEMBAR.ALL.GPU
// before every arrival (ptxas, CUDA 13.0), in the math warps' loop.
__device__ __forceinline__ void mbarrier_arrive_cluster(uint32_t bar, uint32_t cta) {
  asm volatile(
      "{\n"
      ".reg .b32 remote;\n"
      "mapa.shared::cluster.u32 remote, %0, %1;\n"
      "mbarrier.arrive.shared::cluster.b64 _, [remote];\n"
      "}\n" ::"r"(bar), "r"(cta)
      : "memory");
}
// Every thread of every CTA of the cluster arrives, then waits for all the others (warps converged):
// writes before it (mbarrier initialization) are visible cluster-wide after it.
__device__ __forceinline__ void cluster_sync() {
  asm volatile("barrier.cluster.arrive.release.aligned;\nbarrier.cluster.wait.acquire.aligned;\n" ::: "memory");
}

// Hardware named barrier `id` (1-15; 0 is __syncthreads) completed by `count` threads (a multiple of
// 32; whole warps, converged): sync arrives and waits for the completion, arrive only arrives.
// No timeout: a protocol error hangs (the ping-pong turns use them, see flash_sm90.cuh).
__device__ __forceinline__ void named_barrier_sync(uint32_t id, uint32_t count) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(count) : "memory");
}
__device__ __forceinline__ void named_barrier_arrive(uint32_t id, uint32_t count) {
  asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(count) : "memory");
}

// 4-D TMA tile load (coordinates innermost first) into shared memory, completing on `bar`.
__device__ __forceinline__ void tma_load_4d(uint32_t dst, const void* tensor_map, uint32_t bar, int c0, int c1,
                                            int c2, int c3) {
  asm volatile(
      "cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
      " [%0], [%1, {%2, %3, %4, %5}], [%6];\n" ::"r"(dst),
      "l"(reinterpret_cast<uint64_t>(tensor_map)), "r"(c0), "r"(c1), "r"(c2), "r"(c3), "r"(bar)
      : "memory");
}
// The same load multicast to the CTAs of the cluster in `cta_mask`: the box lands at offset `dst` of
// each one's shared memory and completes `bar` at the same offset in each (ws-p2-c2).
__device__ __forceinline__ void tma_load_4d_multicast(uint32_t dst, const void* tensor_map, uint32_t bar,
                                                      uint16_t cta_mask, int c0, int c1, int c2, int c3) {
  asm volatile(
      "cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes.multicast::cluster"
      " [%0], [%1, {%2, %3, %4, %5}], [%6], %7;\n" ::"r"(dst),
      "l"(reinterpret_cast<uint64_t>(tensor_map)), "r"(c0), "r"(c1), "r"(c2), "r"(c3), "r"(bar), "h"(cta_mask)
      : "memory");
}
__device__ __forceinline__ void prefetch_tensor_map(const void* tensor_map) {
  asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<uint64_t>(tensor_map)) : "memory");
}

// Per-thread register limit of the executing warpgroup (every warp of it must execute the same
// one); inc blocks until the CTA's pool has the registers that a dec elsewhere released.
template <int kRegs>
__device__ __forceinline__ void setmaxnreg_inc() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kRegs));
}
template <int kRegs>
__device__ __forceinline__ void setmaxnreg_dec() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kRegs));
}

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
// The SM's cycle counter (32 bits; differences of up to 2^32 cycles are exact modulo wrap). Volatile,
// so it keeps its place among the other volatile asm (the waits it brackets).
__device__ __forceinline__ uint32_t clock32() {
  uint32_t c;
  asm volatile("mov.u32 %0, %%clock;\n" : "=r"(c));
  return c;
}

template <int N>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}

// 2^x on the SFU with denormal results flushed to zero: one MUFU.EX2. exp2f() without fast-math
// adds a range check and two multiplies around it to produce denormals, which are below bf16/fp16
// resolution relative to the row maximum (1) that the softmax normalizes by.
__device__ __forceinline__ float exp2_ftz(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// Keeps the compiler from moving reads or writes of a wgmma operand register across the
// asynchronous wgmma's issue or wait.
__device__ __forceinline__ void fence_operand(float& r) { asm volatile("" : "+f"(r)::"memory"); }
__device__ __forceinline__ void fence_operand(uint32_t& r) { asm volatile("" : "+r"(r)::"memory"); }

#endif  // GALLOP_SM90A_DEVICE

// Descriptor of a 128-byte-swizzled shared-memory operand (see the comment at the top).
__device__ __forceinline__ uint64_t make_smem_desc(uint32_t smem_addr, uint32_t leading_bytes, uint32_t stride_bytes) {
  uint64_t desc = 0;
  desc |= static_cast<uint64_t>((smem_addr >> 4) & 0x3FFF);
  desc |= static_cast<uint64_t>((leading_bytes >> 4) & 0x3FFF) << 16;
  desc |= static_cast<uint64_t>((stride_bytes >> 4) & 0x3FFF) << 32;
  desc |= static_cast<uint64_t>(1) << 62;  // 128-byte swizzle
  return desc;
}

// The descriptor of the operand `offset_bytes` (a multiple of 16) further into shared memory than
// the one `desc` describes. Only the start-address field changes, and it never carries out of its
// 14 bits while the operand lies below 256 KB (every shared address does), so this is one 32-bit
// add on the low word, where make_smem_desc costs a shift, masks and moves per operand. The
// kernels build one descriptor per operand outside the loop and advance it per k-step and stage.
__device__ __forceinline__ uint64_t advance_desc(uint64_t desc, uint32_t offset_bytes) {
  const uint32_t lo = static_cast<uint32_t>(desc) + (offset_bytes >> 4);
  return (desc & 0xFFFFFFFF00000000ull) | lo;
}

}  // namespace gallop::kernels::attn::ptx90

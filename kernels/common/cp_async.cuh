// cp.async (sm_80 and later): 16-byte global -> shared copies that complete in groups, without
// passing through registers. Shared by the sm_80 attention kernel and the staged row schedule of
// the memory-bound kernels (rows.cuh).
#pragma once

#include <cstdint>

namespace gallop::kernels::async {

__device__ __forceinline__ uint32_t smem_u32(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16-byte global -> shared copy (L1 bypassed); when `valid` is false the destination is
// zero-filled and nothing is read (src-size 0).
__device__ __forceinline__ void cp_async_16(uint32_t dst, const void* src, bool valid = true) {
  const int src_bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes)
               : "memory");
}

// Closes the group of this thread's copies issued since the last commit (an empty group is fine).
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }

// Waits until at most N of this thread's committed groups are still in flight; the copies of the
// completed groups are then visible to this thread (other threads need a barrier as well).
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

}  // namespace gallop::kernels::async

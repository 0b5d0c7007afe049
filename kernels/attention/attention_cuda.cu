// Switch from (kernel, dtype, head dim) to the instantiated launchers (attention_cuda.h).
// GALLOP_ATTENTION_SM80 / GALLOP_ATTENTION_SM90 are defined by kernels/attention/sources.cmake
// when that family's instance files are part of the build.
#include "kernels/attention/attention_cuda.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <atomic>
#include <iterator>

#include "kernels/attention/flash_launch.h"
#include "kernels/attention/tile_config.h"

namespace gallop::kernels::attn {

namespace {

// Calls fn.template run<T, kHeadDim>() for a supported (dtype, head dim), else returns `fallback`.
template <typename R, typename Fn>
R switch_dtype_head_dim(ElementType dtype, int head_dim, R fallback, const Fn& fn) {
  if (dtype == ElementType::kBf16) {
    if (head_dim == 64) return fn.template run<__nv_bfloat16, 64>();
    if (head_dim == 128) return fn.template run<__nv_bfloat16, 128>();
  } else if (dtype == ElementType::kFp16) {
    if (head_dim == 64) return fn.template run<__half, 64>();
    if (head_dim == 128) return fn.template run<__half, 128>();
  }
  return fallback;
}

#if defined(GALLOP_ATTENTION_SM80)
struct Sm80Resident {
  template <typename T, int D>
  int run() const { return flash_fwd_sm80_resident_ctas<T, D>(); }
};
struct Sm80Launch {
  const AttentionParams& p;
  cudaStream_t stream;
  template <typename T, int D>
  cudaError_t run() const { return launch_flash_fwd_sm80<T, D>(p, stream); }
};
#endif

// A Hopper variant: the key-loop schedule, the key block and the K/V stages (0: the tile's).
struct Sm90Variant {
  Sm90Schedule schedule;
  int block_n;
  int stages = 0;
};

#if defined(GALLOP_ATTENTION_SM90)
// Calls fn.template run<T, D, schedule, block_n, stages>() for a variant that sources.cmake
// instantiates for head dim D, else returns `fallback`.
template <typename T, int D, typename R, typename Fn>
R switch_sm90_variant(Sm90Variant v, R fallback, const Fn& fn) {
  if (v.block_n == 128 && v.stages == 0) {
    switch (v.schedule) {
      case Sm90Schedule::kSerial: return fn.template run<T, D, Sm90Schedule::kSerial, 128, 0>();
      case Sm90Schedule::kWsTwoP: return fn.template run<T, D, Sm90Schedule::kWsTwoP, 128, 0>();
      case Sm90Schedule::kWsPingpongTwoP: return fn.template run<T, D, Sm90Schedule::kWsPingpongTwoP, 128, 0>();
      case Sm90Schedule::kWsTwoPCluster: break;  // head dim 128 only, below
      case Sm90Schedule::kWsTwoPProfile: break;  // head dim 128 only, below
      case Sm90Schedule::kWsPingpongTwoPCluster: break;  // head dim 128 only, below
    }
  }
  if constexpr (D == 128) {
    if (v.stages == 0) {
      if (v.block_n == 144 && v.schedule == Sm90Schedule::kWsTwoP)
        return fn.template run<T, D, Sm90Schedule::kWsTwoP, 144, 0>();
      if (v.block_n == 128 && v.schedule == Sm90Schedule::kWsTwoPCluster)
        return fn.template run<T, D, Sm90Schedule::kWsTwoPCluster, 128, 0>();
      if (v.block_n == 144 && v.schedule == Sm90Schedule::kWsTwoPCluster)
        return fn.template run<T, D, Sm90Schedule::kWsTwoPCluster, 144, 0>();
      if (v.block_n == 128 && v.schedule == Sm90Schedule::kWsPingpongTwoPCluster)
        return fn.template run<T, D, Sm90Schedule::kWsPingpongTwoPCluster, 128, 0>();
      if (v.block_n == 128 && v.schedule == Sm90Schedule::kWsTwoPProfile)
        return fn.template run<T, D, Sm90Schedule::kWsTwoPProfile, 128, 0>();
    }
    if (v.stages == 3 && v.block_n == 128) {
      if (v.schedule == Sm90Schedule::kWsTwoP) return fn.template run<T, D, Sm90Schedule::kWsTwoP, 128, 3>();
      if (v.schedule == Sm90Schedule::kWsTwoPCluster)
        return fn.template run<T, D, Sm90Schedule::kWsTwoPCluster, 128, 3>();
    }
  }
  return fallback;
}
struct Sm90ResidentFn {
  template <typename T, int D, Sm90Schedule S, int N, int kStages>
  int run() const { return flash_fwd_sm90_resident_ctas<T, D, S, N, kStages>(); }
};
struct Sm90LaunchFn {
  const AttentionParams& p;
  cudaStream_t stream;
  template <typename T, int D, Sm90Schedule S, int N, int kStages>
  cudaError_t run() const { return launch_flash_fwd_sm90<T, D, S, N, kStages>(p, stream); }
};
struct Sm90Resident {
  Sm90Variant variant;
  template <typename T, int D>
  int run() const { return switch_sm90_variant<T, D>(variant, 0, Sm90ResidentFn{}); }
};
struct Sm90Launch {
  const AttentionParams& p;
  cudaStream_t stream;
  Sm90Variant variant;
  template <typename T, int D>
  cudaError_t run() const {
    return switch_sm90_variant<T, D>(variant, cudaErrorNotSupported, Sm90LaunchFn{p, stream});
  }
};
#endif

// Evaluated at compile time (the tile table is host data; only constant evaluation may read it here).
constexpr Sm90Tile kSm90Tile64 = sm90_tile(64);
constexpr Sm90Tile kSm90Tile128 = sm90_tile(128);

// The Hopper variant a kernel name stands for (kSm90: the one the tile table picks).
Sm90Variant sm90_variant(GallopKernel kernel, int head_dim) {
  const Sm90Tile& tile = head_dim == 64 ? kSm90Tile64 : kSm90Tile128;
  switch (kernel) {
    case GallopKernel::kSm90Serial: return {Sm90Schedule::kSerial, 128};
    case GallopKernel::kSm90WsTwoP: return {Sm90Schedule::kWsTwoP, 128};
    case GallopKernel::kSm90WsPingpongTwoP: return {Sm90Schedule::kWsPingpongTwoP, 128};
    case GallopKernel::kSm90WsTwoPSplit: return {Sm90Schedule::kWsTwoP, 128};  // + the split plan
    case GallopKernel::kSm90WsTwoP144: return {Sm90Schedule::kWsTwoP, 144};
    case GallopKernel::kSm90WsTwoP144Split: return {Sm90Schedule::kWsTwoP, 144};  // + the split plan
    case GallopKernel::kSm90WsTwoPCluster: return {Sm90Schedule::kWsTwoPCluster, 128};
    case GallopKernel::kSm90WsTwoP144Cluster: return {Sm90Schedule::kWsTwoPCluster, 144};
    case GallopKernel::kSm90WsTwoPClusterSplit: return {Sm90Schedule::kWsTwoPCluster, 128};  // + the split plan
    case GallopKernel::kSm90WsTwoPStages3: return {Sm90Schedule::kWsTwoP, 128, 3};
    case GallopKernel::kSm90WsTwoPClusterStages3: return {Sm90Schedule::kWsTwoPCluster, 128, 3};
    case GallopKernel::kSm90WsTwoPProfile: return {Sm90Schedule::kWsTwoPProfile, 128};
    case GallopKernel::kSm90WsPingpongTwoPCluster: return {Sm90Schedule::kWsPingpongTwoPCluster, 128};
    default: return {tile.schedule, tile.block_n};
  }
}

static_assert(kSm90Tile64.block_m == kSm90Tile128.block_m, "one block_m for the split kernels' workspace");

}  // namespace

int tail_split_block_m() { return kSm90Tile128.block_m; }

TailSplit gallop_kernel_tail_split(GallopKernel kernel, const AttentionParams& p, int sms) {
  const Sm90Variant variant = sm90_variant(kernel, p.head_dim);
  const int cluster = sm90_cluster(variant.schedule) ? kSm90ClusterSize : 1;
  const int64_t tiles =
      static_cast<int64_t>(padded_m_blocks(p.len_q, kSm90Tile128.block_m, cluster)) * p.heads * p.batch;
  if (kernel != GallopKernel::kSm90WsTwoPSplit && kernel != GallopKernel::kSm90WsTwoP144Split &&
      kernel != GallopKernel::kSm90WsTwoPClusterSplit)
    return plan_tail_split(tiles, 0, 0, cluster);  // nothing split
  const int key_blocks = static_cast<int>((static_cast<int64_t>(p.len_k) + variant.block_n - 1) / variant.block_n);
  return plan_tail_split(tiles, sms, key_blocks, cluster);
}

bool gallop_kernel_compiled(GallopKernel kernel) {
  if (kernel == GallopKernel::kSm80) {
#if defined(GALLOP_ATTENTION_SM80)
    return true;
#else
    return false;
#endif
  }
#if defined(GALLOP_ATTENTION_SM90)
  return true;
#else
  return false;
#endif
}

namespace {

int query_resident_ctas(GallopKernel kernel, ElementType dtype, int head_dim) {
  if (!gallop_kernel_compiled(kernel)) return 0;
  if (kernel == GallopKernel::kSm80) {
#if defined(GALLOP_ATTENTION_SM80)
    return switch_dtype_head_dim(dtype, head_dim, 0, Sm80Resident{});
#else
    return 0;
#endif
  }
#if defined(GALLOP_ATTENTION_SM90)
  return switch_dtype_head_dim(dtype, head_dim, 0, Sm90Resident{sm90_variant(kernel, head_dim)});
#else
  return 0;
#endif
}

// The occupancy queries behind the answer cost more than a dispatch should, and the answer depends
// only on the device and the kernel instance: cached per (device, kernel, dtype, head dim) as the
// answer + 1 (0, the static initial value: not asked yet).
constexpr int kCachedDevices = 16;
constexpr int kKernels = static_cast<int>(std::size(kAllGallopKernels));
std::atomic<int> g_resident[kCachedDevices][kKernels][2][2];

}  // namespace

int gallop_kernel_resident_ctas(GallopKernel kernel, ElementType dtype, int head_dim) {
  int device = 0;
  const int k = static_cast<int>(kernel);
  const int d = dtype == ElementType::kFp16 ? 1 : 0;
  if ((head_dim != 64 && head_dim != 128) || k < 0 || k >= kKernels || cudaGetDevice(&device) != cudaSuccess ||
      device < 0 || device >= kCachedDevices) {
    (void)cudaGetLastError();
    return query_resident_ctas(kernel, dtype, head_dim);
  }
  std::atomic<int>& slot = g_resident[device][k][d][head_dim == 128 ? 1 : 0];
  const int cached = slot.load(std::memory_order_relaxed);
  if (cached > 0) return cached - 1;
  const int resident = query_resident_ctas(kernel, dtype, head_dim);
  slot.store(resident + 1, std::memory_order_relaxed);
  return resident;
}

bool gallop_kernel_runnable(GallopKernel kernel, ElementType dtype, int head_dim) {
  return gallop_kernel_resident_ctas(kernel, dtype, head_dim) > 0;
}

cudaError_t launch_gallop_kernel(GallopKernel kernel, const AttentionParams& p, cudaStream_t stream) {
  if (kernel == GallopKernel::kSm80) {
#if defined(GALLOP_ATTENTION_SM80)
    return switch_dtype_head_dim(p.dtype, p.head_dim, cudaErrorNotSupported, Sm80Launch{p, stream});
#else
    return cudaErrorNotSupported;
#endif
  }
#if defined(GALLOP_ATTENTION_SM90)
  return switch_dtype_head_dim(p.dtype, p.head_dim, cudaErrorNotSupported,
                               Sm90Launch{p, stream, sm90_variant(kernel, p.head_dim)});
#else
  return cudaErrorNotSupported;
#endif
}

}  // namespace gallop::kernels::attn

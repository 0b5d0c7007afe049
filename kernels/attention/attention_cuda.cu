// Switch from (kernel, dtype, head dim) to the instantiated launchers (attention_cuda.h).
// GALLOP_ATTENTION_SM80 / GALLOP_ATTENTION_SM90 are defined by kernels/attention/sources.cmake
// when that family's instance files are part of the build.
#include "kernels/attention/attention_cuda.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

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
struct Sm80Runnable {
  template <typename T, int D>
  bool run() const { return flash_fwd_sm80_runnable<T, D>(); }
};
struct Sm80Launch {
  const AttentionParams& p;
  cudaStream_t stream;
  template <typename T, int D>
  cudaError_t run() const { return launch_flash_fwd_sm80<T, D>(p, stream); }
};
#endif

#if defined(GALLOP_ATTENTION_SM90)
struct Sm90Runnable {
  Sm90Schedule schedule;
  template <typename T, int D>
  bool run() const {
    switch (schedule) {
      case Sm90Schedule::kSerial: return flash_fwd_sm90_runnable<T, D, Sm90Schedule::kSerial>();
      case Sm90Schedule::kOverlap: return flash_fwd_sm90_runnable<T, D, Sm90Schedule::kOverlap>();
      case Sm90Schedule::kPingpong: return flash_fwd_sm90_runnable<T, D, Sm90Schedule::kPingpong>();
      case Sm90Schedule::kWs: return flash_fwd_sm90_runnable<T, D, Sm90Schedule::kWs>();
      case Sm90Schedule::kWsPingpong: return flash_fwd_sm90_runnable<T, D, Sm90Schedule::kWsPingpong>();
    }
    return false;
  }
};
struct Sm90Launch {
  const AttentionParams& p;
  cudaStream_t stream;
  Sm90Schedule schedule;
  template <typename T, int D>
  cudaError_t run() const {
    switch (schedule) {
      case Sm90Schedule::kSerial: return launch_flash_fwd_sm90<T, D, Sm90Schedule::kSerial>(p, stream);
      case Sm90Schedule::kOverlap: return launch_flash_fwd_sm90<T, D, Sm90Schedule::kOverlap>(p, stream);
      case Sm90Schedule::kPingpong: return launch_flash_fwd_sm90<T, D, Sm90Schedule::kPingpong>(p, stream);
      case Sm90Schedule::kWs: return launch_flash_fwd_sm90<T, D, Sm90Schedule::kWs>(p, stream);
      case Sm90Schedule::kWsPingpong: return launch_flash_fwd_sm90<T, D, Sm90Schedule::kWsPingpong>(p, stream);
    }
    return cudaErrorNotSupported;
  }
};
#endif

// Evaluated at compile time (the tile table is host data; only constant evaluation may read it here).
constexpr Sm90Schedule kSm90Schedule64 = sm90_tile(64).schedule;
constexpr Sm90Schedule kSm90Schedule128 = sm90_tile(128).schedule;

// The Hopper variant a kernel name stands for (kSm90: the one the tile table picks).
Sm90Schedule sm90_schedule(GallopKernel kernel, int head_dim) {
  switch (kernel) {
    case GallopKernel::kSm90Serial: return Sm90Schedule::kSerial;
    case GallopKernel::kSm90Overlap: return Sm90Schedule::kOverlap;
    case GallopKernel::kSm90Pingpong: return Sm90Schedule::kPingpong;
    case GallopKernel::kSm90Ws: return Sm90Schedule::kWs;
    case GallopKernel::kSm90WsPingpong: return Sm90Schedule::kWsPingpong;
    default: return head_dim == 64 ? kSm90Schedule64 : kSm90Schedule128;
  }
}

}  // namespace

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

bool gallop_kernel_runnable(GallopKernel kernel, ElementType dtype, int head_dim) {
  if (!gallop_kernel_compiled(kernel)) return false;
  if (kernel == GallopKernel::kSm80) {
#if defined(GALLOP_ATTENTION_SM80)
    return switch_dtype_head_dim(dtype, head_dim, false, Sm80Runnable{});
#else
    return false;
#endif
  }
#if defined(GALLOP_ATTENTION_SM90)
  return switch_dtype_head_dim(dtype, head_dim, false, Sm90Runnable{sm90_schedule(kernel, head_dim)});
#else
  return false;
#endif
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
                               Sm90Launch{p, stream, sm90_schedule(kernel, p.head_dim)});
#else
  return cudaErrorNotSupported;
#endif
}

}  // namespace gallop::kernels::attn

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
  bool overlap;
  template <typename T, int D>
  bool run() const { return overlap ? flash_fwd_sm90_runnable<T, D, true>() : flash_fwd_sm90_runnable<T, D, false>(); }
};
struct Sm90Launch {
  const AttentionParams& p;
  cudaStream_t stream;
  bool overlap;
  template <typename T, int D>
  cudaError_t run() const {
    return overlap ? launch_flash_fwd_sm90<T, D, true>(p, stream) : launch_flash_fwd_sm90<T, D, false>(p, stream);
  }
};
#endif

// Evaluated at compile time (the tile table is host data; only constant evaluation may read it here).
constexpr bool kSm90Overlap64 = sm90_tile(64).overlap;
constexpr bool kSm90Overlap128 = sm90_tile(128).overlap;
bool sm90_overlap(int head_dim) { return head_dim == 64 ? kSm90Overlap64 : kSm90Overlap128; }

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
  if (kernel == GallopKernel::kSm90) kernel = sm90_overlap(head_dim) ? GallopKernel::kSm90Overlap : GallopKernel::kSm90Serial;
  switch (kernel) {
    case GallopKernel::kSm80:
#if defined(GALLOP_ATTENTION_SM80)
      return switch_dtype_head_dim(dtype, head_dim, false, Sm80Runnable{});
#else
      return false;
#endif
    case GallopKernel::kSm90Overlap:
    case GallopKernel::kSm90Serial: {
#if defined(GALLOP_ATTENTION_SM90)
      return switch_dtype_head_dim(dtype, head_dim, false, Sm90Runnable{kernel == GallopKernel::kSm90Overlap});
#else
      return false;
#endif
    }
    case GallopKernel::kSm90: break;
  }
  return false;
}

cudaError_t launch_gallop_kernel(GallopKernel kernel, const AttentionParams& p, cudaStream_t stream) {
  if (kernel == GallopKernel::kSm90)
    kernel = sm90_overlap(p.head_dim) ? GallopKernel::kSm90Overlap : GallopKernel::kSm90Serial;
  switch (kernel) {
    case GallopKernel::kSm80:
#if defined(GALLOP_ATTENTION_SM80)
      return switch_dtype_head_dim(p.dtype, p.head_dim, cudaErrorNotSupported, Sm80Launch{p, stream});
#else
      return cudaErrorNotSupported;
#endif
    case GallopKernel::kSm90Overlap:
    case GallopKernel::kSm90Serial: {
#if defined(GALLOP_ATTENTION_SM90)
      return switch_dtype_head_dim(p.dtype, p.head_dim, cudaErrorNotSupported,
                                   Sm90Launch{p, stream, kernel == GallopKernel::kSm90Overlap});
#else
      return cudaErrorNotSupported;
#endif
    }
    case GallopKernel::kSm90: break;
  }
  return cudaErrorNotSupported;
}

}  // namespace gallop::kernels::attn

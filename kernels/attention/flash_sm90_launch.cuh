// Host side of the Hopper kernel: TMA descriptors, shared-memory opt-in, launch geometry.
//
// cuTensorMapEncodeTiled is a driver-API function; it is reached through the runtime's entry
// point query so that nothing links against libcuda directly. Each operand gets a 4-D map over
// [D, L, H, B] (innermost first) with the tensor's own strides, a box of 64 columns (128 bytes,
// the widest box the 128-byte swizzle allows) by the tile's rows, and zero fill out of bounds.
#pragma once

#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_runtime.h>

#include "kernels/attention/flash_sm90.cuh"

namespace gallop::kernels::attn {

namespace sm90 {

inline PFN_cuTensorMapEncodeTiled_v12000 tensor_map_encoder() {
  static const PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
    void* ptr = nullptr;
    cudaDriverEntryPointQueryResult query = cudaDriverEntryPointSymbolNotFound;
    const cudaError_t err =
        cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &ptr, 12000, cudaEnableDefault, &query);
    if (err != cudaSuccess || query != cudaDriverEntryPointSuccess) {
      (void)cudaGetLastError();
      return static_cast<PFN_cuTensorMapEncodeTiled_v12000>(nullptr);
    }
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(ptr);
  }();
  return fn;
}

// [D, L, H, B] map of one operand; strides in elements (the head-dim stride is 1).
inline bool make_tensor_map(CUtensorMap* map, const void* base, ElementType dtype, int head_dim, int len, int heads,
                            int batch, int64_t row_stride, int64_t head_stride, int64_t batch_stride, int box_rows) {
  const auto encode = tensor_map_encoder();
  if (encode == nullptr) return false;
  const cuuint64_t dims[4] = {static_cast<cuuint64_t>(head_dim), static_cast<cuuint64_t>(len),
                              static_cast<cuuint64_t>(heads), static_cast<cuuint64_t>(batch)};
  const cuuint64_t strides[3] = {static_cast<cuuint64_t>(row_stride) * 2, static_cast<cuuint64_t>(head_stride) * 2,
                                 static_cast<cuuint64_t>(batch_stride) * 2};
  const cuuint32_t box[4] = {64, static_cast<cuuint32_t>(box_rows), 1, 1};
  const cuuint32_t elem_strides[4] = {1, 1, 1, 1};
  const CUtensorMapDataType type =
      dtype == ElementType::kBf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16;
  const CUresult res = encode(map, type, 4, const_cast<void*>(base), dims, strides, box, elem_strides,
                              CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                              CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  return res == CUDA_SUCCESS;
}

inline cudaLaunchConfig_t cluster_launch_config(dim3 grid, int threads, int smem, cudaStream_t stream) {
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = dim3(threads, 1, 1);
  config.dynamicSmemBytes = static_cast<size_t>(smem);
  config.stream = stream;
  return config;
}
inline cudaLaunchAttribute cluster_attribute() {
  cudaLaunchAttribute attribute = {};
  attribute.id = cudaLaunchAttributeClusterDimension;
  attribute.val.clusterDim.x = kSm90ClusterSize;
  attribute.val.clusterDim.y = 1;
  attribute.val.clusterDim.z = 1;
  return attribute;
}

}  // namespace sm90

// Returns cudaErrorNotSupported when a TMA descriptor cannot be built (misaligned base or
// strides: the dispatcher checks those first), else the attribute/launch error.
// kStageCount: the K/V stages, 0 for the tile's (sm90_stages).
template <typename T, int kHeadDim, Sm90Schedule kSchedule, int kBlockN, int kStageCount>
cudaError_t launch_flash_fwd_sm90(const AttentionParams& p, cudaStream_t stream) {
  constexpr Sm90Tile kTile = sm90_tile(kHeadDim);
  using Layout = sm90::SmemLayout<kHeadDim, kTile.block_m, kBlockN, sm90_stages(kHeadDim, kStageCount)>;
  constexpr int kSmem = Layout::kTotal + sm90::kSwizzleAtomBytes;  // + alignment slack
  static_assert(kSmem <= 227 * 1024, "exceeds Hopper's shared memory per block");

  Sm90Params params;
  params.p = p;
  const bool ok =
      sm90::make_tensor_map(&params.tmap_q, p.q, p.dtype, p.head_dim, p.len_q, p.heads, p.batch, p.q_row_stride,
                            p.q_head_stride, p.q_batch_stride, kTile.block_m) &&
      sm90::make_tensor_map(&params.tmap_k, p.k, p.dtype, p.head_dim, p.len_k, p.heads, p.batch, p.k_row_stride,
                            p.k_head_stride, p.k_batch_stride, kBlockN) &&
      sm90::make_tensor_map(&params.tmap_v, p.v, p.dtype, p.head_dim, p.len_k, p.heads, p.batch, p.v_row_stride,
                            p.v_head_stride, p.v_batch_stride, kBlockN);
  if (!ok) return cudaErrorNotSupported;

  auto kernel = sm90::flash_fwd_sm90_kernel<T, kHeadDim, kSchedule, kBlockN, kStageCount>;
  cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem);
  if (err != cudaSuccess) return err;
  // Clusters of kSm90ClusterSize CTAs along the query tiles: the tiles per (batch, head) are rounded
  // up to a multiple (an extra tile past len_q reads the last tile's Q rows and stores nothing).
  constexpr int kCluster = sm90_cluster(kSchedule) ? kSm90ClusterSize : 1;
  const int m_blocks = padded_m_blocks(p.len_q, kTile.block_m, kCluster);
  auto launch = [&](dim3 grid) {
    if constexpr (kCluster > 1) {
      cudaLaunchConfig_t config =
          sm90::cluster_launch_config(grid, sm90::sm90_threads(kSchedule), kSmem, stream);
      cudaLaunchAttribute attribute = sm90::cluster_attribute();
      config.attrs = &attribute;
      config.numAttrs = 1;
      return cudaLaunchKernelEx(&config, kernel, params);
    } else {
      kernel<<<grid, sm90::sm90_threads(kSchedule), kSmem, stream>>>(params);
      return cudaGetLastError();
    }
  };
  if (p.split_tiles == 0) return launch(dim3(m_blocks, p.heads, p.batch));
  // A split launch (tail_split.h): one-dimensional grid in TailSplit's order, then the combine.
  const TailSplit plan{p.split_full_tiles, p.split_tiles, p.splits, p.split_cluster};
  const int64_t tiles = static_cast<int64_t>(m_blocks) * p.heads * p.batch;
  if (p.splits < 2 || p.splits > kMaxTailSplits || p.split_o == nullptr || p.split_lse == nullptr ||
      p.split_cluster != kCluster || plan.full_tiles % kCluster != 0 || plan.split_tiles % kCluster != 0 ||
      plan.full_tiles + plan.split_tiles != tiles || plan.ctas() > 0x7fffffff)
    return cudaErrorInvalidValue;
  err = launch(dim3(static_cast<unsigned>(plan.ctas()), 1, 1));
  if (err != cudaSuccess) return err;
  const int64_t combine_ctas = (plan.split_tiles * kTile.block_m + 3) / 4;
  sm90::split_combine_kernel<T, kHeadDim, kTile.block_m><<<static_cast<unsigned>(combine_ctas), 128, 0, stream>>>(p);
  return cudaGetLastError();
}

// How many CTAs of the kernel the current device runs at once; 0 when this binary holds no sm_90a
// code of it or the device is not a 9.0 part (or TMA descriptors cannot be built). One CTA fits an
// SM; a cluster launch's pairs must fit one GPC each, so a GPC with an odd number of free SMs
// leaves one idle (cudaOccupancyMaxActiveClusters counts what fits).
template <typename T, int kHeadDim, Sm90Schedule kSchedule, int kBlockN, int kStageCount>
int flash_fwd_sm90_resident_ctas() {
  int device = 0, major = 0, minor = 0, sms = 0;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess ||
      cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) != cudaSuccess ||
      cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  if (major != 9 || minor != 0 || sm90::tensor_map_encoder() == nullptr) return 0;
  constexpr Sm90Tile kTile = sm90_tile(kHeadDim);
  constexpr int kSmem =
      sm90::SmemLayout<kHeadDim, kTile.block_m, kBlockN, sm90_stages(kHeadDim, kStageCount)>::kTotal +
      sm90::kSwizzleAtomBytes;
  constexpr int kThreads = sm90::sm90_threads(kSchedule);
  auto kernel = sm90::flash_fwd_sm90_kernel<T, kHeadDim, kSchedule, kBlockN, kStageCount>;
  cudaFuncAttributes attr;
  if (cudaFuncGetAttributes(&attr, kernel) != cudaSuccess ||
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  int resident = 0;
  if constexpr (sm90_cluster(kSchedule)) {
    cudaLaunchConfig_t config = sm90::cluster_launch_config(dim3(kSm90ClusterSize, 1, 1), kThreads, kSmem, nullptr);
    cudaLaunchAttribute attribute = sm90::cluster_attribute();
    config.attrs = &attribute;
    config.numAttrs = 1;
    int clusters = 0;
    if (cudaOccupancyMaxActiveClusters(&clusters, kernel, &config) != cudaSuccess) {
      (void)cudaGetLastError();
      return 0;
    }
    resident = clusters * kSm90ClusterSize;
  } else {
    int per_sm = 0;
    if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads, kSmem) != cudaSuccess) {
      (void)cudaGetLastError();
      return 0;
    }
    resident = per_sm * sms;
  }
  return resident;
}

}  // namespace gallop::kernels::attn

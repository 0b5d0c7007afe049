// Timing and device facts for gallop_kernel_bench (bench_util.h).
#include "tools/kernel_bench/bench_util.h"

#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/cuda/CUDAException.h>
#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <torch/version.h>

#include <algorithm>
#include <cstdio>
#include <string>

namespace gallop::bench {

namespace {

int attr(cudaDeviceAttr a, int dev) {
  int v = 0;
  C10_CUDA_CHECK(cudaDeviceGetAttribute(&v, a, dev));
  return v;
}

std::string version_string(int v) {  // 13000 -> "13.0"
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

// The few NVML entry points needed, resolved at run time (no link against the driver's library).
struct Nvml {
  using Init = int (*)();
  using ByPci = int (*)(const char*, void**);
  using Clock = int (*)(void*, int, unsigned*);
  Init init = nullptr;
  ByPci by_pci = nullptr;
  Clock clock = nullptr;
  void* device = nullptr;
  bool ok = false;
  Nvml() {
    void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return;
    init = reinterpret_cast<Init>(dlsym(lib, "nvmlInit_v2"));
    by_pci = reinterpret_cast<ByPci>(dlsym(lib, "nvmlDeviceGetHandleByPciBusId_v2"));
    clock = reinterpret_cast<Clock>(dlsym(lib, "nvmlDeviceGetClockInfo"));
    if (!init || !by_pci || !clock || init() != 0) return;
    char bus[64] = {0};
    if (cudaDeviceGetPCIBusId(bus, sizeof(bus), at::cuda::current_device()) != cudaSuccess) return;
    ok = by_pci(bus, &device) == 0;
  }
};

}  // namespace

DeviceFacts device_facts() {
  DeviceFacts f;
  const int dev = at::cuda::current_device();
  const auto* prop = at::cuda::getDeviceProperties(dev);
  f.name = prop->name;
  f.cc_major = prop->major;
  f.cc_minor = prop->minor;
  f.sm_count = prop->multiProcessorCount;
  f.max_sm_clock_mhz = attr(cudaDevAttrClockRate, dev) / 1000;
  f.max_mem_clock_mhz = attr(cudaDevAttrMemoryClockRate, dev) / 1000;
  f.bus_width_bits = attr(cudaDevAttrGlobalMemoryBusWidth, dev);
  f.l2_bytes = attr(cudaDevAttrL2CacheSize, dev);
  f.peak_gbps = 2.0 * attr(cudaDevAttrMemoryClockRate, dev) * 1e3 * (f.bus_width_bits / 8.0) / 1e9;
  int v = 0;
  if (cudaDriverGetVersion(&v) == cudaSuccess) f.driver = version_string(v);
  if (cudaRuntimeGetVersion(&v) == cudaSuccess) f.runtime = version_string(v);
  f.cudnn = at::detail::getCUDAHooks().hasCuDNN() ? std::to_string(at::detail::getCUDAHooks().versionCuDNN()) : "none";
  f.torch = TORCH_VERSION;
  return f;
}

Clocks current_clocks() {
  static Nvml nvml;
  Clocks c;
  if (!nvml.ok) return c;
  unsigned mhz = 0;
  if (nvml.clock(nvml.device, /*NVML_CLOCK_SM=*/1, &mhz) == 0) c.sm_mhz = static_cast<int>(mhz);
  if (nvml.clock(nvml.device, /*NVML_CLOCK_MEM=*/2, &mhz) == 0) c.mem_mhz = static_cast<int>(mhz);
  return c;
}

Timing time_cuda(const std::function<void()>& fn, int iters, double budget_s, bool flush_l2) {
  at::Tensor flush;
  if (flush_l2) {
    const int64_t bytes = 2 * std::max<int64_t>(device_facts().l2_bytes, 1 << 20);
    flush = at::empty({bytes}, at::TensorOptions().dtype(at::kByte).device(at::kCUDA));
  }
  auto stream = at::cuda::getCurrentCUDAStream();
  fn();  // warm-up: module load, workspace and handle creation stay out of the numbers
  C10_CUDA_CHECK(cudaStreamSynchronize(stream));
  std::vector<double> ms;
  at::cuda::CUDAEvent start(cudaEventDefault), stop(cudaEventDefault);
  int target = iters;
  double spent = 0;
  for (int i = 0; target <= 0 ? (i < 3 || (spent < budget_s * 1e3 && i < 20)) : i < target; ++i) {
    if (flush_l2) flush.fill_(static_cast<uint8_t>(i));
    start.record(stream);
    fn();
    stop.record(stream);
    stop.synchronize();
    ms.push_back(start.elapsed_time(stop));
    spent += ms.back();
  }
  std::sort(ms.begin(), ms.end());
  Timing t;
  t.iters = static_cast<int>(ms.size());
  t.median_ms = ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
  t.min_ms = ms.front();
  t.max_ms = ms.back();
  return t;
}

}  // namespace gallop::bench

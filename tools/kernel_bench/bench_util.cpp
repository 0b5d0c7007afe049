// Timing and device facts for gallop_kernel_bench (bench_util.h).
#include "tools/kernel_bench/bench_util.h"

#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGeneratorImpl.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAFunctions.h>
#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <utility>

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
  using Energy = int (*)(void*, unsigned long long*);  // NOLINT(runtime/int): NVML's type
  using Reasons = int (*)(void*, unsigned long long*);  // NOLINT(runtime/int)
  Init init = nullptr;
  ByPci by_pci = nullptr;
  Clock clock = nullptr;
  Energy energy = nullptr;    // millijoules since the driver loaded (Volta and later; may be absent)
  Reasons reasons = nullptr;  // why the clocks are below their maximum, a bit mask (may be absent)
  void* device = nullptr;
  bool ok = false;
  Nvml() {
    void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return;
    init = reinterpret_cast<Init>(dlsym(lib, "nvmlInit_v2"));
    by_pci = reinterpret_cast<ByPci>(dlsym(lib, "nvmlDeviceGetHandleByPciBusId_v2"));
    clock = reinterpret_cast<Clock>(dlsym(lib, "nvmlDeviceGetClockInfo"));
    energy = reinterpret_cast<Energy>(dlsym(lib, "nvmlDeviceGetTotalEnergyConsumption"));
    reasons = reinterpret_cast<Reasons>(dlsym(lib, "nvmlDeviceGetCurrentClocksEventReasons"));
    if (!reasons) reasons = reinterpret_cast<Reasons>(dlsym(lib, "nvmlDeviceGetCurrentClocksThrottleReasons"));
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

namespace {
Nvml& nvml() {
  static Nvml instance;
  return instance;
}

// The device's energy counter in joules, or -1 without NVML or the counter.
double energy_joules() {
  unsigned long long mj = 0;  // NOLINT(runtime/int)
  if (!nvml().ok || !nvml().energy || nvml().energy(nvml().device, &mj) != 0) return -1.0;
  return static_cast<double>(mj) * 1e-3;
}
}  // namespace

Clocks current_clocks() {
  Clocks c;
  if (!nvml().ok) return c;
  unsigned mhz = 0;
  if (nvml().clock(nvml().device, /*NVML_CLOCK_SM=*/1, &mhz) == 0) c.sm_mhz = static_cast<int>(mhz);
  if (nvml().clock(nvml().device, /*NVML_CLOCK_MEM=*/2, &mhz) == 0) c.mem_mhz = static_cast<int>(mhz);
  unsigned long long bits = 0;  // NOLINT(runtime/int)
  if (nvml().reasons && nvml().reasons(nvml().device, &bits) == 0) c.event_reasons = static_cast<int64_t>(bits);
  return c;
}

std::string clock_event_reason_names(int64_t bits) {
  if (bits < 0) return "";
  // NVML's nvmlClocksEventReason* bits.
  static const std::pair<int64_t, const char*> kNames[] = {
      {0x1, "idle"},          {0x2, "application clocks"}, {0x4, "power cap"},        {0x8, "hardware slowdown"},
      {0x10, "sync boost"},   {0x20, "thermal (software)"}, {0x40, "thermal (hardware)"},
      {0x80, "power brake"},  {0x100, "display clocks"}};
  std::string names;
  for (const auto& [bit, name] : kNames)
    if (bits & bit) names += std::string(names.empty() ? "" : ", ") + name;
  return names.empty() ? "none" : names;
}

namespace {

// The summary figures of t from its runs_ms, joules and wall_s.
void summarize(Timing& t) {
  std::vector<double> ms = t.runs_ms;
  std::sort(ms.begin(), ms.end());
  t.iters = static_cast<int>(ms.size());
  if (ms.empty()) return;
  if (t.joules > 0 && t.wall_s > 0) {
    t.joules_per_run = t.joules / static_cast<double>(ms.size());
    t.watts = t.joules / t.wall_s;
  }
  t.median_ms = ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
  t.min_ms = ms.front();
  t.max_ms = ms.back();
}

}  // namespace

Timing merge_timings(const std::vector<Timing>& parts) {
  Timing t;
  t.joules = 0;
  for (const auto& p : parts) {
    t.runs_ms.insert(t.runs_ms.end(), p.runs_ms.begin(), p.runs_ms.end());
    t.wall_s += p.wall_s;
    if (p.joules < 0 || t.joules < 0) t.joules = -1;  // energy only when every part has it
    else t.joules += p.joules;
  }
  summarize(t);
  return t;
}

Timing time_cuda(const std::function<void()>& fn, int iters, double budget_s, bool flush_l2, bool warmup,
                 int min_runs, int max_runs) {
  at::Tensor flush;
  if (flush_l2) {
    const int64_t bytes = 2 * std::max<int64_t>(device_facts().l2_bytes, 1 << 20);
    flush = at::empty({bytes}, at::TensorOptions().dtype(at::kByte).device(at::kCUDA));
  }
  auto stream = at::cuda::getCurrentCUDAStream();
  if (warmup) fn();  // module load, workspace and handle creation stay out of the numbers
  C10_CUDA_CHECK(cudaStreamSynchronize(stream));
  std::vector<double> ms;
  at::cuda::CUDAEvent start(cudaEventDefault), stop(cudaEventDefault);
  const double joules0 = energy_joules();
  const auto wall0 = std::chrono::steady_clock::now();
  int target = iters;
  double spent = 0;
  for (int i = 0; target <= 0 ? (i < min_runs || (spent < budget_s * 1e3 && i < max_runs)) : i < target; ++i) {
    if (flush_l2) flush.fill_(static_cast<uint8_t>(i));
    start.record(stream);
    fn();
    stop.record(stream);
    stop.synchronize();
    ms.push_back(start.elapsed_time(stop));
    spent += ms.back();
  }
  const double joules1 = energy_joules();
  Timing t;
  t.runs_ms = std::move(ms);
  t.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  t.joules = joules0 >= 0 && joules1 > joules0 ? joules1 - joules0 : -1;
  summarize(t);
  return t;
}

at::Tensor randn_gpu(at::IntArrayRef shape, at::ScalarType dtype, uint64_t seed) {
  at::Generator gen = at::cuda::detail::createCUDAGenerator(c10::cuda::current_device());
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(seed);
  }
  return at::randn(shape, gen, at::TensorOptions().dtype(at::kFloat).device(at::kCUDA)).to(dtype);
}

}  // namespace gallop::bench

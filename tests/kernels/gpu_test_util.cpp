// Helpers for the GPU kernel tests (gpu_test_util.h).
#include "tests/kernels/gpu_test_util.h"

#include <ATen/CPUGeneratorImpl.h>
#if defined(GALLOP_HAVE_CUDA)
#include <ATen/cuda/CUDAContext.h>
#endif

#include <limits>
#include <sstream>

namespace gallop::kernels::gpu_test {

std::string device_description() {
#if defined(GALLOP_HAVE_CUDA)
  const auto* prop = at::cuda::getCurrentDeviceProperties();
  std::ostringstream os;
  os << prop->name << " (sm_" << prop->major << prop->minor << ")";
  return os.str();
#else
  return "no CUDA device (a build without CUDA)";
#endif
}

at::Tensor cuda_randn(at::IntArrayRef shape, at::ScalarType dtype, uint64_t seed, double scale) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto t = at::randn(shape, gen, at::TensorOptions().dtype(at::kFloat));
  if (scale != 1.0) t.mul_(scale);
  return t.to(at::kCUDA, dtype);
}

void poison_cuda_allocator(int64_t bytes) {
  auto junk = at::full({bytes / 4 + 1}, std::numeric_limits<float>::quiet_NaN(),
                       at::TensorOptions().dtype(at::kFloat).device(at::kCUDA));
  (void)junk;  // freed at scope exit; the caching allocator hands the block out again
}

double half_ulp(at::ScalarType dtype) {
  switch (dtype) {
    case at::kBFloat16: return 1.0 / 256.0;   // 8-bit significand
    case at::kHalf: return 1.0 / 2048.0;      // 11-bit significand
    default: return 1.0 / 16777216.0;         // fp32
  }
}

}  // namespace gallop::kernels::gpu_test

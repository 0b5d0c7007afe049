// Helpers shared by the GPU kernel tests: device description, seeded inputs, allocator poisoning
// and the dtype-derived absolute tolerance term.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

namespace gallop::kernels::gpu_test {

// "NVIDIA H100 80GB HBM3 (sm_90)" for the current device.
std::string device_description();

// Standard normal values of `dtype` on the current CUDA device, from a CPU generator seeded with
// `seed` (identical inputs on every GPU), times `scale`.
at::Tensor cuda_randn(at::IntArrayRef shape, at::ScalarType dtype, uint64_t seed, double scale = 1.0);

// Fills and frees `bytes` of device memory with NaN, so that a kernel output allocated right after
// from the caching allocator starts as NaN: an element the kernel never writes fails the test.
void poison_cuda_allocator(int64_t bytes);

// Half a unit in the last place at 1.0 for dtype: the rounding any output in that dtype carries.
double half_ulp(at::ScalarType dtype);

}  // namespace gallop::kernels::gpu_test

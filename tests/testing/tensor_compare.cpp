#include "tests/testing/tensor_compare.h"

#include <sstream>

namespace gallop::testing {

namespace {
std::string shape_str(const at::Tensor& t) {
  std::ostringstream os;
  os << t.sizes();
  return os.str();
}
}  // namespace

double max_abs_error(const at::Tensor& actual, const at::Tensor& expected) {
  if (actual.numel() == 0) return 0.0;
  // On the tensors' device when they share one: a GPU test's 100-million-element comparisons took
  // seconds each through the CPU (the q/k norm + RoPE test outran its 60 s on the H200).
  const at::Device device = actual.device() == expected.device() ? actual.device() : at::Device(at::kCPU);
  auto a = actual.detach().to(device, at::kDouble);
  auto b = expected.detach().to(device, at::kDouble);
  return (a - b).abs().max().item<double>();
}

double relative_error(const at::Tensor& actual, const at::Tensor& expected) {
  if (actual.numel() == 0) return 0.0;
  auto b = expected.detach().to(at::kCPU, at::kDouble);
  double scale = b.abs().max().item<double>();
  return max_abs_error(actual, expected) / std::max(scale, 1e-30);
}

::testing::AssertionResult RelClose(const at::Tensor& actual, const at::Tensor& expected, double rtol) {
  if (!actual.sizes().equals(expected.sizes()))
    return ::testing::AssertionFailure() << "shape " << shape_str(actual) << " != expected " << shape_str(expected);
  auto a = actual.detach().to(at::kCPU, at::kDouble);
  if (!at::isfinite(a).all().item<bool>()) return ::testing::AssertionFailure() << "result has non-finite values";
  double rel = relative_error(actual, expected);
  if (rel <= rtol) return ::testing::AssertionSuccess() << "relative error " << rel;
  return ::testing::AssertionFailure() << "relative error " << rel << " > " << rtol
                                       << " (max abs error " << max_abs_error(actual, expected) << ")";
}

::testing::AssertionResult Identical(const at::Tensor& actual, const at::Tensor& expected) {
  if (!actual.sizes().equals(expected.sizes()))
    return ::testing::AssertionFailure() << "shape " << shape_str(actual) << " != expected " << shape_str(expected);
  if (actual.scalar_type() != expected.scalar_type())
    return ::testing::AssertionFailure() << "dtype " << actual.scalar_type() << " != " << expected.scalar_type();
  auto a = actual.detach().to(at::kCPU).contiguous();
  auto b = expected.detach().to(at::kCPU).contiguous();
  if (a.numel() == 0) return ::testing::AssertionSuccess();
  // Compare bytes so that NaN payloads and -0.0 count too.
  const auto n = a.numel() * a.element_size();
  if (std::memcmp(a.data_ptr(), b.data_ptr(), n) == 0) return ::testing::AssertionSuccess();
  auto diff = a.ne(b);
  return ::testing::AssertionFailure() << diff.sum().item<int64_t>() << " of " << a.numel() << " elements differ";
}

::testing::AssertionResult WithinBaselineError(const at::Tensor& candidate, const at::Tensor& baseline,
                                               const at::Tensor& reference, double factor, double atol) {
  double err = max_abs_error(candidate, reference);
  double base = max_abs_error(baseline, reference);
  double bound = factor * base + atol;
  if (err <= bound)
    return ::testing::AssertionSuccess() << "error " << err << " <= " << factor << " x " << base << " + " << atol;
  return ::testing::AssertionFailure() << "error " << err << " > bound " << bound << " (" << factor << " x baseline "
                                       << base << " + " << atol << ")";
}

}  // namespace gallop::testing

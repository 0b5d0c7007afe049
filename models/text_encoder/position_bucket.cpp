// Relative-position buckets of the umT5 encoder (see position_bucket.h for the formula).
#include "models/text_encoder/position_bucket.h"

#include <c10/util/Exception.h>

#include <cmath>

namespace gallop::models::text_encoder {

at::Tensor relative_position_bucket(const at::Tensor& rel, int64_t num_buckets, int64_t max_distance) {
  TORCH_CHECK(at::isIntegralType(rel.scalar_type(), /*includeBool=*/false),
              "relative_position_bucket: rel must be an integer tensor, got ", rel.scalar_type());
  TORCH_CHECK(num_buckets >= 4 && num_buckets % 2 == 0,
              "relative_position_bucket: num_buckets must be even and >= 4, got ", num_buckets);
  const int64_t half = num_buckets / 2;  // buckets per direction
  const int64_t max_exact = half / 2;    // distances below this get a bucket each
  TORCH_CHECK(max_distance > max_exact, "relative_position_bucket: max_distance must exceed ", max_exact,
              ", got ", max_distance);

  at::Tensor r = rel.to(at::kLong);                  // [...]
  at::Tensor direction = r.gt(0).to(at::kLong) * half;  // [...]
  at::Tensor n = r.abs();                            // [...]
  // Logarithmic buckets between max_exact and max_distance; fp32 like the reference. The n = 0
  // entries give log(0) here and are discarded by the where() below.
  const double log_range = std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact));
  at::Tensor large = (at::log(n.to(at::kFloat) / max_exact) / log_range * (half - max_exact)).to(at::kLong) +
                     max_exact;                      // [...]
  large = at::clamp_max(large, half - 1);
  return direction + at::where(n.lt(max_exact), n, large);
}

at::Tensor relative_position_buckets(int64_t lq, int64_t lk, int64_t num_buckets, int64_t max_distance,
                                     const at::Device& device) {
  TORCH_CHECK(lq >= 0 && lk >= 0, "relative_position_buckets: lengths must be non-negative, got ", lq, ", ", lk);
  const auto opts = at::TensorOptions().dtype(at::kLong).device(device);
  at::Tensor rel = at::arange(lk, opts).unsqueeze(0) - at::arange(lq, opts).unsqueeze(1);  // [lq, lk]
  return relative_position_bucket(rel, num_buckets, max_distance);
}

}  // namespace gallop::models::text_encoder

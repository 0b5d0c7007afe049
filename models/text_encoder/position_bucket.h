// T5 bidirectional relative-position bucketing (spec §3.1), as used by every umT5 encoder layer.
//
// With rel = key_pos - query_pos, half = num_buckets / 2, max_exact = half / 2:
//   bucket = (rel > 0 ? half : 0) + (n < max_exact ? n
//            : min(half - 1, max_exact + trunc(log(n / max_exact) / log(max_distance / max_exact)
//                                              * (half - max_exact))))       with n = |rel|,
// the logarithm evaluated in fp32 by the same ATen operations as the reference, so that the
// truncation lands on the same side at every boundary. For umT5 (32 buckets, max distance 128):
//   n = 0..7 -> n; 8-11 -> 8; 12-15 -> 9; 16-22 -> 10; 23-31 -> 11; 32-45 -> 12; 46-63 -> 13;
//   64-90 -> 14; >= 91 -> 15; plus 16 when the key lies right of the query.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace gallop::models::text_encoder {

// rel: any shape, integral (key_pos - query_pos). Returns int64 buckets of the same shape.
at::Tensor relative_position_bucket(const at::Tensor& rel, int64_t num_buckets, int64_t max_distance);

// The [lq, lk] int64 bucket table for rel[i, j] = j - i, on `device`.
at::Tensor relative_position_buckets(int64_t lq, int64_t lk, int64_t num_buckets, int64_t max_distance,
                                     const at::Device& device);

}  // namespace gallop::models::text_encoder

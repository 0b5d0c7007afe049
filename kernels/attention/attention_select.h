// How `AttentionBackend::Auto` becomes a concrete backend: a pure function of the device and the
// shape, driven by the measured table in attention_tuning.h (testable without a GPU).
#pragma once

#include <c10/core/ScalarType.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/attention/attention.h"

namespace gallop::kernels {

struct AttentionDevice {
  std::string name;  // e.g. "NVIDIA H100 80GB HBM3"
  int cc_major = 0;
  int cc_minor = 0;
};

// The backend `Auto` runs for this device and shape: the table's row when one matches (the row's
// model as a whole word of the device name, compute capability, dtype, head dim, key length), else
// Cudnn for bf16/fp16 on compute capability >= 8.0, else Sdpa. Never returns Auto.
AttentionBackend select_attention_backend(const AttentionDevice& device, c10::ScalarType dtype, int64_t head_dim,
                                          int64_t len_k);
// The same choice as options: with a row naming a gallop kernel, that kernel too.
AttentionOptions select_attention_options(const AttentionDevice& device, c10::ScalarType dtype, int64_t head_dim,
                                          int64_t len_k);

struct AttentionTuningRow;
// The rule over any table (unit tests use their own rows).
AttentionOptions select_attention_options(const AttentionDevice& device, c10::ScalarType dtype, int64_t head_dim,
                                          int64_t len_k, const AttentionTuningRow* rows, size_t n_rows);

}  // namespace gallop::kernels

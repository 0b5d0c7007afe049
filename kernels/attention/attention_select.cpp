// select_attention_backend: the `auto` rule over the measured table (attention_tuning.h).
#include "kernels/attention/attention_select.h"

#include <cstring>

#include "kernels/attention/attention_tuning.h"

namespace gallop::kernels {

namespace {
const char* dtype_name(c10::ScalarType dtype) {
  switch (dtype) {
    case c10::ScalarType::BFloat16: return "bf16";
    case c10::ScalarType::Half: return "fp16";
    default: return "";
  }
}
}  // namespace

AttentionBackend select_attention_backend(const AttentionDevice& device, c10::ScalarType dtype, int64_t head_dim,
                                          int64_t len_k) {
  const char* dt = dtype_name(dtype);
  for (const auto& row : kAttentionTuning) {
    if (device.name.find(row.device) != std::string::npos && row.cc_major == device.cc_major &&
        row.cc_minor == device.cc_minor && std::strcmp(row.dtype, dt) == 0 && row.head_dim == head_dim &&
        len_k >= row.min_len_k && len_k <= row.max_len_k)
      return row.backend;
  }
  if (*dt != '\0' && device.cc_major >= 8) return AttentionBackend::Cudnn;
  return AttentionBackend::Sdpa;
}

}  // namespace gallop::kernels

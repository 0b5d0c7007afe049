// select_attention_backend: the `auto` rule over the measured table (attention_tuning.h).
#include "kernels/attention/attention_select.h"

#include <cctype>
#include <cstring>
#include <string_view>

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

// Whether `model` appears in the device name as a whole word: "H200" matches "NVIDIA H200" and
// "NVIDIA H200 NVL" but not "NVIDIA GH200 480GB" (another product, not measured).
bool names_model(std::string_view name, std::string_view model) {
  if (model.empty()) return false;
  auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  for (size_t at = name.find(model); at != std::string_view::npos; at = name.find(model, at + 1)) {
    const size_t end = at + model.size();
    if ((at == 0 || !alnum(name[at - 1])) && (end == name.size() || !alnum(name[end]))) return true;
  }
  return false;
}
}  // namespace

AttentionOptions select_attention_options(const AttentionDevice& device, c10::ScalarType dtype, int64_t head_dim,
                                          int64_t len_k) {
  return select_attention_options(device, dtype, head_dim, len_k, kAttentionTuning.data(), kAttentionTuning.size());
}

AttentionOptions select_attention_options(const AttentionDevice& device, c10::ScalarType dtype, int64_t head_dim,
                                          int64_t len_k, const AttentionTuningRow* rows, size_t n_rows) {
  const char* dt = dtype_name(dtype);
  AttentionOptions options;
  for (size_t i = 0; i < n_rows; ++i) {
    const AttentionTuningRow& row = rows[i];
    if (names_model(device.name, row.device) && row.cc_major == device.cc_major &&
        row.cc_minor == device.cc_minor && std::strcmp(row.dtype, dt) == 0 && row.head_dim == head_dim &&
        len_k >= row.min_len_k && len_k <= row.max_len_k) {
      if (row.backend == AttentionBackend::Gallop && row.gallop_kernel != nullptr && *row.gallop_kernel != '\0')
        return parse_attention_options(row.gallop_kernel);  // the unit tests parse every row's name
      options.backend = row.backend;
      return options;
    }
  }
  options.backend = *dt != '\0' && device.cc_major >= 8 ? AttentionBackend::Cudnn : AttentionBackend::Sdpa;
  return options;
}

AttentionBackend select_attention_backend(const AttentionDevice& device, c10::ScalarType dtype, int64_t head_dim,
                                          int64_t len_k) {
  return select_attention_options(device, dtype, head_dim, len_k).backend;
}

}  // namespace gallop::kernels

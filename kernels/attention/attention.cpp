// Dispatch for attention (see attention.h). The CUDA kernels plug in through attention_cuda.h
// when the build has them; everything else goes through ATen.
#include "kernels/attention/attention.h"

#include <cmath>
#include <stdexcept>

namespace gallop::kernels {

const char* attention_backend_name(AttentionBackend b) {
  switch (b) {
    case AttentionBackend::Auto: return "auto";
    case AttentionBackend::Reference: return "reference";
    case AttentionBackend::Sdpa: return "sdpa";
    case AttentionBackend::Cudnn: return "cudnn";
    case AttentionBackend::Flash: return "flash";
    case AttentionBackend::Gallop: return "gallop";
  }
  return "?";
}

AttentionBackend parse_attention_backend(const std::string& name) {
  for (auto b : {AttentionBackend::Auto, AttentionBackend::Reference, AttentionBackend::Sdpa,
                 AttentionBackend::Cudnn, AttentionBackend::Flash, AttentionBackend::Gallop})
    if (name == attention_backend_name(b)) return b;
  throw std::invalid_argument("unknown attention backend '" + name +
                              "' (expected auto, reference, sdpa, cudnn, flash or gallop)");
}

namespace {

void check_inputs(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& k_lens) {
  TORCH_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, "attention: q, k, v must be [B, L, H, D]");
  TORCH_CHECK(k.sizes() == v.sizes(), "attention: k ", k.sizes(), " and v ", v.sizes(), " differ");
  TORCH_CHECK(q.size(0) == k.size(0) && q.size(2) == k.size(2) && q.size(3) == k.size(3),
              "attention: q ", q.sizes(), " does not match k ", k.sizes());
  TORCH_CHECK(q.scalar_type() == k.scalar_type() && q.scalar_type() == v.scalar_type(),
              "attention: q, k, v dtypes differ");
  TORCH_CHECK(q.device() == k.device() && q.device() == v.device(), "attention: q, k, v devices differ");
  if (k_lens.defined())
    TORCH_CHECK(k_lens.dim() == 1 && k_lens.size(0) == q.size(0), "attention: k_lens must be [B]");
}

// Boolean key mask [B, 1, 1, Lk] (true = attend) from k_lens, or undefined.
at::Tensor key_mask(const at::Tensor& k_lens, int64_t lk, const at::Device& device) {
  if (!k_lens.defined()) return {};
  auto pos = at::arange(lk, at::TensorOptions().dtype(at::kLong).device(device));
  auto lens = k_lens.to(device, at::kLong);
  return pos.unsqueeze(0).lt(lens.unsqueeze(1)).view({lens.size(0), 1, 1, lk});
}

at::Tensor sdpa(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& k_lens,
                double scale) {
  // SDPA wants [B, H, L, D].
  auto mask = key_mask(k_lens, k.size(1), q.device());
  auto out = at::scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), mask,
                                              /*dropout_p=*/0.0, /*is_causal=*/false, scale);
  return out.transpose(1, 2);
}

}  // namespace

at::Tensor attention_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                               const at::Tensor& k_lens, double scale) {
  check_inputs(q, k, v, k_lens);
  auto qf = q.to(at::kFloat).transpose(1, 2);  // [B, H, Lq, D]
  auto kf = k.to(at::kFloat).transpose(1, 2);
  auto vf = v.to(at::kFloat).transpose(1, 2);
  auto logits = at::matmul(qf, kf.transpose(-1, -2)) * scale;  // [B, H, Lq, Lk]
  auto mask = key_mask(k_lens, k.size(1), q.device());
  if (mask.defined()) logits = logits.masked_fill(mask.logical_not(), -std::numeric_limits<float>::infinity());
  auto out = at::matmul(at::softmax(logits, -1), vf);  // [B, H, Lq, D]
  return out.transpose(1, 2).to(q.scalar_type());
}

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& k_lens,
                     const AttentionOptions& options) {
  check_inputs(q, k, v, k_lens);
  const double scale = options.scale.value_or(1.0 / std::sqrt(static_cast<double>(q.size(3))));
  switch (options.backend) {
    case AttentionBackend::Reference:
      return attention_reference(q, k, v, k_lens, scale);
    case AttentionBackend::Auto:
    case AttentionBackend::Sdpa:
    case AttentionBackend::Cudnn:
    case AttentionBackend::Flash:
    case AttentionBackend::Gallop:
      // Until the CUDA kernels land, every fast backend is ATen's SDPA on CUDA and the reference
      // on the CPU (fp32 math either way for fp32 inputs).
      if (q.is_cuda()) return sdpa(q, k, v, k_lens, scale);
      return attention_reference(q, k, v, k_lens, scale);
  }
  return attention_reference(q, k, v, k_lens, scale);
}

}  // namespace gallop::kernels

// UMT5Encoder: parameter registration under the official keys and the forward pass (see umt5.h).
#include "models/text_encoder/umt5.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Exception.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/utils.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "models/text_encoder/position_bucket.h"

namespace gallop::models::text_encoder {

namespace {

constexpr double kPi = 3.14159265358979323846;

// Registers `<path>.weight` (path dotted, e.g. "attn.q") under `root`, creating plain modules for
// the intermediate names, and returns the parameter.
at::Tensor register_weight(torch::nn::Module& root, const std::string& path, at::IntArrayRef shape,
                           const at::TensorOptions& options) {
  torch::nn::Module* node = &root;
  size_t begin = 0;
  while (begin < path.size()) {
    const size_t dot = path.find('.', begin);
    const std::string name = path.substr(begin, dot == std::string::npos ? std::string::npos : dot - begin);
    auto* existing = node->named_children().find(name);
    node = existing ? existing->get() : node->register_module(name, std::make_shared<torch::nn::Module>()).get();
    if (dot == std::string::npos) break;
    begin = dot + 1;
  }
  return node->register_parameter("weight", at::empty(shape, options), /*requires_grad=*/false);
}

void check_compute_dtype(at::ScalarType dt) {
  TORCH_CHECK(dt == at::kFloat || dt == at::kBFloat16,
              "UMT5Encoder: compute dtype must be Float or BFloat16, got ", dt);
}

// The value the reference fills masked logits with: the compute dtype's lowest finite value.
double lowest_value(at::ScalarType dt) {
  if (dt == at::kBFloat16) return static_cast<float>(std::numeric_limits<c10::BFloat16>::lowest());
  return std::numeric_limits<float>::lowest();
}

at::Tensor cast(const at::Tensor& t, at::ScalarType dt) { return t.scalar_type() == dt ? t : t.to(dt); }

// T5 RMSNorm: statistics in fp32, normalized value rounded to the compute dtype, then × weight.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps, at::ScalarType dt) {
  at::Tensor inv_rms = at::rsqrt(x.to(at::kFloat).pow(2).mean(-1, /*keepdim=*/true) + eps);  // [B, L, 1] fp32
  at::Tensor y = x * inv_rms;  // [B, L, d] fp32
  if (dt != at::kFloat) y = y.to(dt);
  return cast(weight, dt) * y;
}

// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), one rounded op at a time in the reference's order
// (in bf16 each step rounds, so at::gelu(x, "tanh") would not give the same bits). The scalar
// steps stay out of place: LibTorch 2.11's in-place Tensor::mul_(Scalar) on a bf16 tensor rounds
// the scalar to bf16 first, while Python's `0.044715 * t` (and the out-of-place C++ operator)
// multiplies by the fp32 value, so mul_/add_ with a scalar would change the last bits.
at::Tensor gelu_tanh(const at::Tensor& x) {
  static const double kSqrt2OverPi = std::sqrt(2.0 / kPi);
  at::Tensor t = at::pow(x, 3.0) * 0.044715;  // [.., d_ff]
  t = (x + t) * kSqrt2OverPi;
  t = at::tanh(t) + 1.0;
  return (x * 0.5) * t;
}

}  // namespace

UMT5EncoderImpl::UMT5EncoderImpl(const UMT5Config& config, const at::TensorOptions& options) : config_(config) {
  config_.validate();
  const UMT5Config& c = config_;
  const int64_t inner = c.inner_dim();
  token_embedding_ = register_weight(*this, "token_embedding", {c.vocab_size, c.d_model}, options);
  auto blocks = register_module("blocks", torch::nn::ModuleList());
  blocks_.reserve(static_cast<size_t>(c.num_layers));
  for (int64_t i = 0; i < c.num_layers; ++i) {
    auto block = std::make_shared<torch::nn::Module>();
    blocks->push_back(block);
    Block b;
    b.norm1 = register_weight(*block, "norm1", {c.d_model}, options);
    b.q = register_weight(*block, "attn.q", {inner, c.d_model}, options);
    b.k = register_weight(*block, "attn.k", {inner, c.d_model}, options);
    b.v = register_weight(*block, "attn.v", {inner, c.d_model}, options);
    b.o = register_weight(*block, "attn.o", {c.d_model, inner}, options);
    b.pos = register_weight(*block, "pos_embedding.embedding", {c.num_buckets, c.num_heads}, options);
    b.norm2 = register_weight(*block, "norm2", {c.d_model}, options);
    b.gate = register_weight(*block, "ffn.gate.0", {c.d_ff, c.d_model}, options);
    b.fc1 = register_weight(*block, "ffn.fc1", {c.d_ff, c.d_model}, options);
    b.fc2 = register_weight(*block, "ffn.fc2", {c.d_model, c.d_ff}, options);
    blocks_.push_back(std::move(b));
  }
  norm_ = register_weight(*this, "norm", {c.d_model}, options);
}

void UMT5EncoderImpl::cast_weights_for_compute(at::ScalarType compute_dtype) {
  check_compute_dtype(compute_dtype);
  torch::NoGradGuard no_grad;
  // set_data keeps each parameter's identity, so the handles in blocks_ follow. One tensor at a
  // time is duplicated while it converts.
  for (auto& p : parameters()) {
    if (p.scalar_type() != compute_dtype) p.set_data(p.to(compute_dtype));
  }
}

at::Tensor UMT5EncoderImpl::forward(const at::Tensor& ids, const at::Tensor& mask,
                                    at::ScalarType compute_dtype) const {
  check_compute_dtype(compute_dtype);
  TORCH_CHECK(ids.defined() && ids.dim() == 2, "UMT5Encoder: ids must be [B, L], got ",
              ids.defined() ? ids.sizes() : at::IntArrayRef{});
  TORCH_CHECK(ids.scalar_type() == at::kLong || ids.scalar_type() == at::kInt,
              "UMT5Encoder: ids must be int64 or int32, got ", ids.scalar_type());
  TORCH_CHECK(ids.size(0) > 0 && ids.size(1) > 0, "UMT5Encoder: ids must be non-empty, got ", ids.sizes());
  TORCH_CHECK(mask.defined() && mask.sizes() == ids.sizes(), "UMT5Encoder: mask must have the shape of ids ",
              ids.sizes(), ", got ", mask.defined() ? mask.sizes() : at::IntArrayRef{});
  TORCH_CHECK(at::isIntegralType(mask.scalar_type(), /*includeBool=*/true),
              "UMT5Encoder: mask must be bool or integer, got ", mask.scalar_type());
  if (!ids.is_meta()) {
    const int64_t lo = ids.min().item<int64_t>();
    const int64_t hi = ids.max().item<int64_t>();
    TORCH_CHECK(lo >= 0 && hi < config_.vocab_size, "UMT5Encoder: token ids must lie in [0, ", config_.vocab_size,
                "), got values in [", lo, ", ", hi, "]");
  }

  torch::NoGradGuard no_grad;
  const at::ScalarType dt = compute_dtype;
  const at::Device device = token_embedding_.device();
  const int64_t B = ids.size(0);
  const int64_t L = ids.size(1);

  // Gather then cast: the same values as casting the table, without a second table.
  at::Tensor x = cast(at::embedding(token_embedding_, ids.to(device)), dt);  // [B, L, d_model]
  at::Tensor pad_keys = mask.to(device).eq(0).view({B, 1, 1, L});             // [B, 1, 1, L] bool
  at::Tensor buckets =
      relative_position_buckets(L, L, config_.num_buckets, config_.max_distance, device);  // [L, L] int64

  for (const Block& b : blocks_) {
    x = x + attention(b, rms_norm(x, b.norm1, config_.eps, dt), buckets, pad_keys, dt);  // [B, L, d_model]
    x = x + feed_forward(b, rms_norm(x, b.norm2, config_.eps, dt), dt);                   // [B, L, d_model]
  }
  return rms_norm(x, norm_, config_.eps, dt);  // [B, L, d_model]
}

at::Tensor UMT5EncoderImpl::attention(const Block& b, const at::Tensor& x, const at::Tensor& buckets,
                                      const at::Tensor& pad_keys, at::ScalarType dt) const {
  // x [B, L, d_model], buckets [L, L], pad_keys [B, 1, 1, L]
  const int64_t B = x.size(0);
  const int64_t L = x.size(1);
  const int64_t H = config_.num_heads;
  const int64_t D = config_.d_kv;
  at::Tensor q = at::linear(x, cast(b.q, dt)).view({B, L, H, D}).transpose(1, 2);  // [B, H, L, D]
  at::Tensor k = at::linear(x, cast(b.k, dt)).view({B, L, H, D}).transpose(1, 2);  // [B, H, L, D]
  at::Tensor v = at::linear(x, cast(b.v, dt)).view({B, L, H, D}).transpose(1, 2);  // [B, H, L, D]

  at::Tensor scores = at::matmul(q, k.transpose(2, 3));  // [B, H, L, L], unscaled (T5)
  {
    // Position bias with padded keys set to the lowest value, added as one tensor like the reference.
    at::Tensor bias = cast(at::embedding(b.pos, buckets), dt)  // [L, L, H]
                          .permute({2, 0, 1})
                          .unsqueeze(0)                          // [1, H, L, L]
                          .masked_fill(pad_keys, lowest_value(dt));  // [B, H, L, L]
    scores.add_(bias);
  }
  at::Tensor probs = at::softmax(scores, -1, at::kFloat);  // [B, H, L, L] fp32
  scores = at::Tensor();
  probs = cast(probs, dt);
  at::Tensor out = at::matmul(probs, v);  // [B, H, L, D]
  probs = at::Tensor();
  out = out.transpose(1, 2).reshape({B, L, H * D});  // [B, L, H·D]
  return at::linear(out, cast(b.o, dt));             // [B, L, d_model]
}

at::Tensor UMT5EncoderImpl::feed_forward(const Block& b, const at::Tensor& x, at::ScalarType dt) const {
  // x [B, L, d_model]
  at::Tensor hidden = at::linear(x, cast(b.fc1, dt));          // [B, L, d_ff]
  hidden.mul_(gelu_tanh(at::linear(x, cast(b.gate, dt))));     // [B, L, d_ff]
  return at::linear(hidden, cast(b.fc2, dt));                  // [B, L, d_model]
}

}  // namespace gallop::models::text_encoder

// Parameter holders and dtype-pinned primitives of the Wan DiT (see layers.h).
#include "models/dit/layers.h"

namespace gallop::models::dit {

at::Tensor empty_parameter(at::IntArrayRef shape, const at::TensorOptions& options) {
  return at::empty(shape, options.requires_grad(false));
}

LinearImpl::LinearImpl(int64_t in_features, int64_t out_features, const at::TensorOptions& options) {
  weight = register_parameter("weight", empty_parameter({out_features, in_features}, options), false);
  bias = register_parameter("bias", empty_parameter({out_features}, options), false);
}

at::Tensor LinearImpl::forward(const at::Tensor& x, at::ScalarType run) {
  return at::linear(x.to(run), weight.to(run), bias.to(run));
}

PatchEmbeddingImpl::PatchEmbeddingImpl(int64_t in_channels, int64_t dim, std::array<int64_t, 3> patch_,
                                       const at::TensorOptions& options)
    : patch(patch_) {
  weight = register_parameter("weight", empty_parameter({dim, in_channels, patch[0], patch[1], patch[2]}, options),
                              false);
  bias = register_parameter("bias", empty_parameter({dim}, options), false);
}

at::Tensor PatchEmbeddingImpl::forward(const at::Tensor& x, at::ScalarType run) {
  return at::conv3d(x.to(run), weight.to(run), bias.to(run), {patch[0], patch[1], patch[2]});
}

AffineLayerNormImpl::AffineLayerNormImpl(int64_t dim, double eps_, const at::TensorOptions& options) : eps(eps_) {
  weight = register_parameter("weight", empty_parameter({dim}, options), false);
  bias = register_parameter("bias", empty_parameter({dim}, options), false);
}

at::Tensor AffineLayerNormImpl::forward(const at::Tensor& x) {
  return at::layer_norm(x.to(at::kFloat), {x.size(-1)}, weight.to(at::kFloat), bias.to(at::kFloat), eps);
}

RmsNormImpl::RmsNormImpl(int64_t dim, double eps_, const at::TensorOptions& options) : eps(eps_) {
  weight = register_parameter("weight", empty_parameter({dim}, options), false);
}

at::Tensor RmsNormImpl::forward(const at::Tensor& x) {
  auto xf = x.to(at::kFloat);                                                   // [..., dim]
  auto normed = xf * at::rsqrt(xf.pow(2).mean({-1}, /*keepdim=*/true) + eps);  // [..., dim] fp32
  return normed.to(x.scalar_type()).to(at::kFloat) * weight.to(at::kFloat);
}

at::Tensor layer_norm_no_affine(const at::Tensor& x, double eps) {
  return at::layer_norm(x.to(at::kFloat), {x.size(-1)}, {}, {}, eps).to(x.scalar_type());
}

}  // namespace gallop::models::dit

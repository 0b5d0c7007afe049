// WanVAE: chunked causal encode/decode (spec §5.4) and latent (de-)normalization (§5.6).
#include "models/vae/wan_vae.h"

#include <torch/csrc/autograd/grad_mode.h>

#include <vector>

namespace gallop::models::vae {

namespace {

std::shared_ptr<CausalConv3d> pointwise(int64_t channels, const at::TensorOptions& options) {
  const std::array<int64_t, 3> unit{1, 1, 1}, none{0, 0, 0};
  return std::make_shared<CausalConv3d>(channels, channels, unit, unit, none, options);
}

}  // namespace

WanVAE::WanVAE(const VaeConfig& config, const at::TensorOptions& options) : config_(config) {
  config_.validate();
  encoder_ = register_module("encoder", std::make_shared<Encoder3d>(config_, options));
  conv1_ = register_module("conv1", pointwise(2 * config_.z_dim, options));
  conv2_ = register_module("conv2", pointwise(config_.z_dim, options));
  decoder_ = register_module("decoder", std::make_shared<Decoder3d>(config_, options));
}

void WanVAE::cast_weights(at::ScalarType dtype) {
  torch::NoGradGuard no_grad;
  for (auto& p : parameters())
    if (p.scalar_type() != dtype) p.set_data(p.to(dtype));
}

void WanVAE::check_run_options(const VaeRunOptions& options) const {
  TORCH_CHECK(options.compute_dtype == at::kFloat || options.compute_dtype == at::kBFloat16 ||
                  options.compute_dtype == at::kHalf,
              "WanVAE: compute dtype must be float32, bfloat16 or float16, got ", options.compute_dtype);
}

at::Tensor WanVAE::latents_mean(const at::Device& device) const {
  return at::tensor(config_.latents_mean, at::TensorOptions().dtype(at::kFloat))
      .to(device)
      .view({1, config_.z_dim, 1, 1, 1});
}

at::Tensor WanVAE::latents_inv_std(const at::Device& device) const {
  // 1 / std rounded to fp32 once, as the reference computes it.
  return at::reciprocal(at::tensor(config_.latents_std, at::TensorOptions().dtype(at::kFloat)))
      .to(device)
      .view({1, config_.z_dim, 1, 1, 1});
}

at::Tensor WanVAE::normalize_latents(const at::Tensor& mu) const {
  TORCH_CHECK(mu.dim() == 5 && mu.size(1) == config_.z_dim, "WanVAE: latents must be [B, ", config_.z_dim,
              ", T, h, w], got ", mu.sizes());
  return (mu.to(at::kFloat) - latents_mean(mu.device())) * latents_inv_std(mu.device());
}

at::Tensor WanVAE::denormalize_latents(const at::Tensor& z) const {
  TORCH_CHECK(z.dim() == 5 && z.size(1) == config_.z_dim, "WanVAE: latents must be [B, ", config_.z_dim,
              ", T, h, w], got ", z.sizes());
  // Division by the rounded reciprocal (not multiplication by std): the reference's exact form.
  return z.to(at::kFloat) / latents_inv_std(z.device()) + latents_mean(z.device());
}

void WanVAE::decode_streaming(const at::Tensor& z, const FrameSink& sink, const VaeRunOptions& options) {
  TORCH_CHECK(z.defined() && z.dim() == 5, "WanVAE::decode: latents must be 5-D [B, ", config_.z_dim,
              ", T, h, w], got ", z.defined() ? z.sizes() : at::IntArrayRef{});
  TORCH_CHECK(z.size(1) == config_.z_dim, "WanVAE::decode: latents must have ", config_.z_dim,
              " channels, got ", z.size(1), " (shape ", z.sizes(), ")");
  TORCH_CHECK(z.size(0) >= 1 && z.size(2) >= 1 && z.size(3) >= 1 && z.size(4) >= 1,
              "WanVAE::decode: empty latent ", z.sizes());
  TORCH_CHECK(at::isFloatingType(z.scalar_type()), "WanVAE::decode: latents must be floating point, got ",
              z.scalar_type());
  TORCH_CHECK(z.device() == conv2_->weight.device(), "WanVAE::decode: latents are on ", z.device(),
              " but the weights on ", conv2_->weight.device());
  TORCH_CHECK(sink, "WanVAE::decode_streaming: no frame sink");
  check_run_options(options);
  torch::NoGradGuard no_grad;

  const at::Tensor raw = denormalize_latents(z).to(options.compute_dtype);  // [B, z, T, h, w]
  const at::Tensor x = conv2_->forward(raw, {}, options.compute_dtype);       // [B, z, T, h, w]
  FeatureCache cache;
  RunContext ctx{options.compute_dtype, options.attention, &cache};
  for (int64_t t = 0; t < x.size(2); ++t) {
    cache.begin_chunk();
    at::Tensor frames = decoder_->forward(x.narrow(2, t, 1), ctx);  // [B, out, 1 or 4, 8h, 8w]
    sink(frames.to(at::kFloat).clamp(-1.0, 1.0));
  }
}

at::Tensor WanVAE::decode(const at::Tensor& z, const VaeRunOptions& options) {
  std::vector<at::Tensor> chunks;
  decode_streaming(z, [&](const at::Tensor& frames) { chunks.push_back(frames); }, options);
  return at::cat(chunks, 2);  // [B, out, 1 + 4(T−1), 8h, 8w]
}

at::Tensor WanVAE::encode(const at::Tensor& video, const VaeRunOptions& options) {
  const int64_t tf = config_.temporal_factor(), sf = config_.spatial_factor();
  TORCH_CHECK(video.defined() && video.dim() == 5, "WanVAE::encode: video must be 5-D [B, ", config_.in_channels,
              ", F, H, W], got ", video.defined() ? video.sizes() : at::IntArrayRef{});
  TORCH_CHECK(video.size(1) == config_.in_channels, "WanVAE::encode: video must have ", config_.in_channels,
              " channels, got ", video.size(1), " (shape ", video.sizes(), ")");
  TORCH_CHECK(video.size(0) >= 1 && video.size(2) >= 1 && (video.size(2) - 1) % tf == 0,
              "WanVAE::encode: frame count must be 1 + ", tf, "k, got ", video.size(2));
  TORCH_CHECK(video.size(3) >= sf && video.size(4) >= sf && video.size(3) % sf == 0 && video.size(4) % sf == 0,
              "WanVAE::encode: height and width must be positive multiples of ", sf, ", got ", video.size(3), "x",
              video.size(4));
  TORCH_CHECK(at::isFloatingType(video.scalar_type()), "WanVAE::encode: video must be floating point, got ",
              video.scalar_type());
  TORCH_CHECK(video.device() == conv1_->weight.device(), "WanVAE::encode: video is on ", video.device(),
              " but the weights on ", conv1_->weight.device());
  check_run_options(options);
  torch::NoGradGuard no_grad;

  FeatureCache cache;
  RunContext ctx{options.compute_dtype, options.attention, &cache};
  const at::Tensor x = video.to(options.compute_dtype);  // [B, in, F, H, W]
  std::vector<at::Tensor> latents;
  const int64_t chunks = 1 + (x.size(2) - 1) / tf;
  for (int64_t i = 0; i < chunks; ++i) {
    cache.begin_chunk();
    const at::Tensor chunk = i == 0 ? x.narrow(2, 0, 1) : x.narrow(2, 1 + tf * (i - 1), tf);
    latents.push_back(encoder_->forward(chunk, ctx));  // [B, 2z, 1, H/8, W/8]
  }
  const at::Tensor moments = conv1_->forward(at::cat(latents, 2), {}, options.compute_dtype);  // [B, 2z, T, h, w]
  return normalize_latents(moments.narrow(1, 0, config_.z_dim));                              // μ: [B, z, T, h, w]
}

}  // namespace gallop::models::vae

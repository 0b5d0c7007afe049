// Encoder3d / Decoder3d: construction of the official layer stacks and the per-chunk forward.
#include "models/vae/encoder_decoder.h"

#include <torch/nn/modules/container/modulelist.h>

namespace gallop::models::vae {

namespace {

constexpr std::array<int64_t, 3> kK3{3, 3, 3}, kUnit{1, 1, 1};

std::shared_ptr<CausalConv3d> conv3(int64_t in, int64_t out, const at::TensorOptions& options) {
  return std::make_shared<CausalConv3d>(in, out, kK3, kUnit, kUnit, options);
}

// Registers `blocks` as a ModuleList named `name` (children "0", "1", ...).
void register_list(torch::nn::Module& parent, const std::string& name,
                   const std::vector<std::shared_ptr<Block>>& blocks) {
  auto list = parent.register_module(name, torch::nn::ModuleList());
  for (const auto& b : blocks) list->push_back(b);
}

at::Tensor run(const std::vector<std::shared_ptr<Block>>& blocks, at::Tensor x, RunContext& ctx) {
  for (const auto& b : blocks) x = b->forward(x, ctx);
  return x;
}

}  // namespace

Encoder3d::Encoder3d(const VaeConfig& config, const at::TensorOptions& options) {
  const std::vector<int64_t> dims = config.encoder_dims();  // real: [96, 96, 192, 384, 384]
  conv1_ = register_module("conv1", conv3(config.in_channels, dims[0], options));
  const size_t stages = config.dim_mult.size();
  for (size_t i = 0; i < stages; ++i) {
    int64_t in = dims[i];
    const int64_t out = dims[i + 1];
    for (int64_t r = 0; r < config.num_res_blocks; ++r) {
      downsamples_.push_back(std::make_shared<ResidualBlock>(in, out, options));
      in = out;
    }
    if (i + 1 != stages) {
      const auto mode = config.temporal_downsample[i] ? ResampleMode::Downsample3d : ResampleMode::Downsample2d;
      downsamples_.push_back(std::make_shared<Resample>(out, mode, options));
    }
  }
  register_list(*this, "downsamples", downsamples_);
  middle_ = make_middle(dims.back(), options);
  register_list(*this, "middle", middle_);
  auto head = register_module("head", std::make_shared<SequentialSlots>());
  head_norm_ = head->register_module("0", std::make_shared<RmsNorm>(dims.back(), false, options));
  head_conv_ = head->register_module("2", conv3(dims.back(), 2 * config.z_dim, options));
}

at::Tensor Encoder3d::forward(const at::Tensor& x, RunContext& ctx) {
  at::Tensor y = conv1_->forward_cached(x.to(ctx.dtype), ctx);  // [B, base, T, H, W]
  y = run(downsamples_, y, ctx);                                 // [B, 4·base, 1, H/8, W/8]
  y = run(middle_, y, ctx);
  y = at::silu(head_norm_->forward(y, ctx.dtype));
  return head_conv_->forward_cached(y, ctx);  // [B, 2·z, 1, H/8, W/8]
}

Decoder3d::Decoder3d(const VaeConfig& config, const at::TensorOptions& options) {
  const std::vector<int64_t> dims = config.decoder_dims();  // real: [384, 384, 384, 192, 96]
  const std::vector<bool> temporal = config.temporal_upsample();
  conv1_ = register_module("conv1", conv3(config.z_dim, dims[0], options));
  middle_ = make_middle(dims[0], options);
  register_list(*this, "middle", middle_);
  const size_t stages = config.dim_mult.size();
  for (size_t i = 0; i < stages; ++i) {
    // Stages after the first start from the half-width output of the previous Resample.
    int64_t in = i == 0 ? dims[i] : dims[i] / 2;
    const int64_t out = dims[i + 1];
    for (int64_t r = 0; r < config.num_res_blocks + 1; ++r) {
      upsamples_.push_back(std::make_shared<ResidualBlock>(in, out, options));
      in = out;
    }
    if (i + 1 != stages) {
      const auto mode = temporal[i] ? ResampleMode::Upsample3d : ResampleMode::Upsample2d;
      upsamples_.push_back(std::make_shared<Resample>(out, mode, options));
    }
  }
  register_list(*this, "upsamples", upsamples_);
  auto head = register_module("head", std::make_shared<SequentialSlots>());
  head_norm_ = head->register_module("0", std::make_shared<RmsNorm>(dims.back(), false, options));
  head_conv_ = head->register_module("2", conv3(dims.back(), config.out_channels, options));
}

at::Tensor Decoder3d::forward(const at::Tensor& z, RunContext& ctx) {
  at::Tensor y = conv1_->forward_cached(z, ctx);  // [B, 4·base, 1, h, w]
  y = run(middle_, y, ctx);
  y = run(upsamples_, y, ctx);  // [B, base, 1 or 4, 8h, 8w]
  y = at::silu(head_norm_->forward(y, ctx.dtype));
  return head_conv_->forward_cached(y, ctx);  // [B, out, 1 or 4, 8h, 8w]
}

}  // namespace gallop::models::vae

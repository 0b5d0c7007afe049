// The VAE building blocks (see layers.h). Op order follows the reference where it matters for
// the last bits: F.normalize then ·√C then ·γ; pad then conv; nearest-exact upsampling in fp32.
#include "models/vae/layers.h"

#include <cmath>

namespace gallop::models::vae {

namespace {

at::Tensor empty_param(at::IntArrayRef shape, const at::TensorOptions& options) {
  return at::empty(shape, options.requires_grad(false));
}

// A weight in the compute dtype (no copy when it already is).
at::Tensor in_dtype(const at::Tensor& w, at::ScalarType dtype) { return w.scalar_type() == dtype ? w : w.to(dtype); }

}  // namespace

// ---------------------------------------------------------------------------------------------
FeatureCache::Slot& FeatureCache::next() {
  if (cursor_ == slots_.size()) slots_.emplace_back();
  return slots_[cursor_++];
}

// ---------------------------------------------------------------------------------------------
CausalConv3d::CausalConv3d(int64_t in, int64_t out, std::array<int64_t, 3> kernel, std::array<int64_t, 3> stride,
                           std::array<int64_t, 3> padding, const at::TensorOptions& options)
    : stride_(stride), padding_(padding) {
  weight = register_parameter("weight", empty_param({out, in, kernel[0], kernel[1], kernel[2]}, options),
                              /*requires_grad=*/false);
  bias = register_parameter("bias", empty_param({out}, options), /*requires_grad=*/false);
}

at::Tensor CausalConv3d::forward(const at::Tensor& x, const at::Tensor& cache, at::ScalarType dtype) const {
  const int64_t pt = padding_[0], ph = padding_[1], pw = padding_[2];
  at::Tensor input = x;  // [B, Cin, T, H, W]
  int64_t front = 2 * pt;
  if (cache.defined() && front > 0) {
    input = at::cat({cache, x}, 2);  // [B, Cin, Tc + T, H, W]
    front -= cache.size(2);
  }
  input = at::constant_pad_nd(input, {pw, pw, ph, ph, front, 0}, 0);
  return at::conv3d(input, in_dtype(weight, dtype), in_dtype(bias, dtype), stride_);
}

at::Tensor CausalConv3d::forward_cached(const at::Tensor& x, RunContext& ctx) const {
  TORCH_CHECK(ctx.cache != nullptr, "CausalConv3d: a cached conv needs a FeatureCache");
  FeatureCache::Slot& slot = ctx.cache->next();
  const bool has_old = slot.state == FeatureCache::Slot::State::Frames;
  const int64_t t = x.size(2);
  at::Tensor keep = x.narrow(2, std::max<int64_t>(0, t - kCacheFrames), std::min(t, kCacheFrames)).clone();
  if (keep.size(2) < kCacheFrames && has_old)
    keep = at::cat({slot.frames.narrow(2, slot.frames.size(2) - 1, 1), keep}, 2);
  at::Tensor out = forward(x, has_old ? slot.frames : at::Tensor(), ctx.dtype);
  slot.state = FeatureCache::Slot::State::Frames;
  slot.frames = keep;  // [B, Cin, 1..2, H, W]
  return out;
}

// ---------------------------------------------------------------------------------------------
Conv2d::Conv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding,
               const at::TensorOptions& options)
    : stride_(stride), padding_(padding) {
  weight = register_parameter("weight", empty_param({out, in, kernel, kernel}, options), false);
  bias = register_parameter("bias", empty_param({out}, options), false);
}

at::Tensor Conv2d::forward(const at::Tensor& x, at::ScalarType dtype) const {
  return at::conv2d(x, in_dtype(weight, dtype), in_dtype(bias, dtype), {stride_, stride_}, {padding_, padding_});
}

// ---------------------------------------------------------------------------------------------
RmsNorm::RmsNorm(int64_t channels, bool image, const at::TensorOptions& options)
    : scale_(std::sqrt(static_cast<double>(channels))) {
  std::vector<int64_t> shape{channels, 1, 1};
  if (!image) shape.push_back(1);
  gamma = register_parameter("gamma", empty_param(shape, options), false);
}

at::Tensor RmsNorm::forward(const at::Tensor& x, at::ScalarType dtype) const {
  const at::Tensor xf = x.scalar_type() == at::kFloat ? x : x.to(at::kFloat);  // [N, C, ...]
  const at::Tensor norm = xf.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12);  // [N, 1, ...]
  at::Tensor normalized = (xf / norm).to(x.scalar_type());
  return normalized * scale_ * in_dtype(gamma, x.scalar_type());
}

// ---------------------------------------------------------------------------------------------
ResidualBlock::ResidualBlock(int64_t in, int64_t out, const at::TensorOptions& options) {
  auto residual = register_module("residual", std::make_shared<SequentialSlots>());
  norm1_ = residual->register_module("0", std::make_shared<RmsNorm>(in, false, options));
  conv1_ = residual->register_module("2", std::make_shared<CausalConv3d>(in, out, std::array<int64_t, 3>{3, 3, 3},
                                                                         std::array<int64_t, 3>{1, 1, 1},
                                                                         std::array<int64_t, 3>{1, 1, 1}, options));
  norm2_ = residual->register_module("3", std::make_shared<RmsNorm>(out, false, options));
  conv2_ = residual->register_module("6", std::make_shared<CausalConv3d>(out, out, std::array<int64_t, 3>{3, 3, 3},
                                                                         std::array<int64_t, 3>{1, 1, 1},
                                                                         std::array<int64_t, 3>{1, 1, 1}, options));
  if (in != out)
    shortcut_ = register_module("shortcut", std::make_shared<CausalConv3d>(in, out, std::array<int64_t, 3>{1, 1, 1},
                                                                           std::array<int64_t, 3>{1, 1, 1},
                                                                           std::array<int64_t, 3>{0, 0, 0}, options));
}

at::Tensor ResidualBlock::forward(const at::Tensor& x, RunContext& ctx) {
  const at::Tensor h = shortcut_ ? shortcut_->forward(x, {}, ctx.dtype) : x;  // [B, Cout, T, H, W]
  at::Tensor y = at::silu(norm1_->forward(x, ctx.dtype));                     // [B, Cin, T, H, W]
  y = conv1_->forward_cached(y, ctx);                                          // [B, Cout, T, H, W]
  y = at::silu(norm2_->forward(y, ctx.dtype));
  y = conv2_->forward_cached(y, ctx);
  return y + h;
}

// ---------------------------------------------------------------------------------------------
AttentionBlock::AttentionBlock(int64_t channels, const at::TensorOptions& options) {
  norm_ = register_module("norm", std::make_shared<RmsNorm>(channels, true, options));
  to_qkv_ = register_module("to_qkv", std::make_shared<Conv2d>(channels, 3 * channels, 1, 1, 0, options));
  proj_ = register_module("proj", std::make_shared<Conv2d>(channels, channels, 1, 1, 0, options));
}

at::Tensor AttentionBlock::forward(const at::Tensor& x, RunContext& ctx) {
  const int64_t b = x.size(0), c = x.size(1), t = x.size(2), h = x.size(3), w = x.size(4);
  at::Tensor frames = x.permute({0, 2, 1, 3, 4}).reshape({b * t, c, h, w});  // [BT, C, H, W]
  frames = norm_->forward(frames, ctx.dtype);
  at::Tensor qkv = to_qkv_->forward(frames, ctx.dtype)  // [BT, 3C, H, W]
                       .reshape({b * t, 3 * c, h * w})
                       .permute({0, 2, 1})
                       .contiguous();  // [BT, HW, 3C]: q, k, v along the last axis
  std::vector<at::Tensor> outs;
  outs.reserve(b * t);
  for (int64_t f = 0; f < b * t; ++f) {
    at::Tensor one = qkv.narrow(0, f, 1).unsqueeze(2);  // [1, HW, 1, 3C]
    at::Tensor q = one.narrow(3, 0, c), k = one.narrow(3, c, c), v = one.narrow(3, 2 * c, c);  // [1, HW, 1, C]
    outs.push_back(kernels::attention(q, k, v, {}, ctx.attention));                           // [1, HW, 1, C]
  }
  at::Tensor attended = at::cat(outs, 0).squeeze(2);                          // [BT, HW, C]
  attended = attended.permute({0, 2, 1}).reshape({b * t, c, h, w});           // [BT, C, H, W]
  attended = proj_->forward(attended, ctx.dtype);                             // [BT, C, H, W]
  attended = attended.view({b, t, c, h, w}).permute({0, 2, 1, 3, 4});         // [B, C, T, H, W]
  return attended + x;
}

// ---------------------------------------------------------------------------------------------
Resample::Resample(int64_t channels, ResampleMode mode, const at::TensorOptions& options) : mode_(mode) {
  auto resample = register_module("resample", std::make_shared<SequentialSlots>());
  const std::array<int64_t, 3> unit{1, 1, 1};
  switch (mode) {
    case ResampleMode::Upsample2d:
    case ResampleMode::Upsample3d:
      conv_ = resample->register_module("1", std::make_shared<Conv2d>(channels, channels / 2, 3, 1, 1, options));
      break;
    case ResampleMode::Downsample2d:
    case ResampleMode::Downsample3d:
      conv_ = resample->register_module("1", std::make_shared<Conv2d>(channels, channels, 3, 2, 0, options));
      break;
  }
  if (mode == ResampleMode::Upsample3d)
    time_conv_ = register_module("time_conv", std::make_shared<CausalConv3d>(channels, 2 * channels,
                                                                             std::array<int64_t, 3>{3, 1, 1}, unit,
                                                                             std::array<int64_t, 3>{1, 0, 0}, options));
  if (mode == ResampleMode::Downsample3d)
    time_conv_ = register_module("time_conv", std::make_shared<CausalConv3d>(channels, channels,
                                                                             std::array<int64_t, 3>{3, 1, 1},
                                                                             std::array<int64_t, 3>{2, 1, 1},
                                                                             std::array<int64_t, 3>{0, 0, 0}, options));
}

at::Tensor Resample::temporal_up(const at::Tensor& x, RunContext& ctx) const {
  using State = FeatureCache::Slot::State;
  TORCH_CHECK(ctx.cache != nullptr, "Resample: upsample3d needs a FeatureCache");
  FeatureCache::Slot& slot = ctx.cache->next();
  if (slot.state == State::Empty) {
    // First chunk: no temporal conv (1 frame stays 1 frame); remember that it was skipped.
    slot.state = State::Rep;
    return x;
  }
  const int64_t b = x.size(0), c = x.size(1), t = x.size(2), h = x.size(3), w = x.size(4);
  at::Tensor keep = x.narrow(2, std::max<int64_t>(0, t - kCacheFrames), std::min(t, kCacheFrames)).clone();
  if (keep.size(2) < kCacheFrames) {
    // After the skipped first chunk the history starts from a zero frame, not from that chunk.
    at::Tensor before = slot.state == State::Rep ? at::zeros_like(keep)
                                                 : slot.frames.narrow(2, slot.frames.size(2) - 1, 1);
    keep = at::cat({before, keep}, 2);
  }
  at::Tensor y = time_conv_->forward(x, slot.state == State::Rep ? at::Tensor() : slot.frames, ctx.dtype);
  slot.state = State::Frames;
  slot.frames = keep;  // [B, C, 2, H, W]
  // [B, 2C, T, H, W]: channels [0, C) make frame 2t, [C, 2C) frame 2t+1.
  return y.view({b, 2, c, t, h, w}).permute({0, 2, 3, 1, 4, 5}).reshape({b, c, 2 * t, h, w});
}

at::Tensor Resample::temporal_down(const at::Tensor& x, RunContext& ctx) const {
  using State = FeatureCache::Slot::State;
  TORCH_CHECK(ctx.cache != nullptr, "Resample: downsample3d needs a FeatureCache");
  FeatureCache::Slot& slot = ctx.cache->next();
  at::Tensor last = x.narrow(2, x.size(2) - 1, 1).clone();  // [B, C, 1, H, W]
  if (slot.state == State::Empty) {
    // First chunk: no temporal conv (1 frame stays 1 frame).
    slot.state = State::Frames;
    slot.frames = last;
    return x;
  }
  at::Tensor y = time_conv_->forward(at::cat({slot.frames, x}, 2), {}, ctx.dtype);  // stride 2, no padding
  slot.frames = last;
  return y;
}

at::Tensor Resample::forward(const at::Tensor& x, RunContext& ctx) {
  at::Tensor y = mode_ == ResampleMode::Upsample3d ? temporal_up(x, ctx) : x;  // [B, C, T, H, W]
  const int64_t b = y.size(0), c = y.size(1), t = y.size(2), h = y.size(3), w = y.size(4);
  at::Tensor frames = y.permute({0, 2, 1, 3, 4}).reshape({b * t, c, h, w});  // [BT, C, H, W]
  if (mode_ == ResampleMode::Upsample2d || mode_ == ResampleMode::Upsample3d) {
    const at::Tensor up = at::_upsample_nearest_exact2d(frames.to(at::kFloat), {2 * h, 2 * w}, 2.0, 2.0);
    frames = conv_->forward(up.to(frames.scalar_type()), ctx.dtype);  // [BT, C/2, 2H, 2W]
  } else {
    frames = conv_->forward(at::constant_pad_nd(frames, {0, 1, 0, 1}, 0), ctx.dtype);  // [BT, C, H/2, W/2]
  }
  y = frames.view({b, t, frames.size(1), frames.size(2), frames.size(3)}).permute({0, 2, 1, 3, 4});
  if (mode_ == ResampleMode::Downsample3d) y = temporal_down(y, ctx);
  return y;
}

// ---------------------------------------------------------------------------------------------
std::vector<std::shared_ptr<Block>> make_middle(int64_t channels, const at::TensorOptions& options) {
  return {std::make_shared<ResidualBlock>(channels, channels, options),
          std::make_shared<AttentionBlock>(channels, options),
          std::make_shared<ResidualBlock>(channels, channels, options)};
}

}  // namespace gallop::models::vae

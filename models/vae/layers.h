// The building blocks of the Wan2.1 VAE (spec §5.2) and the per-call state of the chunked causal
// pass (§5.4): CausalConv3d, Conv2d, channel RMS norm, ResidualBlock, the single-head middle
// AttentionBlock and Resample (up/down, 2d/3d).
//
// Parameters are allocated uninitialized (at::empty) with the caller's options and registered
// under the official checkpoint names; a Sequential index of the official code is a child module
// registered under that number ("residual.2", "resample.1", "head.0"). Blocks run in the compute
// dtype of the RunContext (weights are cast on the fly when their dtype differs; pre-cast them
// with WanVAE::cast_weights to avoid the copies).
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/attention/attention.h"

namespace gallop::models::vae {

// Number of trailing frames a temporal-kernel-3 conv keeps from one chunk for the next.
constexpr int64_t kCacheFrames = 2;

// The feature cache of one encode or decode call: one slot per cached temporal conv, visited in
// the same order for every chunk (begin_chunk() rewinds the cursor).
class FeatureCache {
 public:
  struct Slot {
    enum class State { Empty, Rep, Frames };
    State state = State::Empty;
    at::Tensor frames;  // [B, C, 1..2, H, W] when state == Frames
  };
  void begin_chunk() { cursor_ = 0; }
  Slot& next();

 private:
  std::vector<Slot> slots_;
  size_t cursor_ = 0;
};

// What every block needs besides its input.
struct RunContext {
  at::ScalarType dtype = at::kFloat;  // compute dtype of activations and (cast) weights
  kernels::AttentionOptions attention;
  FeatureCache* cache = nullptr;  // required by the cached convs and the temporal resamplers
};

// Conv3d whose temporal padding is causal: W and H padded symmetrically, T by 2·pt in front only.
class CausalConv3d : public torch::nn::Module {
 public:
  CausalConv3d(int64_t in, int64_t out, std::array<int64_t, 3> kernel, std::array<int64_t, 3> stride,
               std::array<int64_t, 3> padding, const at::TensorOptions& options);
  // x [B, Cin, T, H, W]; cache [B, Cin, Tc, H, W] (Tc <= 2·pt) or undefined -> [B, Cout, T', H', W']
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cache, at::ScalarType dtype) const;
  // The cache rule of §5.4 for the temporal-kernel-3 convs: runs with the slot's frames and stores
  // the last 2 frames of x (prepending the previous last frame when x has a single frame).
  at::Tensor forward_cached(const at::Tensor& x, RunContext& ctx) const;

  at::Tensor weight;  // [Cout, Cin, kt, kh, kw]
  at::Tensor bias;    // [Cout]

 private:
  std::array<int64_t, 3> stride_, padding_;
};

// Plain 2D convolution (used per frame): weight [Cout, Cin, k, k], bias [Cout].
class Conv2d : public torch::nn::Module {
 public:
  Conv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding, const at::TensorOptions& options);
  // x [N, Cin, H, W] -> [N, Cout, H', W']
  at::Tensor forward(const at::Tensor& x, at::ScalarType dtype) const;

  at::Tensor weight;
  at::Tensor bias;

 private:
  int64_t stride_, padding_;
};

// x / max(‖x‖₂ over channels, 1e-12) · √C · γ. The normalization runs in fp32 whatever the
// compute dtype and is rounded back to it before the scale (as the reference). `image` selects
// the γ shape [C, 1, 1] (4D inputs) instead of [C, 1, 1, 1] (5D inputs).
class RmsNorm : public torch::nn::Module {
 public:
  RmsNorm(int64_t channels, bool image, const at::TensorOptions& options);
  // x [N, C, ...] -> same shape
  at::Tensor forward(const at::Tensor& x, at::ScalarType dtype) const;

  at::Tensor gamma;

 private:
  double scale_;
};

// A child that only names a position of an official nn.Sequential ("residual", "resample",
// "head"): its children are registered under their index.
struct SequentialSlots : torch::nn::Module {};

// A layer of the encoder / decoder stacks.
class Block : public torch::nn::Module {
 public:
  // x [B, C, T, H, W] -> [B, C', T', H', W']
  virtual at::Tensor forward(const at::Tensor& x, RunContext& ctx) = 0;
};

// RMS → SiLU → conv3 → RMS → SiLU → conv3, plus a 1×1×1 shortcut when the width changes.
class ResidualBlock : public Block {
 public:
  ResidualBlock(int64_t in, int64_t out, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x, RunContext& ctx) override;

 private:
  std::shared_ptr<RmsNorm> norm1_, norm2_;      // residual.0, residual.3
  std::shared_ptr<CausalConv3d> conv1_, conv2_;  // residual.2, residual.6
  std::shared_ptr<CausalConv3d> shortcut_;       // null when in == out
};

// Single-head self-attention over the H·W positions of each frame (head dim = C, scale 1/√C).
// Frames are attended one at a time, so at most one frame's logits exist at once.
class AttentionBlock : public Block {
 public:
  AttentionBlock(int64_t channels, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x, RunContext& ctx) override;

 private:
  std::shared_ptr<RmsNorm> norm_;
  std::shared_ptr<Conv2d> to_qkv_, proj_;
};

enum class ResampleMode { Upsample2d, Upsample3d, Downsample2d, Downsample3d };

// Spatial ×2 up (nearest-exact + conv to C/2) or ÷2 down (pad right/bottom + stride-2 conv), per
// frame; the 3d modes add the temporal conv with the first-chunk rules of §5.4.
class Resample : public Block {
 public:
  Resample(int64_t channels, ResampleMode mode, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x, RunContext& ctx) override;

 private:
  // x [B, C, T, H, W] -> [B, 2C→C frames interleaved: C, 2T, H, W]
  at::Tensor temporal_up(const at::Tensor& x, RunContext& ctx) const;
  // x [B, C, T, H, W] (already spatially down) -> [B, C, T', H, W]
  at::Tensor temporal_down(const at::Tensor& x, RunContext& ctx) const;

  ResampleMode mode_;
  std::shared_ptr<Conv2d> conv_;            // resample.1
  std::shared_ptr<CausalConv3d> time_conv_;  // 3d modes only
};

// The three middle layers (Res, Attn, Res), the same in encoder and decoder.
std::vector<std::shared_ptr<Block>> make_middle(int64_t channels, const at::TensorOptions& options);

}  // namespace gallop::models::vae

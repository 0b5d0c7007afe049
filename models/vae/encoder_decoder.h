// Encoder3d and Decoder3d of the Wan2.1 VAE (spec §5.3): the layer stacks with the official
// Sequential indices (`downsamples.N`, `upsamples.N`, `middle.N`, `head.N`). Each forward runs one
// time chunk with the feature cache of the RunContext; WanVAE drives the chunking (§5.4).
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <memory>
#include <vector>

#include "models/vae/config.h"
#include "models/vae/layers.h"

namespace gallop::models::vae {

class Encoder3d : public torch::nn::Module {
 public:
  Encoder3d(const VaeConfig& config, const at::TensorOptions& options);
  // x [B, in_channels, T, H, W] (one chunk: 1 frame first, then `temporal_factor` frames)
  // -> [B, 2·z_dim, 1, H/8, W/8]
  at::Tensor forward(const at::Tensor& x, RunContext& ctx);

 private:
  std::shared_ptr<CausalConv3d> conv1_;
  std::vector<std::shared_ptr<Block>> downsamples_, middle_;
  std::shared_ptr<RmsNorm> head_norm_;      // head.0
  std::shared_ptr<CausalConv3d> head_conv_;  // head.2
};

class Decoder3d : public torch::nn::Module {
 public:
  Decoder3d(const VaeConfig& config, const at::TensorOptions& options);
  // z [B, z_dim, 1, h, w] (one latent frame) -> [B, out_channels, 1 (first chunk) or 4, 8h, 8w]
  at::Tensor forward(const at::Tensor& z, RunContext& ctx);

 private:
  std::shared_ptr<CausalConv3d> conv1_;
  std::vector<std::shared_ptr<Block>> middle_, upsamples_;
  std::shared_ptr<RmsNorm> head_norm_;
  std::shared_ptr<CausalConv3d> head_conv_;
};

}  // namespace gallop::models::vae

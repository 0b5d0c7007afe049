// The built-in tiny model: the full Wan2.1 text-to-video architecture (umT5 encoder, DiT, VAE,
// SentencePiece tokenizer) at tiny widths with 2 layers, and random weights drawn from a fixed
// seed, so that `gallop generate --model tiny` writes a real MP4 on any machine in seconds and
// the loaders can be tested on real files. It produces noise-like videos: real videos need the
// real weights (weights.md).
#pragma once

#include <filesystem>
#include <string>

#include <torch/nn/module.h>

#include "models/dit/config.h"
#include "models/text_encoder/config.h"
#include "models/vae/config.h"

namespace gallop::engine {

struct TinyModelConfig {
  models::text_encoder::UMT5Config text_encoder;
  models::dit::DitConfig dit;
  models::vae::VaeConfig vae;
};
const TinyModelConfig& tiny_model_config();

// The project's tiny SentencePiece model (tokenizer/assets/tiny_spiece.model), built into the
// program.
std::string tiny_tokenizer_model();

// Which of the tiny model's components a seed belongs to.
enum class TinyComponent { TextEncoder = 1, Dit = 2, Vae = 3 };

// Fills every parameter of `module` (fp32, CPU) deterministically from the component's seed, in
// named_parameters() order: matrices ~ N(0, 1/fan_in), norm scales 1 + N(0, 0.05²), biases
// N(0, 0.02²), DiT modulation tables N(0, 0.1²). Same numbers on every machine.
void init_tiny_weights(torch::nn::Module& module, TinyComponent component);

enum class TinyLayout { OfficialFolder, DiffusersFolder, SingleFile };
// "official", "diffusers", "single"; throws gallop::Error(InvalidArgument).
TinyLayout parse_tiny_layout(const std::string& name);

// Writes the tiny model to disk as a real checkpoint in the given layout:
//   official   folder: config.json, diffusion_pytorch_model.safetensors, Wan2.1_VAE.pth,
//              models_t5_umt5-xxl-enc-bf16.pth (fp32 here), google/umt5-xxl/spiece.model
//   diffusers  folder: model_index.json, transformer/, text_encoder/ (HF names), tokenizer/,
//              vae/, scheduler/ with diffusers key names and config.json files
//   single     one .safetensors file with the DiT (ComfyUI-style `model.diffusion_model.`
//              prefix); the path must end in .safetensors. A single file holds only the DiT,
//              so it is not a complete text-to-video model by itself.
// `path` must not exist yet (folders) or is overwritten (single file).
void write_tiny_checkpoint(const std::filesystem::path& path, TinyLayout layout);

}  // namespace gallop::engine

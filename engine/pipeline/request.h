// Typed requests for the pipelines, and the rules that fill in defaults and validate them.
//
// The command line parses strings into these once; everything below works with enums and
// numbers. Defaults follow the official Wan2.1 code per model (spec §6.6).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "engine/sampling/scheduler.h"
#include "kernels/attention/attention.h"

namespace gallop::engine {

// Where and in which precision things run; decided once and passed down.
struct RunPolicy {
  at::Device device = at::kCPU;
  // kBFloat16: the official mixed-precision map (bf16 matmuls, fp32 residual stream, ...);
  // kFloat: everything in fp32 (reference precision).
  at::ScalarType dtype = at::kFloat;
  at::Device text_encoder_device = at::kCPU;
  kernels::AttentionOptions attention;  // backend (and gallop kernel) of every attention
};

// "cuda", "cuda:1", "cpu"; throws gallop::Error(InvalidArgument). "auto": CUDA when visible.
at::Device parse_device(const std::string& name);
// "bf16", "fp32" (also "bfloat16", "float32"); throws gallop::Error(InvalidArgument).
at::ScalarType parse_dtype(const std::string& name);
// "WxH" or the official "W*H"; throws gallop::Error(InvalidArgument).
std::pair<int, int> parse_size(const std::string& text);

struct GenerateRequest {
  std::string model;                            // checkpoint file/folder, or "tiny"
  std::string prompt;
  std::optional<std::string> negative_prompt;   // unset: the official default for the model
  std::optional<int> width, height;             // unset: the model's default size
  std::optional<int> frames;                    // unset: 81
  std::optional<int> steps;                     // unset: 50
  std::optional<double> guidance;               // unset: 5.0
  std::optional<double> shift;                  // unset: 5.0
  Solver solver = Solver::UniPC;
  std::optional<uint64_t> seed;                 // unset: drawn at random (and reported)
  int fps = 16;
  int crf = 10;
  std::filesystem::path output;                 // MP4 path (may be empty when save_frames is set)
  std::filesystem::path save_latents;           // optional .safetensors of the final latents
  std::filesystem::path save_frames;            // optional folder of PNG frames
};

// Model facts that decide defaults.
struct ModelDefaults {
  int width = 832, height = 480;
  int frames = 81;
  int steps = 50;
  double guidance = 5.0;
  double shift = 5.0;
  std::string negative_prompt;  // the official default negative prompt
};

// A request with every field decided.
struct ResolvedGenerate {
  std::string model;  // as given: checkpoint path or "tiny"
  std::string prompt, negative_prompt;
  int width = 0, height = 0, frames = 0, steps = 0;
  double guidance = 0, shift = 0;
  Solver solver = Solver::UniPC;
  uint64_t seed = 0;
  bool seed_was_drawn = false;
  int fps = 16, crf = 10;
  std::filesystem::path output, save_latents, save_frames;
  // Latent grid [16, T, h, w] for these settings (VAE stride 4x8x8).
  int64_t latent_frames() const { return (frames - 1) / 4 + 1; }
  int64_t latent_height() const { return height / 8; }
  int64_t latent_width() const { return width / 8; }
};

// Fills defaults and checks everything that can be checked before heavy work: size a multiple
// of 16, frames of the form 4k+1, steps >= 1, finite guidance, shift > 0, fps and CRF in range,
// at least one output, output paths writable. Throws gallop::Error(InvalidArgument).
ResolvedGenerate resolve_generate(const GenerateRequest& request, const ModelDefaults& defaults);

// The official negative prompts (spec §3.6).
const std::string& official_negative_prompt_t2v();
const std::string& official_negative_prompt_i2v();

// A random seed in [0, 2^63) from the OS entropy source.
uint64_t draw_seed();

}  // namespace gallop::engine

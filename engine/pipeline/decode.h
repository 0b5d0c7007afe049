// The decode stage on its own: latents -> frames -> MP4 and/or PNG files. Used by generate after
// the denoising loop and by `gallop decode` on latents saved earlier (--save-latents), so that a
// finished denoise is never lost to a failed decode.
#pragma once

#include <ATen/ATen.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/core/progress.h"
#include "models/vae/wan_vae.h"

namespace gallop::engine {

struct DecodeOutputs {
  std::filesystem::path video;   // MP4 to write ("" = none)
  std::filesystem::path frames;  // folder for PNG frames ("" = none)
  int fps = 16;
  int crf = 10;
};

// Decodes latents [1, 16, T, h, w] (on the VAE's device) one latent frame at a time and streams
// the uint8 frames into the outputs. Returns the number of frames; appends the paths written.
// An MP4 appears only when complete; on any error (or cancellation) it is not left behind.
int64_t decode_to_outputs(models::vae::WanVAE& vae, const at::Tensor& latents, const DecodeOutputs& outputs,
                          Progress& progress, std::vector<std::filesystem::path>* written);

// A latents file written by --save-latents: the tensor and the settings that made it.
struct SavedLatents {
  at::Tensor latents;  // [16, T, h, w] fp32, CPU
  std::map<std::string, std::string> metadata;
  int width = 0, height = 0, frames = 0, fps = 16;
};

// Reads and validates one: a safetensors file with a "latents" tensor [16, T, h, w] of floats and
// gallop's metadata (family wan2.1). Throws gallop::Error naming the file and the problem
// (NotFound, Format for a corrupt, truncated or foreign file).
SavedLatents read_saved_latents(const std::filesystem::path& path);

// The message for a decode that ran out of memory after the denoising loop: where the latents
// are and the command that decodes them later.
std::string decode_out_of_memory_message(const std::filesystem::path& latents_path, const std::string& model,
                                         const DecodeOutputs& outputs, const std::string& device);

}  // namespace gallop::engine

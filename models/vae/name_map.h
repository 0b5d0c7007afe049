// Checkpoint key renaming for the Wan2.1 VAE (spec §7.5): official `Wan2.1_VAE.pth` names (also
// used by ComfyUI's `wan_2.1_vae.safetensors`) and diffusers `AutoencoderKLWan` names, both mapped
// onto WanVAE's parameter names (= the official keys).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace gallop::models::vae {

enum class Dialect { Official, Diffusers };

// The official key for `key` of a checkpoint in dialect `d`. A key that no rule recognizes is
// returned unchanged (the loader then reports it as unexpected). std::nullopt would mark a tensor
// the engine ignores; the VAE has none. Decoder up-block indices assume `num_res_blocks` residual
// blocks per stage (2 in Wan2.1).
std::optional<std::string> to_official_key(const std::string& key, Dialect d);
std::optional<std::string> to_official_key(const std::string& key, Dialect d, int64_t num_res_blocks);

// The inverse, for writing checkpoints in another dialect: an official key -> its diffusers
// name. Keys outside the tables are returned unchanged.
std::string from_official_key(const std::string& official_key, Dialect d, int64_t num_res_blocks = 2);

}  // namespace gallop::models::vae

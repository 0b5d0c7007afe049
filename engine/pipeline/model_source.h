// Where a pipeline gets its components: a checkpoint on disk (any supported layout and dialect)
// or the built-in tiny model. Components are loaded one stage at a time (text encoder, then DiT,
// then VAE) so that a run never holds more than one large model.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <string>

#include "engine/pipeline/request.h"
#include "models/dit/config.h"
#include "models/dit/wan_model.h"
#include "models/text_encoder/umt5.h"
#include "models/vae/wan_vae.h"
#include "tokenizer/tokenizer.h"

namespace gallop::engine {

class ModelSource {
 public:
  virtual ~ModelSource() = default;

  // One line for logs: "built-in tiny model", "/models/Wan2.1-T2V-1.3B (official Wan2.1 folder)".
  virtual std::string description() const = 0;
  virtual const models::dit::DitConfig& dit_config() const = 0;
  // Defaults of generate for this model (spec §6.6; small ones for the tiny model).
  virtual ModelDefaults defaults() const = 0;

  // Each load builds the component and fills its weights. Throws gallop::Error naming the file
  // on any mismatch (missing / unexpected / mis-shaped tensors are listed together).
  virtual tokenizer::Tokenizer load_tokenizer() const = 0;
  // Weights in `compute_dtype` (the official encoder is all-bf16) on `device`.
  virtual models::text_encoder::UMT5Encoder load_text_encoder(const at::Device& device,
                                                              at::ScalarType compute_dtype) const = 0;
  // Weights cast for `compute_dtype` while loading (models::dit::weight_dtype), on `device`.
  virtual models::dit::WanModel load_dit(const at::Device& device, at::ScalarType compute_dtype) const = 0;
  // fp32 weights (the official VAE runs in fp32) on `device`.
  virtual std::unique_ptr<models::vae::WanVAE> load_vae(const at::Device& device) const = 0;
};

// "tiny" is the built-in tiny model; anything else is a checkpoint file or folder. Checks up
// front that every component a text-to-video run needs is there (DiT, text encoder, tokenizer,
// VAE), without loading weights. Throws gallop::Error (NotFound, Format).
std::unique_ptr<ModelSource> open_model_source(const std::string& model);

// Defaults of generate for a DiT config: 832x480 for the 1.3B width, 1280x720 for 14B (spec §6.6).
ModelDefaults official_t2v_defaults(const models::dit::DitConfig& config);

}  // namespace gallop::engine

// Checkpoint layouts: what a path given by the user holds, component by component.
//
//   official Wan2.1 folder (spec §7.1)   config.json, diffusion_pytorch_model*.safetensors (+ index),
//                                        models_t5_umt5-xxl-enc-bf16.pth, Wan2.1_VAE.pth,
//                                        google/umt5-xxl/spiece.model,
//                                        models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth
//   Diffusers folder (spec §7.4)         model_index.json, transformer/, text_encoder/, tokenizer/,
//                                        vae/, scheduler/, image_encoder/
//   single file (spec §7.8)              one .safetensors / .pth / index.json holding one model,
//                                        whose keys may carry a prefix (`model.diffusion_model.`)
//
// For each component: the files, an opened TensorSource, the key dialect (decided from key
// patterns, never from the folder name), the prefix every key carries, and the config: the
// parsed config.json, or one inferred from tensor shapes where the layout has none.
// A component that is absent is reported (present == false, with the reason), not thrown: the
// pipeline decides what it needs. A file that exists but is corrupt throws.
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/weights/tensor_source.h"

namespace gallop::engine {

enum class CheckpointLayout { OfficialFolder, DiffusersFolder, SingleFile };
enum class ComponentKind { Dit, TextEncoder, Vae, Tokenizer, ImageEncoder, Unknown };
// Official: the Wan2.1 reference's own names. Diffusers: diffusers names for the DiT and VAE,
// HF transformers names for umT5 and CLIP.
enum class KeyDialect { Unknown, Official, Diffusers };

const char* checkpoint_layout_name(CheckpointLayout layout);  // "official Wan2.1 folder", ...
const char* component_kind_name(ComponentKind kind);          // "dit", "text_encoder", ...
const char* key_dialect_name(KeyDialect dialect);             // "official", "diffusers", "unknown"

struct ComponentInfo {
  ComponentKind kind = ComponentKind::Unknown;
  bool present = false;
  std::string missing_reason;                 // when !present: what was looked for, and where
  std::vector<std::filesystem::path> files;   // weight files (shards), or the tokenizer model
  std::shared_ptr<const TensorSource> source;  // the weights; null for the tokenizer
  KeyDialect dialect = KeyDialect::Unknown;
  std::string key_prefix;                     // carried by every key of this model ("" usually)
  std::filesystem::path config_path;          // the config.json read, if any
  nlohmann::json config;                      // parsed or inferred config; null when neither
  bool config_inferred = false;               // config comes from tensor shapes
};

struct CheckpointInfo {
  std::filesystem::path path;
  CheckpointLayout layout = CheckpointLayout::SingleFile;
  nlohmann::json model_index;       // Diffusers model_index.json (null otherwise)
  nlohmann::json scheduler_config;  // Diffusers scheduler/scheduler_config.json (null otherwise)
  // Folders: one entry per kind Dit..ImageEncoder, in that order. Single file: the one model
  // found (kind Unknown when the keys match no known model).
  std::vector<ComponentInfo> components;

  // nullptr when the kind is not listed; listed but missing components are returned.
  const ComponentInfo* find(ComponentKind kind) const;
  // Throws gallop::Error(NotFound) with the missing reason unless the component is present.
  const ComponentInfo& require(ComponentKind kind) const;
};

// Throws gallop::Error: NotFound (no such path; a folder with nothing recognizable), Format
// (corrupt weight files or JSON), Io.
CheckpointInfo detect_checkpoint(const std::filesystem::path& path);

// Which model (and dialect, and key prefix) a list of tensor names belongs to, by key patterns:
// e.g. `condition_embedder.` / `blocks.0.attn1.` mean a diffusers DiT, `blocks.0.self_attn.` an
// official one; `encoder.block.0.layer.0.SelfAttention.` HF umT5; `decoder.up_blocks.` a
// diffusers VAE. `only` restricts the search to one kind (Unknown: any kind).
struct KeyClassification {
  ComponentKind kind = ComponentKind::Unknown;
  KeyDialect dialect = KeyDialect::Unknown;
  std::string prefix;
};
KeyClassification classify_keys(const std::vector<std::string>& sorted_keys,
                                 ComponentKind only = ComponentKind::Unknown);

// A config inferred from tensor shapes (spec §7.2 for the DiT), in the field names of the
// official config.json for the DiT (dim, ffn_dim, in_dim, out_dim, num_heads, num_layers,
// model_type, ...; num_heads assumes head dim 128 as in every Wan2.1 model), of HF config.json
// for umT5 (d_model, d_ff, num_heads, ...) and CLIP vision (hidden_size, ...), and of diffusers
// for the VAE (base_dim, z_dim). Null when the kind/dialect has no rule or a tensor is missing.
nlohmann::json infer_config(const TensorSource& source, const KeyClassification& keys);

}  // namespace gallop::engine

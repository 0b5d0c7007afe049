// Checkpoint layout detection: official Wan2.1 folders, Diffusers folders and single files.
#include "engine/weights/checkpoint.h"

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>

#include "engine/core/error.h"

namespace gallop::engine {

namespace fs = std::filesystem;

// File names of the official layout (spec §7.1).
namespace {
constexpr const char* kOfficialDitStem = "diffusion_pytorch_model";
constexpr const char* kOfficialT5 = "models_t5_umt5-xxl-enc-bf16.pth";
constexpr const char* kOfficialVae = "Wan2.1_VAE.pth";
constexpr const char* kOfficialTokenizer = "google/umt5-xxl/spiece.model";
constexpr const char* kOfficialClip = "models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth";

constexpr ComponentKind kFolderKinds[] = {ComponentKind::Dit, ComponentKind::TextEncoder, ComponentKind::Vae,
                                          ComponentKind::Tokenizer, ComponentKind::ImageEncoder};

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::Io, path.string(), ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) fail(ErrorKind::Format, path.string(), ": not valid JSON");
  if (!j.is_object()) fail(ErrorKind::Format, path.string(), ": not a JSON object");
  return j;
}

// Weight files of one model in `dir` named after `stem`: `<stem>.safetensors.index.json`, then
// `<stem>.safetensors`, then shards `<stem>-NNNNN-of-NNNNN.safetensors` without an index, then
// `<stem>.bin` (torch.save). Empty when none exists.
std::vector<fs::path> find_weights(const fs::path& dir, const std::string& stem, bool* is_index) {
  *is_index = false;
  if (is_file(dir / (stem + ".safetensors.index.json"))) {
    *is_index = true;
    return {dir / (stem + ".safetensors.index.json")};
  }
  if (is_file(dir / (stem + ".safetensors"))) return {dir / (stem + ".safetensors")};
  std::vector<fs::path> shards;
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    const std::regex shard(stem + R"(-\d+-of-\d+\.safetensors)");
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.is_regular_file() && std::regex_match(entry.path().filename().string(), shard))
        shards.push_back(entry.path());
  }
  std::sort(shards.begin(), shards.end());
  if (!shards.empty()) return shards;
  if (is_file(dir / (stem + ".bin"))) return {dir / (stem + ".bin")};
  return {};
}

void mark_missing(ComponentInfo& c, std::string why) {
  c.present = false;
  c.missing_reason = std::move(why);
}

// Opens the weights and fills files, source, dialect, prefix. `weights` is one file (single,
// index, .pth) or several shards.
void attach_weights(ComponentInfo& c, const std::vector<fs::path>& weights) {
  c.present = true;
  c.source = weights.size() == 1 ? TensorSource::open(weights.front()) : TensorSource::open_shards(weights);
  c.files = c.source->files();
  const KeyClassification k = classify_keys(c.source->keys(), c.kind);
  c.dialect = k.dialect;
  c.key_prefix = k.prefix;
}

void attach_config(ComponentInfo& c, const fs::path& config_json) {
  if (is_file(config_json)) {
    c.config_path = config_json;
    c.config = read_json(config_json);
  } else if (c.source && c.dialect != KeyDialect::Unknown) {
    c.config = infer_config(*c.source, {c.kind, c.dialect, c.key_prefix});
    c.config_inferred = !c.config.is_null();
  }
}

// A component stored as weights named `stem` (+ config.json) in `dir`.
ComponentInfo folder_component(ComponentKind kind, const fs::path& dir, const std::string& stem) {
  ComponentInfo c;
  c.kind = kind;
  bool is_index = false;
  const auto weights = find_weights(dir, stem, &is_index);
  if (weights.empty()) {
    mark_missing(c, "no " + stem + ".safetensors, " + stem + ".safetensors.index.json, shards or " + stem + ".bin in " +
                        dir.string());
    return c;
  }
  attach_weights(c, weights);
  attach_config(c, dir / "config.json");
  return c;
}

// A component stored as one .pth file with no config (official T5, VAE, CLIP).
ComponentInfo pth_component(ComponentKind kind, const fs::path& file) {
  ComponentInfo c;
  c.kind = kind;
  if (!is_file(file)) {
    mark_missing(c, "no " + file.string());
    return c;
  }
  attach_weights(c, {file});
  attach_config(c, fs::path());
  return c;
}

ComponentInfo tokenizer_component(const fs::path& spiece) {
  ComponentInfo c;
  c.kind = ComponentKind::Tokenizer;
  if (!is_file(spiece)) {
    mark_missing(c, "no " + spiece.string());
    return c;
  }
  c.present = true;
  c.files = {spiece};
  return c;
}

CheckpointInfo detect_official(const fs::path& root) {
  CheckpointInfo info;
  info.path = root;
  info.layout = CheckpointLayout::OfficialFolder;
  info.components.push_back(folder_component(ComponentKind::Dit, root, kOfficialDitStem));
  info.components.push_back(pth_component(ComponentKind::TextEncoder, root / kOfficialT5));
  info.components.push_back(pth_component(ComponentKind::Vae, root / kOfficialVae));
  info.components.push_back(tokenizer_component(root / kOfficialTokenizer));
  info.components.push_back(pth_component(ComponentKind::ImageEncoder, root / kOfficialClip));
  return info;
}

CheckpointInfo detect_diffusers(const fs::path& root) {
  CheckpointInfo info;
  info.path = root;
  info.layout = CheckpointLayout::DiffusersFolder;
  info.model_index = read_json(root / "model_index.json");
  if (is_file(root / "scheduler" / "scheduler_config.json"))
    info.scheduler_config = read_json(root / "scheduler" / "scheduler_config.json");
  info.components.push_back(folder_component(ComponentKind::Dit, root / "transformer", "diffusion_pytorch_model"));
  info.components.push_back(folder_component(ComponentKind::TextEncoder, root / "text_encoder", "model"));
  info.components.push_back(folder_component(ComponentKind::Vae, root / "vae", "diffusion_pytorch_model"));
  info.components.push_back(tokenizer_component(root / "tokenizer" / "spiece.model"));
  info.components.push_back(folder_component(ComponentKind::ImageEncoder, root / "image_encoder", "model"));
  return info;
}

CheckpointInfo detect_single_file(const fs::path& file) {
  CheckpointInfo info;
  info.path = file;
  info.layout = CheckpointLayout::SingleFile;
  ComponentInfo c;
  c.present = true;
  c.source = TensorSource::open(file);
  c.files = c.source->files();
  const KeyClassification k = classify_keys(c.source->keys());
  c.kind = k.kind;
  c.dialect = k.dialect;
  c.key_prefix = k.prefix;
  // A sharded index sits beside the model's config.json; other single files carry none.
  if (c.source->format() == SourceFormat::ShardedSafetensors && c.kind != ComponentKind::Unknown)
    attach_config(c, file.parent_path() / "config.json");
  else if (c.kind != ComponentKind::Unknown)
    attach_config(c, fs::path());
  info.components.push_back(std::move(c));
  return info;
}

}  // namespace

const char* checkpoint_layout_name(CheckpointLayout layout) {
  switch (layout) {
    case CheckpointLayout::OfficialFolder: return "official Wan2.1 folder";
    case CheckpointLayout::DiffusersFolder: return "Diffusers folder";
    case CheckpointLayout::SingleFile: return "single file";
  }
  return "?";
}

const char* component_kind_name(ComponentKind kind) {
  switch (kind) {
    case ComponentKind::Dit: return "dit";
    case ComponentKind::TextEncoder: return "text_encoder";
    case ComponentKind::Vae: return "vae";
    case ComponentKind::Tokenizer: return "tokenizer";
    case ComponentKind::ImageEncoder: return "image_encoder";
    case ComponentKind::Unknown: return "unknown";
  }
  return "?";
}

const char* key_dialect_name(KeyDialect dialect) {
  switch (dialect) {
    case KeyDialect::Official: return "official";
    case KeyDialect::Diffusers: return "diffusers";
    case KeyDialect::Unknown: return "unknown";
  }
  return "?";
}

const ComponentInfo* CheckpointInfo::find(ComponentKind kind) const {
  for (const auto& c : components)
    if (c.kind == kind) return &c;
  return nullptr;
}

const ComponentInfo& CheckpointInfo::require(ComponentKind kind) const {
  const ComponentInfo* c = find(kind);
  if (!c) fail(ErrorKind::NotFound, path.string(), ": has no ", component_kind_name(kind), " (", checkpoint_layout_name(layout), ")");
  if (!c->present) fail(ErrorKind::NotFound, path.string(), ": no ", component_kind_name(kind), ": ", c->missing_reason);
  return *c;
}

CheckpointInfo detect_checkpoint(const fs::path& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) fail(ErrorKind::NotFound, path.string(), ": no such file or folder");
  if (!fs::is_directory(status)) return detect_single_file(path);

  if (is_file(path / "model_index.json")) return detect_diffusers(path);
  bool is_index = false;
  const bool official = is_file(path / "config.json") || !find_weights(path, kOfficialDitStem, &is_index).empty() ||
                        is_file(path / kOfficialT5) || is_file(path / kOfficialVae);
  if (official) return detect_official(path);
  fail(ErrorKind::NotFound, path.string(),
       ": not a checkpoint folder: found none of model_index.json (Diffusers), config.json, "
       "diffusion_pytorch_model*.safetensors, ",
       kOfficialT5, ", ", kOfficialVae, " (official Wan2.1)");
}

}  // namespace gallop::engine

// Key-pattern classification of checkpoints and configs inferred from tensor shapes
// (checkpoint.h: classify_keys, infer_config).
#include <algorithm>
#include <optional>
#include <set>

#include "engine/weights/checkpoint.h"

namespace gallop::engine {

namespace {

// A model is recognized by one exact key (`anchor`, possibly behind a prefix) plus at least one
// key that starts with `companion` behind the same prefix.
struct Rule {
  ComponentKind kind;
  KeyDialect dialect;
  const char* anchor;
  const char* companion;
};

constexpr Rule kRules[] = {
    {ComponentKind::Dit, KeyDialect::Diffusers, "patch_embedding.weight", "condition_embedder."},
    {ComponentKind::Dit, KeyDialect::Diffusers, "patch_embedding.weight", "blocks.0.attn1."},
    {ComponentKind::Dit, KeyDialect::Official, "patch_embedding.weight", "blocks.0.self_attn."},
    {ComponentKind::Dit, KeyDialect::Official, "patch_embedding.weight", "time_embedding."},
    {ComponentKind::TextEncoder, KeyDialect::Diffusers, "encoder.block.0.layer.0.SelfAttention.q.weight", "encoder."},
    {ComponentKind::TextEncoder, KeyDialect::Official, "token_embedding.weight", "blocks.0.attn.q."},
    {ComponentKind::Vae, KeyDialect::Diffusers, "decoder.conv_in.weight", "decoder.up_blocks."},
    {ComponentKind::Vae, KeyDialect::Diffusers, "encoder.conv_in.weight", "encoder.down_blocks."},
    {ComponentKind::Vae, KeyDialect::Official, "decoder.conv1.weight", "decoder.upsamples."},
    {ComponentKind::Vae, KeyDialect::Official, "encoder.conv1.weight", "encoder.downsamples."},
    {ComponentKind::ImageEncoder, KeyDialect::Diffusers, "vision_model.embeddings.patch_embedding.weight",
     "vision_model.encoder.layers."},
    {ComponentKind::ImageEncoder, KeyDialect::Official, "visual.patch_embedding.weight", "visual.transformer."},
};

bool has_key_starting_with(const std::vector<std::string>& sorted, const std::string& start) {
  auto it = std::lower_bound(sorted.begin(), sorted.end(), start);
  return it != sorted.end() && it->compare(0, start.size(), start) == 0;
}

// The prefix under which `rule` matches, if it does.
std::optional<std::string> match(const Rule& rule, const std::vector<std::string>& sorted) {
  const std::string anchor = rule.anchor;
  for (const auto& key : sorted) {
    if (key.size() < anchor.size() || key.compare(key.size() - anchor.size(), anchor.size(), anchor) != 0) continue;
    const std::string prefix = key.substr(0, key.size() - anchor.size());
    if (!prefix.empty() && prefix.back() != '.') continue;
    if (has_key_starting_with(sorted, prefix + rule.companion)) return prefix;
  }
  return std::nullopt;
}

// Looks up shapes of a classified checkpoint by unprefixed name.
class Shapes {
 public:
  Shapes(const TensorSource& source, const std::string& prefix) : source_(source), prefix_(prefix) {}
  bool has(const std::string& name) const { return source_.contains(prefix_ + name); }
  // Size of dim `d` of `name`, or -1 when the tensor or the dim does not exist.
  int64_t dim(const std::string& name, size_t d) const {
    if (!has(name)) return -1;
    const auto& shape = source_.info(prefix_ + name).shape;
    return d < shape.size() ? shape[d] : -1;
  }
  bool any_starting_with(const std::string& start) const {
    return has_key_starting_with(source_.keys(), prefix_ + start);
  }
  // Number of distinct integers i in keys `<start><i>.` (e.g. "blocks." -> number of blocks).
  int64_t count_indices(const std::string& start) const {
    std::set<int64_t> seen;
    const std::string full = prefix_ + start;
    for (auto it = std::lower_bound(source_.keys().begin(), source_.keys().end(), full);
         it != source_.keys().end() && it->compare(0, full.size(), full) == 0; ++it) {
      const size_t dot = it->find('.', full.size());
      const std::string digits = it->substr(full.size(), dot == std::string::npos ? std::string::npos : dot - full.size());
      if (!digits.empty() && std::all_of(digits.begin(), digits.end(), ::isdigit) && digits.size() < 10)
        seen.insert(std::stoll(digits));
    }
    return static_cast<int64_t>(seen.size());
  }

 private:
  const TensorSource& source_;
  std::string prefix_;
};

// Wan2.1 heads are 128 wide in every released model (spec §1.1).
constexpr int64_t kWanHeadDim = 128;

nlohmann::json infer_dit(const Shapes& s, KeyDialect dialect) {
  const bool diffusers = dialect == KeyDialect::Diffusers;
  const int64_t dim = s.dim("patch_embedding.weight", 0);
  const int64_t in_dim = s.dim("patch_embedding.weight", 1);
  const std::string ffn = diffusers ? "blocks.0.ffn.net.0.proj.weight" : "blocks.0.ffn.0.weight";
  const std::string text = diffusers ? "condition_embedder.text_embedder.linear_1.weight" : "text_embedding.0.weight";
  const std::string time = diffusers ? "condition_embedder.time_embedder.linear_1.weight" : "time_embedding.0.weight";
  const std::string head = diffusers ? "proj_out.weight" : "head.head.weight";
  const int64_t pt = s.dim("patch_embedding.weight", 2), ph = s.dim("patch_embedding.weight", 3),
                pw = s.dim("patch_embedding.weight", 4);
  if (dim <= 0 || in_dim <= 0 || pt <= 0 || ph <= 0 || pw <= 0 || s.dim(head, 0) <= 0) return nullptr;
  const bool image = s.any_starting_with(diffusers ? "condition_embedder.image_embedder." : "img_emb.");
  const bool flf = s.has(diffusers ? "condition_embedder.image_embedder.pos_embed" : "img_emb.emb_pos");
  nlohmann::json j = nlohmann::json::object();
  j["model_type"] = flf ? "flf2v" : image ? "i2v" : "t2v";
  j["dim"] = dim;
  j["in_dim"] = in_dim;
  j["out_dim"] = s.dim(head, 0) / (pt * ph * pw);
  j["ffn_dim"] = s.dim(ffn, 0);
  j["num_layers"] = s.count_indices("blocks.");
  j["num_heads"] = dim % kWanHeadDim == 0 ? dim / kWanHeadDim : -1;
  j["patch_size"] = {pt, ph, pw};
  j["text_dim"] = s.dim(text, 1);
  j["freq_dim"] = s.dim(time, 1);
  return j;
}

nlohmann::json infer_umt5(const Shapes& s, KeyDialect dialect) {
  const bool hf = dialect == KeyDialect::Diffusers;
  const std::string embed = hf ? (s.has("shared.weight") ? "shared.weight" : "encoder.embed_tokens.weight")
                               : "token_embedding.weight";
  const std::string q = hf ? "encoder.block.0.layer.0.SelfAttention.q.weight" : "blocks.0.attn.q.weight";
  const std::string bias =
      hf ? "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight" : "blocks.0.pos_embedding.embedding.weight";
  const std::string gate = hf ? "encoder.block.0.layer.1.DenseReluDense.wi_0.weight" : "blocks.0.ffn.gate.0.weight";
  const int64_t heads = s.dim(bias, 1);
  if (heads <= 0 || s.dim(q, 0) <= 0) return nullptr;
  nlohmann::json j = nlohmann::json::object();
  j["vocab_size"] = s.dim(embed, 0);
  j["d_model"] = s.dim(q, 1);
  j["num_heads"] = heads;
  j["d_kv"] = s.dim(q, 0) / heads;
  j["d_ff"] = s.dim(gate, 0);
  j["num_layers"] = s.count_indices(hf ? "encoder.block." : "blocks.");
  j["relative_attention_num_buckets"] = s.dim(bias, 0);
  return j;
}

nlohmann::json infer_vae(const Shapes& s, KeyDialect dialect) {
  const bool diffusers = dialect == KeyDialect::Diffusers;
  const int64_t base = s.dim(diffusers ? "encoder.conv_in.weight" : "encoder.conv1.weight", 0);
  const int64_t latent2 = s.dim(diffusers ? "quant_conv.weight" : "conv1.weight", 0);  // 2 x z_dim
  if (base <= 0 && latent2 <= 0) return nullptr;
  nlohmann::json j = nlohmann::json::object();
  j["base_dim"] = base;
  j["z_dim"] = latent2 > 0 ? latent2 / 2 : -1;
  return j;
}

nlohmann::json infer_clip(const Shapes& s, KeyDialect dialect) {
  const bool hf = dialect == KeyDialect::Diffusers;
  const std::string patch = hf ? "vision_model.embeddings.patch_embedding.weight" : "visual.patch_embedding.weight";
  if (s.dim(patch, 0) <= 0) return nullptr;
  nlohmann::json j = nlohmann::json::object();
  j["hidden_size"] = s.dim(patch, 0);
  j["patch_size"] = s.dim(patch, 2);
  j["num_hidden_layers"] = s.count_indices(hf ? "vision_model.encoder.layers." : "visual.transformer.");
  return j;
}

}  // namespace

KeyClassification classify_keys(const std::vector<std::string>& sorted_keys, ComponentKind only) {
  for (const auto& rule : kRules) {
    if (only != ComponentKind::Unknown && rule.kind != only) continue;
    if (auto prefix = match(rule, sorted_keys)) return {rule.kind, rule.dialect, *prefix};
  }
  return {};
}

nlohmann::json infer_config(const TensorSource& source, const KeyClassification& keys) {
  const Shapes shapes(source, keys.prefix);
  switch (keys.kind) {
    case ComponentKind::Dit: return infer_dit(shapes, keys.dialect);
    case ComponentKind::TextEncoder: return infer_umt5(shapes, keys.dialect);
    case ComponentKind::Vae: return infer_vae(shapes, keys.dialect);
    case ComponentKind::ImageEncoder: return infer_clip(shapes, keys.dialect);
    default: return nullptr;
  }
}

}  // namespace gallop::engine

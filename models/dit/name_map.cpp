// Diffusers -> official key renaming for the Wan DiT (see name_map.h for the table).
#include "models/dit/name_map.h"

#include <cctype>
#include <string_view>

namespace gallop::models::dit {

namespace {

constexpr std::string_view kSingleFilePrefix = "model.diffusion_model.";

struct Rename {
  std::string_view from;  // a module path (or a parameter name) in diffusers
  std::string_view to;    // the same thing in the official model
};

// Top-level modules/parameters.
constexpr Rename kTopLevel[] = {
    {"condition_embedder.time_embedder.linear_1", "time_embedding.0"},
    {"condition_embedder.time_embedder.linear_2", "time_embedding.2"},
    {"condition_embedder.text_embedder.linear_1", "text_embedding.0"},
    {"condition_embedder.text_embedder.linear_2", "text_embedding.2"},
    {"condition_embedder.time_proj", "time_projection.1"},
    {"condition_embedder.image_embedder.norm1", "img_emb.proj.0"},
    {"condition_embedder.image_embedder.ff.net.0.proj", "img_emb.proj.1"},
    {"condition_embedder.image_embedder.ff.net.2", "img_emb.proj.3"},
    {"condition_embedder.image_embedder.norm2", "img_emb.proj.4"},
    {"condition_embedder.image_embedder.pos_embed", "img_emb.emb_pos"},
    {"scale_shift_table", "head.modulation"},
    {"proj_out", "head.head"},
    {"patch_embedding", "patch_embedding"},
};

// Inside `blocks.{i}.`.
constexpr Rename kBlock[] = {
    {"scale_shift_table", "modulation"},
    {"attn1.to_q", "self_attn.q"},
    {"attn1.to_k", "self_attn.k"},
    {"attn1.to_v", "self_attn.v"},
    {"attn1.to_out.0", "self_attn.o"},
    {"attn1.norm_q", "self_attn.norm_q"},
    {"attn1.norm_k", "self_attn.norm_k"},
    {"attn2.to_q", "cross_attn.q"},
    {"attn2.to_k", "cross_attn.k"},
    {"attn2.to_v", "cross_attn.v"},
    {"attn2.to_out.0", "cross_attn.o"},
    {"attn2.norm_q", "cross_attn.norm_q"},
    {"attn2.norm_k", "cross_attn.norm_k"},
    {"attn2.add_k_proj", "cross_attn.k_img"},
    {"attn2.add_v_proj", "cross_attn.v_img"},
    {"attn2.norm_added_k", "cross_attn.norm_k_img"},
    {"norm2", "norm3"},
    {"ffn.net.0.proj", "ffn.0"},
    {"ffn.net.2", "ffn.2"},
};

// `key` is `from` itself or `from` followed by ".<rest>".
bool matches(std::string_view key, std::string_view from) {
  if (key.substr(0, from.size()) != from) return false;
  return key.size() == from.size() || key[from.size()] == '.';
}

template <size_t N>
std::optional<std::string> rename(std::string_view key, const Rename (&table)[N]) {
  for (const auto& r : table)
    if (matches(key, r.from)) return std::string(r.to) + std::string(key.substr(r.from.size()));
  return std::nullopt;
}

// Splits "blocks.<digits>.<rest>" into ("blocks.<digits>.", "<rest>").
bool split_block(std::string_view key, std::string_view* head, std::string_view* rest) {
  constexpr std::string_view kBlocks = "blocks.";
  if (key.substr(0, kBlocks.size()) != kBlocks) return false;
  size_t i = kBlocks.size();
  while (i < key.size() && std::isdigit(static_cast<unsigned char>(key[i]))) ++i;
  if (i == kBlocks.size() || i >= key.size() || key[i] != '.') return false;
  *head = key.substr(0, i + 1);
  *rest = key.substr(i + 1);
  return true;
}

std::optional<std::string> from_diffusers(std::string_view key) {
  std::string_view head, rest;
  if (split_block(key, &head, &rest)) {
    if (matches(rest, "attn2.norm_added_q")) return std::nullopt;  // unused by the model
    if (auto r = rename(rest, kBlock)) return std::string(head) + *r;
    return std::string(key);
  }
  if (auto r = rename(key, kTopLevel)) return *r;
  return std::string(key);
}

// official -> diffusers: the same tables read backwards.
template <size_t N>
std::optional<std::string> rename_back(std::string_view key, const Rename (&table)[N]) {
  for (const auto& r : table)
    if (matches(key, r.to)) return std::string(r.from) + std::string(key.substr(r.to.size()));
  return std::nullopt;
}

std::string to_diffusers(std::string_view key) {
  std::string_view head, rest;
  if (split_block(key, &head, &rest)) {
    if (auto r = rename_back(rest, kBlock)) return std::string(head) + *r;
    return std::string(key);
  }
  if (auto r = rename_back(key, kTopLevel)) return *r;
  return std::string(key);
}

}  // namespace

std::string from_official_key(const std::string& key, Dialect dialect) {
  return dialect == Dialect::Diffusers ? to_diffusers(key) : key;
}

std::optional<std::string> to_official_key(const std::string& key, Dialect dialect) {
  std::string_view k = key;
  if (k.substr(0, kSingleFilePrefix.size()) == kSingleFilePrefix) k.remove_prefix(kSingleFilePrefix.size());
  switch (dialect) {
    case Dialect::Official: return std::string(k);
    case Dialect::Diffusers: return from_diffusers(k);
  }
  return std::string(k);
}

}  // namespace gallop::models::dit

// DitConfig validation, presets and config.json parsers (both dialects).
#include "models/dit/config.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>

namespace gallop::models::dit {

namespace {

[[noreturn]] void bad(const std::string& field, const std::string& why) {
  throw std::invalid_argument("DiT config: " + field + " " + why);
}

void require_positive(const char* field, int64_t v) {
  if (v <= 0) bad(field, "must be positive, got " + std::to_string(v));
}

void require_object(const nlohmann::json& j) {
  if (!j.is_object()) throw std::invalid_argument("DiT config: expected a JSON object, got " + j.dump());
}

bool present(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && !it->is_null();
}

// The integer at `key`; `fallback` when absent (required keys pass std::nullopt).
int64_t get_int(const nlohmann::json& j, const char* key, std::optional<int64_t> fallback) {
  if (!present(j, key)) {
    if (!fallback) bad(key, "is missing");
    return *fallback;
  }
  const auto& v = j.at(key);
  if (!v.is_number_integer()) bad(key, "must be an integer, got " + v.dump());
  return v.get<int64_t>();
}

double get_double(const nlohmann::json& j, const char* key, double fallback) {
  if (!present(j, key)) return fallback;
  const auto& v = j.at(key);
  if (!v.is_number()) bad(key, "must be a number, got " + v.dump());
  return v.get<double>();
}

bool get_bool(const nlohmann::json& j, const char* key, bool fallback) {
  if (!present(j, key)) return fallback;
  const auto& v = j.at(key);
  if (!v.is_boolean()) bad(key, "must be true or false, got " + v.dump());
  return v.get<bool>();
}

std::string get_string(const nlohmann::json& j, const char* key, std::optional<std::string> fallback) {
  if (!present(j, key)) {
    if (!fallback) bad(key, "is missing");
    return *fallback;
  }
  const auto& v = j.at(key);
  if (!v.is_string()) bad(key, "must be a string, got " + v.dump());
  return v.get<std::string>();
}

// A JSON array of `N` integers (e.g. patch_size, window_size).
template <size_t N>
std::array<int64_t, N> get_int_array(const nlohmann::json& j, const char* key, std::array<int64_t, N> fallback) {
  if (!present(j, key)) return fallback;
  const auto& v = j.at(key);
  if (!v.is_array() || v.size() != N)
    bad(key, "must be an array of " + std::to_string(N) + " integers, got " + v.dump());
  std::array<int64_t, N> out{};
  for (size_t i = 0; i < N; ++i) {
    if (!v[i].is_number_integer()) bad(key, "must be an array of integers, got " + v.dump());
    out[i] = v[i].get<int64_t>();
  }
  return out;
}

// Options the reference hard-codes and gallop does not implement any other way.
void require_supported(const nlohmann::json& j) {
  if (!get_bool(j, "qk_norm", true)) bad("qk_norm", "must be true (every Wan2.1 DiT normalizes q and k)");
  if (!get_bool(j, "cross_attn_norm", true))
    bad("cross_attn_norm", "must be true (every Wan2.1 DiT normalizes the cross-attention input)");
  const auto window = get_int_array<2>(j, "window_size", {-1, -1});
  if (window != std::array<int64_t, 2>{-1, -1})
    bad("window_size", "must be [-1, -1]: only global attention is implemented");
}

DitConfig wan_14b(ModelType type, int64_t in_dim) {
  DitConfig c;
  c.model_type = type;
  c.in_dim = in_dim;
  c.dim = 5120;
  c.ffn_dim = 13824;
  c.num_heads = 40;
  c.num_layers = 40;
  return c;
}

}  // namespace

const char* model_type_name(ModelType t) {
  switch (t) {
    case ModelType::T2V: return "t2v";
    case ModelType::I2V: return "i2v";
    case ModelType::FLF2V: return "flf2v";
  }
  return "?";
}

ModelType parse_model_type(const std::string& name) {
  for (auto t : {ModelType::T2V, ModelType::I2V, ModelType::FLF2V})
    if (name == model_type_name(t)) return t;
  throw std::invalid_argument("DiT config: model_type must be \"t2v\", \"i2v\" or \"flf2v\", got \"" + name + "\"");
}

std::array<int64_t, 3> DitConfig::rope_split() const {
  const int64_t d = head_dim();
  const int64_t hw = 2 * (d / 6);
  return {d - 2 * hw, hw, hw};
}

void DitConfig::validate() const {
  for (int i = 0; i < 3; ++i)
    if (patch_size[i] <= 0) bad("patch_size", "entries must be positive");
  require_positive("text_len", text_len);
  require_positive("in_dim", in_dim);
  require_positive("dim", dim);
  require_positive("ffn_dim", ffn_dim);
  require_positive("text_dim", text_dim);
  require_positive("image_dim", image_dim);
  require_positive("out_dim", out_dim);
  require_positive("num_heads", num_heads);
  require_positive("num_layers", num_layers);
  require_positive("rope_max_len", rope_max_len);
  if (freq_dim <= 0 || freq_dim % 2 != 0) bad("freq_dim", "must be positive and even, got " + std::to_string(freq_dim));
  if (dim % num_heads != 0)
    bad("num_heads", "must divide dim (" + std::to_string(dim) + "), got " + std::to_string(num_heads));
  // RoPE rotates channel pairs and gives each of h and w 2*(hd/6) channels (>= 2 each).
  if (head_dim() % 2 != 0 || head_dim() < 6)
    bad("num_heads", "must leave an even head dim of at least 6, got head dim " + std::to_string(head_dim()));
  if (!(eps > 0.0) || !std::isfinite(eps)) bad("eps", "must be a positive finite number");
  if (has_image_branch()) {
    // The reference splits the cross-attention context at (tokens - 512): text is always 512.
    if (text_len != kTextTokens)
      bad("text_len", "must be " + std::to_string(kTextTokens) + " for " + model_type_name(model_type) +
                          " models, got " + std::to_string(text_len));
    if (in_dim <= out_dim)
      bad("in_dim", "must exceed out_dim (noise + conditioning channels) for " +
                        std::string(model_type_name(model_type)) + " models, got " + std::to_string(in_dim));
  }
}

DitConfig DitConfig::t2v_1_3b() { return DitConfig{}; }
DitConfig DitConfig::t2v_14b() { return wan_14b(ModelType::T2V, 16); }
DitConfig DitConfig::i2v_14b() { return wan_14b(ModelType::I2V, 36); }
DitConfig DitConfig::flf2v_14b() { return wan_14b(ModelType::FLF2V, 36); }

DitConfig DitConfig::from_official_json(const nlohmann::json& j) {
  require_object(j);
  require_supported(j);
  DitConfig c;
  c.model_type = parse_model_type(get_string(j, "model_type", std::nullopt));
  c.patch_size = get_int_array<3>(j, "patch_size", c.patch_size);
  c.text_len = get_int(j, "text_len", c.text_len);
  c.in_dim = get_int(j, "in_dim", std::nullopt);
  c.dim = get_int(j, "dim", std::nullopt);
  c.ffn_dim = get_int(j, "ffn_dim", std::nullopt);
  c.freq_dim = get_int(j, "freq_dim", c.freq_dim);
  c.text_dim = get_int(j, "text_dim", c.text_dim);
  c.image_dim = get_int(j, "image_dim", c.image_dim);
  c.out_dim = get_int(j, "out_dim", c.out_dim);
  c.num_heads = get_int(j, "num_heads", std::nullopt);
  c.num_layers = get_int(j, "num_layers", std::nullopt);
  c.eps = get_double(j, "eps", c.eps);
  c.validate();
  return c;
}

DitConfig DitConfig::from_diffusers_json(const nlohmann::json& j) {
  require_object(j);
  if (j.contains("qk_norm")) {  // absent = the diffusers default
    const auto& v = j.at("qk_norm");
    if (!v.is_string() || v.get<std::string>() != "rms_norm_across_heads")
      bad("qk_norm", "must be \"rms_norm_across_heads\" (RMSNorm over all heads), got " + v.dump());
  }
  if (!get_bool(j, "cross_attn_norm", true)) bad("cross_attn_norm", "must be true (every Wan2.1 DiT has norm3)");
  DitConfig c;
  c.patch_size = get_int_array<3>(j, "patch_size", c.patch_size);
  c.num_heads = get_int(j, "num_attention_heads", std::nullopt);
  const int64_t head_dim = get_int(j, "attention_head_dim", 128);
  require_positive("attention_head_dim", head_dim);
  c.dim = c.num_heads * head_dim;
  c.in_dim = get_int(j, "in_channels", std::nullopt);
  c.out_dim = get_int(j, "out_channels", c.in_dim);  // diffusers: out_channels or in_channels
  c.text_dim = get_int(j, "text_dim", c.text_dim);
  c.freq_dim = get_int(j, "freq_dim", c.freq_dim);
  c.ffn_dim = get_int(j, "ffn_dim", std::nullopt);
  c.num_layers = get_int(j, "num_layers", std::nullopt);
  c.eps = get_double(j, "eps", c.eps);
  c.rope_max_len = get_int(j, "rope_max_seq_len", c.rope_max_len);
  if (present(j, "image_dim")) {
    c.image_dim = get_int(j, "image_dim", std::nullopt);
    const int64_t kv = get_int(j, "added_kv_proj_dim", std::nullopt);
    if (kv != c.dim)
      bad("added_kv_proj_dim", "must equal the model width " + std::to_string(c.dim) +
                                   " (k_img/v_img are dim x dim), got " + std::to_string(kv));
    c.model_type = ModelType::I2V;
    if (present(j, "pos_embed_seq_len")) {
      const int64_t pos = get_int(j, "pos_embed_seq_len", std::nullopt);
      if (pos != kFlfImageTokens)
        bad("pos_embed_seq_len", "must be " + std::to_string(kFlfImageTokens) + " (two CLIP images), got " +
                                     std::to_string(pos));
      c.model_type = ModelType::FLF2V;
    }
  } else {
    if (present(j, "added_kv_proj_dim")) bad("added_kv_proj_dim", "is set but image_dim is not");
    if (present(j, "pos_embed_seq_len")) bad("pos_embed_seq_len", "is set but image_dim is not");
  }
  c.validate();
  return c;
}

DitConfig DitConfig::from_json(const nlohmann::json& j) {
  require_object(j);
  if (j.contains("num_attention_heads")) return from_diffusers_json(j);
  if (j.contains("num_heads")) return from_official_json(j);
  throw std::invalid_argument(
      "DiT config: neither an official (num_heads) nor a diffusers (num_attention_heads) config.json");
}

bool DitConfig::operator==(const DitConfig& o) const {
  auto tie = [](const DitConfig& c) {
    return std::tie(c.model_type, c.patch_size, c.text_len, c.in_dim, c.dim, c.ffn_dim, c.freq_dim, c.text_dim,
                    c.image_dim, c.out_dim, c.num_heads, c.num_layers, c.rope_max_len, c.eps);
  };
  return tie(*this) == tie(o);
}

}  // namespace gallop::models::dit

// UMT5Config validation, preset and JSON parsers.
#include "models/text_encoder/config.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>

namespace gallop::models::text_encoder {

namespace {

[[noreturn]] void bad(const std::string& field, const std::string& why) {
  throw std::invalid_argument("umT5 config: " + field + " " + why);
}

void require_positive(const char* field, int64_t v) {
  if (v <= 0) bad(field, "must be positive, got " + std::to_string(v));
}

// The integer at `key`, `fallback` when absent (required keys pass std::nullopt).
int64_t get_int(const nlohmann::json& j, const char* key, std::optional<int64_t> fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (!fallback) bad(key, "is missing");
    return *fallback;
  }
  if (!it->is_number_integer()) bad(key, "must be an integer, got " + it->dump());
  return it->get<int64_t>();
}

double get_double(const nlohmann::json& j, const char* key, double fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number()) bad(key, "must be a number, got " + it->dump());
  return it->get<double>();
}

std::string get_string(const nlohmann::json& j, const char* key, const std::string& fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_string()) bad(key, "must be a string, got " + it->dump());
  return it->get<std::string>();
}

void require_object(const nlohmann::json& j) {
  if (!j.is_object()) throw std::invalid_argument("umT5 config: expected a JSON object, got " + j.dump());
}

}  // namespace

void UMT5Config::validate() const {
  require_positive("vocab_size", vocab_size);
  require_positive("d_model", d_model);
  require_positive("d_kv", d_kv);
  require_positive("num_heads", num_heads);
  require_positive("d_ff", d_ff);
  require_positive("num_layers", num_layers);
  // Bidirectional bucketing: half the buckets per direction, half of those exact (>= 1).
  if (num_buckets < 4 || num_buckets % 2 != 0)
    bad("num_buckets", "must be even and >= 4, got " + std::to_string(num_buckets));
  const int64_t max_exact = num_buckets / 4;
  if (max_distance <= max_exact)
    bad("max_distance", "must exceed num_buckets / 4 = " + std::to_string(max_exact) + ", got " +
                            std::to_string(max_distance));
  if (!(eps > 0.0) || !std::isfinite(eps)) bad("eps", "must be a positive finite number");
}

UMT5Config UMT5Config::umt5_xxl() { return UMT5Config{}; }

UMT5Config UMT5Config::from_hf_json(const nlohmann::json& j) {
  require_object(j);
  const std::string model_type = get_string(j, "model_type", "umt5");
  if (model_type != "umt5")
    bad("model_type", "must be \"umt5\" (a bias table per layer), got \"" + model_type + "\"");
  // HF turns "gated-gelu" into gelu_new (the tanh approximation) whatever dense_act_fn says.
  const std::string ffp = get_string(j, "feed_forward_proj", "gated-gelu");
  if (ffp != "gated-gelu" && ffp != "gated-gelu_new")
    bad("feed_forward_proj", "must be \"gated-gelu\" (tanh GELU gate), got \"" + ffp + "\"");
  UMT5Config c;
  c.vocab_size = get_int(j, "vocab_size", std::nullopt);
  c.d_model = get_int(j, "d_model", std::nullopt);
  c.d_kv = get_int(j, "d_kv", std::nullopt);
  c.num_heads = get_int(j, "num_heads", std::nullopt);
  c.d_ff = get_int(j, "d_ff", std::nullopt);
  c.num_layers = get_int(j, "num_layers", std::nullopt);
  c.num_buckets = get_int(j, "relative_attention_num_buckets", 32);
  c.max_distance = get_int(j, "relative_attention_max_distance", 128);
  c.eps = get_double(j, "layer_norm_epsilon", 1e-6);
  c.validate();
  return c;
}

UMT5Config UMT5Config::from_official_json(const nlohmann::json& j) {
  require_object(j);
  if (j.contains("shared_pos") && !j.at("shared_pos").is_null()) {
    if (!j.at("shared_pos").is_boolean()) bad("shared_pos", "must be a boolean");
    if (j.at("shared_pos").get<bool>()) bad("shared_pos", "must be false for umT5 (one bias table per layer)");
  }
  UMT5Config c = umt5_xxl();
  c.vocab_size = get_int(j, j.contains("vocab") ? "vocab" : "vocab_size", c.vocab_size);
  c.d_model = get_int(j, "dim", c.d_model);
  c.num_heads = get_int(j, "num_heads", c.num_heads);
  const int64_t dim_attn = get_int(j, "dim_attn", c.inner_dim());
  require_positive("num_heads", c.num_heads);
  if (dim_attn % c.num_heads != 0)
    bad("dim_attn", "must be a multiple of num_heads (" + std::to_string(c.num_heads) + "), got " +
                        std::to_string(dim_attn));
  c.d_kv = dim_attn / c.num_heads;
  c.d_ff = get_int(j, "dim_ffn", c.d_ff);
  c.num_layers = get_int(j, j.contains("num_layers") ? "num_layers" : "encoder_layers", c.num_layers);
  c.num_buckets = get_int(j, "num_buckets", c.num_buckets);
  c.validate();
  return c;
}

bool UMT5Config::operator==(const UMT5Config& o) const {
  return vocab_size == o.vocab_size && d_model == o.d_model && d_kv == o.d_kv && num_heads == o.num_heads &&
         d_ff == o.d_ff && num_layers == o.num_layers && num_buckets == o.num_buckets &&
         max_distance == o.max_distance && eps == o.eps;
}

}  // namespace gallop::models::text_encoder

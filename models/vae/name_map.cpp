// Diffusers -> official VAE key rules (see name_map.h and spec §7.5).
#include "models/vae/name_map.h"

#include <cctype>
#include <string_view>

namespace gallop::models::vae {

namespace {

bool eat(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

// Reads a decimal index followed by '.', e.g. "12." -> 12.
std::optional<int64_t> eat_index(std::string_view& s) {
  size_t n = 0;
  while (n < s.size() && std::isdigit(static_cast<unsigned char>(s[n]))) ++n;
  if (n == 0 || n > 9 || n >= s.size() || s[n] != '.') return std::nullopt;
  const int64_t v = std::stoll(std::string(s.substr(0, n)));
  s.remove_prefix(n + 1);
  return v;
}

// Residual block internals: norm1/conv1/norm2/conv2/conv_shortcut -> residual.0/2/3/6, shortcut.
std::optional<std::string> residual_part(std::string_view s) {
  if (eat(s, "norm1.")) return "residual.0." + std::string(s);
  if (eat(s, "conv1.")) return "residual.2." + std::string(s);
  if (eat(s, "norm2.")) return "residual.3." + std::string(s);
  if (eat(s, "conv2.")) return "residual.6." + std::string(s);
  if (eat(s, "conv_shortcut.")) return "shortcut." + std::string(s);
  return std::nullopt;
}

std::optional<std::string> coder_part(std::string_view s, bool encoder, int64_t num_res_blocks) {
  if (eat(s, "conv_in.")) return "conv1." + std::string(s);
  if (eat(s, "norm_out.")) return "head.0." + std::string(s);
  if (eat(s, "conv_out.")) return "head.2." + std::string(s);
  if (eat(s, "mid_block.resnets.")) {
    auto i = eat_index(s);
    if (!i || *i > 1) return std::nullopt;
    auto r = residual_part(s);
    if (!r) return std::nullopt;
    return "middle." + std::to_string(*i == 0 ? 0 : 2) + "." + *r;
  }
  if (eat(s, "mid_block.attentions.0.")) return "middle.1." + std::string(s);
  if (encoder && eat(s, "down_blocks.")) {
    auto i = eat_index(s);
    if (!i) return std::nullopt;
    const std::string head = "downsamples." + std::to_string(*i) + ".";
    if (s.substr(0, 9) == "resample." || s.substr(0, 10) == "time_conv.") return head + std::string(s);
    auto r = residual_part(s);
    if (!r) return std::nullopt;
    return head + *r;
  }
  if (!encoder && eat(s, "up_blocks.")) {
    auto b = eat_index(s);
    if (!b) return std::nullopt;
    // Each up stage holds num_res_blocks + 1 residual blocks, then (except the last) a Resample.
    const int64_t base = *b * (num_res_blocks + 2);
    if (eat(s, "resnets.")) {
      auto r = eat_index(s);
      if (!r || *r > num_res_blocks) return std::nullopt;
      auto part = residual_part(s);
      if (!part) return std::nullopt;
      return "upsamples." + std::to_string(base + *r) + "." + *part;
    }
    if (eat(s, "upsamplers.0."))
      return "upsamples." + std::to_string(base + num_res_blocks + 1) + "." + std::string(s);
  }
  return std::nullopt;
}

std::optional<std::string> residual_part_back(std::string_view s) {
  if (eat(s, "residual.0.")) return "norm1." + std::string(s);
  if (eat(s, "residual.2.")) return "conv1." + std::string(s);
  if (eat(s, "residual.3.")) return "norm2." + std::string(s);
  if (eat(s, "residual.6.")) return "conv2." + std::string(s);
  if (eat(s, "shortcut.")) return "conv_shortcut." + std::string(s);
  return std::nullopt;
}

std::optional<std::string> coder_part_back(std::string_view s, bool encoder, int64_t num_res_blocks) {
  if (eat(s, "conv1.")) return "conv_in." + std::string(s);
  if (eat(s, "head.0.")) return "norm_out." + std::string(s);
  if (eat(s, "head.2.")) return "conv_out." + std::string(s);
  if (eat(s, "middle.1.")) return "mid_block.attentions.0." + std::string(s);
  if (eat(s, "middle.")) {
    auto i = eat_index(s);
    if (!i || (*i != 0 && *i != 2)) return std::nullopt;
    auto r = residual_part_back(s);
    if (!r) return std::nullopt;
    return "mid_block.resnets." + std::to_string(*i == 0 ? 0 : 1) + "." + *r;
  }
  if (encoder && eat(s, "downsamples.")) {
    auto i = eat_index(s);
    if (!i) return std::nullopt;
    const std::string head = "down_blocks." + std::to_string(*i) + ".";
    if (s.substr(0, 9) == "resample." || s.substr(0, 10) == "time_conv.") return head + std::string(s);
    auto r = residual_part_back(s);
    if (!r) return std::nullopt;
    return head + *r;
  }
  if (!encoder && eat(s, "upsamples.")) {
    auto i = eat_index(s);
    if (!i) return std::nullopt;
    const int64_t stage = *i / (num_res_blocks + 2), slot = *i % (num_res_blocks + 2);
    const std::string head = "up_blocks." + std::to_string(stage) + ".";
    if (slot == num_res_blocks + 1) return head + "upsamplers.0." + std::string(s);
    auto r = residual_part_back(s);
    if (!r) return std::nullopt;
    return head + "resnets." + std::to_string(slot) + "." + *r;
  }
  return std::nullopt;
}

}  // namespace

std::string from_official_key(const std::string& key, Dialect d, int64_t num_res_blocks) {
  if (d == Dialect::Official) return key;
  std::string_view s = key;
  std::optional<std::string> mapped;
  if (eat(s, "conv1.")) {
    mapped = "quant_conv." + std::string(s);
  } else if (eat(s, "conv2.")) {
    mapped = "post_quant_conv." + std::string(s);
  } else if (eat(s, "encoder.")) {
    if (auto r = coder_part_back(s, true, num_res_blocks)) mapped = "encoder." + *r;
  } else if (eat(s, "decoder.")) {
    if (auto r = coder_part_back(s, false, num_res_blocks)) mapped = "decoder." + *r;
  }
  return mapped.value_or(key);
}

std::optional<std::string> to_official_key(const std::string& key, Dialect d, int64_t num_res_blocks) {
  if (d == Dialect::Official) return key;
  std::string_view s = key;
  std::optional<std::string> mapped;
  if (eat(s, "quant_conv.")) {
    mapped = "conv1." + std::string(s);
  } else if (eat(s, "post_quant_conv.")) {
    mapped = "conv2." + std::string(s);
  } else if (eat(s, "encoder.")) {
    if (auto r = coder_part(s, true, num_res_blocks)) mapped = "encoder." + *r;
  } else if (eat(s, "decoder.")) {
    if (auto r = coder_part(s, false, num_res_blocks)) mapped = "decoder." + *r;
  }
  return mapped ? mapped : std::optional<std::string>(key);
}

std::optional<std::string> to_official_key(const std::string& key, Dialect d) {
  return to_official_key(key, d, /*num_res_blocks=*/2);
}

}  // namespace gallop::models::vae

// VaeConfig: preset, derived sizes, validation and the two JSON parsers (see config.h).
#include "models/vae/config.h"

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

namespace gallop::models::vae {

const std::vector<float>& wan21_latents_mean() {
  static const std::vector<float> kMean = {-0.7571f, -0.7089f, -0.9113f, 0.1075f,  -0.1745f, 0.9653f,
                                           -0.1517f, 1.5508f,  0.4134f,  -0.0715f, 0.5517f,  -0.3632f,
                                           -0.1922f, -0.9497f, 0.2503f,  -0.2921f};
  return kMean;
}

const std::vector<float>& wan21_latents_std() {
  static const std::vector<float> kStd = {2.8184f, 1.4541f, 2.3275f, 2.6558f, 1.2196f, 1.7708f, 2.6052f, 2.0743f,
                                          3.2687f, 2.1526f, 2.8652f, 1.5579f, 1.6382f, 1.1253f, 2.8251f, 1.9160f};
  return kStd;
}

std::vector<int64_t> VaeConfig::encoder_dims() const {
  std::vector<int64_t> dims{base_dim};
  for (int64_t m : dim_mult) dims.push_back(base_dim * m);
  return dims;
}

std::vector<int64_t> VaeConfig::decoder_dims() const {
  std::vector<int64_t> dims{base_dim * dim_mult.back()};
  for (auto it = dim_mult.rbegin(); it != dim_mult.rend(); ++it) dims.push_back(base_dim * *it);
  return dims;
}

std::vector<bool> VaeConfig::temporal_upsample() const {
  return std::vector<bool>(temporal_downsample.rbegin(), temporal_downsample.rend());
}

int64_t VaeConfig::temporal_factor() const {
  int64_t f = 1;
  for (bool t : temporal_downsample) f *= t ? 2 : 1;
  return f;
}

int64_t VaeConfig::spatial_factor() const { return int64_t{1} << temporal_downsample.size(); }

int64_t VaeConfig::decoded_frames(int64_t latent_frames) const {
  if (latent_frames < 1) throw std::invalid_argument("VaeConfig: latent frame count must be >= 1");
  return 1 + temporal_factor() * (latent_frames - 1);
}

int64_t VaeConfig::latent_frames(int64_t pixel_frames) const {
  const int64_t f = temporal_factor();
  if (pixel_frames < 1 || (pixel_frames - 1) % f != 0)
    throw std::invalid_argument("VaeConfig: a video of " + std::to_string(pixel_frames) +
                                " frames cannot be encoded (frame count must be 1 + " + std::to_string(f) + "k)");
  return 1 + (pixel_frames - 1) / f;
}

namespace {

[[noreturn]] void bad(const std::string& field, const std::string& why) {
  throw std::invalid_argument("VaeConfig." + field + ": " + why);
}

}  // namespace

void VaeConfig::validate() const {
  if (z_dim <= 0) bad("z_dim", "must be positive, got " + std::to_string(z_dim));
  if (dim_mult.size() < 2) bad("dim_mult", "needs at least 2 entries");
  for (int64_t m : dim_mult)
    if (m <= 0) bad("dim_mult", "entries must be positive, got " + std::to_string(m));
  if (num_res_blocks <= 0) bad("num_res_blocks", "must be positive, got " + std::to_string(num_res_blocks));
  if (temporal_downsample.size() != dim_mult.size() - 1)
    bad("temporal_downsample", "needs len(dim_mult) - 1 = " + std::to_string(dim_mult.size() - 1) +
                                   " entries, got " + std::to_string(temporal_downsample.size()));
  if (in_channels <= 0) bad("in_channels", "must be positive");
  if (out_channels <= 0) bad("out_channels", "must be positive");
  // The decoder's up steps halve the width of their input (integer division, as the reference):
  // with base_dim >= 2 every halved width stays positive.
  if (base_dim < 2) bad("base_dim", "must be at least 2, got " + std::to_string(base_dim));
  if (static_cast<int64_t>(latents_mean.size()) != z_dim)
    bad("latents_mean", "needs z_dim = " + std::to_string(z_dim) + " entries, got " +
                            std::to_string(latents_mean.size()));
  if (static_cast<int64_t>(latents_std.size()) != z_dim)
    bad("latents_std", "needs z_dim = " + std::to_string(z_dim) + " entries, got " +
                           std::to_string(latents_std.size()));
  for (float s : latents_std)
    if (!(s > 0.0f)) bad("latents_std", "entries must be positive");
}

VaeConfig VaeConfig::wan21() {
  VaeConfig c;
  c.latents_mean = wan21_latents_mean();
  c.latents_std = wan21_latents_std();
  return c;
}

namespace {

template <typename T>
void read(const nlohmann::json& j, const char* key, T* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  try {
    *out = it->get<T>();
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("VaeConfig: config key '") + key + "' has the wrong type: " + e.what());
  }
}

void require_no_attention(const nlohmann::json& j) {
  std::vector<double> attn_scales;
  read(j, "attn_scales", &attn_scales);
  if (!attn_scales.empty())
    bad("attn_scales", "attention outside the middle blocks is not supported (Wan2.1 uses [])");
}

void check_dropout(const nlohmann::json& j) {
  double dropout = 0.0;
  read(j, "dropout", &dropout);
  if (dropout < 0.0 || dropout >= 1.0) bad("dropout", "must be in [0, 1)");
}

}  // namespace

VaeConfig VaeConfig::from_diffusers_json(const nlohmann::json& j) {
  if (!j.is_object()) throw std::invalid_argument("VaeConfig: diffusers config must be a JSON object");
  VaeConfig c = wan21();
  read(j, "base_dim", &c.base_dim);
  int64_t decoder_base_dim = c.base_dim;
  read(j, "decoder_base_dim", &decoder_base_dim);
  if (decoder_base_dim != c.base_dim) bad("decoder_base_dim", "must equal base_dim (or be null)");
  read(j, "z_dim", &c.z_dim);
  read(j, "dim_mult", &c.dim_mult);
  read(j, "num_res_blocks", &c.num_res_blocks);
  read(j, "temperal_downsample", &c.temporal_downsample);
  read(j, "in_channels", &c.in_channels);
  read(j, "out_channels", &c.out_channels);
  read(j, "latents_mean", &c.latents_mean);
  read(j, "latents_std", &c.latents_std);
  require_no_attention(j);
  check_dropout(j);
  bool is_residual = false;
  read(j, "is_residual", &is_residual);
  if (is_residual) bad("is_residual", "the residual (Wan2.2) VAE is not supported");
  int64_t patch_size = 1;
  read(j, "patch_size", &patch_size);
  if (patch_size != 1) bad("patch_size", "patchified (Wan2.2) VAEs are not supported");
  c.validate();
  int64_t scale_t = c.temporal_factor(), scale_s = c.spatial_factor();
  read(j, "scale_factor_temporal", &scale_t);
  read(j, "scale_factor_spatial", &scale_s);
  if (scale_t != c.temporal_factor())
    bad("scale_factor_temporal", "is " + std::to_string(scale_t) + " but the structure gives " +
                                     std::to_string(c.temporal_factor()));
  if (scale_s != c.spatial_factor())
    bad("scale_factor_spatial", "is " + std::to_string(scale_s) + " but the structure gives " +
                                    std::to_string(c.spatial_factor()));
  return c;
}

VaeConfig VaeConfig::from_official_json(const nlohmann::json& j) {
  if (!j.is_object()) throw std::invalid_argument("VaeConfig: official config must be a JSON object");
  VaeConfig c = wan21();
  read(j, "dim", &c.base_dim);
  read(j, "z_dim", &c.z_dim);
  read(j, "dim_mult", &c.dim_mult);
  read(j, "num_res_blocks", &c.num_res_blocks);
  read(j, "temperal_downsample", &c.temporal_downsample);
  require_no_attention(j);
  check_dropout(j);
  c.validate();
  return c;
}

bool VaeConfig::operator==(const VaeConfig& o) const {
  return base_dim == o.base_dim && z_dim == o.z_dim && dim_mult == o.dim_mult && num_res_blocks == o.num_res_blocks &&
         temporal_downsample == o.temporal_downsample && in_channels == o.in_channels &&
         out_channels == o.out_channels && latents_mean == o.latents_mean && latents_std == o.latents_std;
}

}  // namespace gallop::models::vae

#include "engine/pipeline/tiny_model.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/serialize.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/core/atomic_file.h"
#include "engine/core/error.h"
#include "engine/weights/safetensors.h"
#include "models/dit/name_map.h"
#include "models/dit/wan_model.h"
#include "models/text_encoder/name_map.h"
#include "models/text_encoder/umt5.h"
#include "models/vae/name_map.h"
#include "models/vae/wan_vae.h"

namespace gallop::embedded {
extern const unsigned char tiny_spiece_model[];
extern const size_t tiny_spiece_model_size;
}  // namespace gallop::embedded

namespace gallop::engine {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Seeds of the three components (any fixed values; changing them changes the tiny model).
constexpr uint64_t kSeedBase = 20261126;

TinyModelConfig make_config() {
  TinyModelConfig c;
  // Text encoder: the umT5 architecture at width 32 over the tiny SentencePiece vocabulary.
  c.text_encoder.vocab_size = 3000;
  c.text_encoder.d_model = 32;
  c.text_encoder.d_kv = 8;
  c.text_encoder.num_heads = 4;
  c.text_encoder.d_ff = 64;
  c.text_encoder.num_layers = 2;
  // DiT: 2 heads of 32 channels (RoPE split 12/10/10), 2 blocks, reading the encoder's 32 channels.
  c.dit.dim = 64;
  c.dit.ffn_dim = 128;
  c.dit.num_heads = 2;
  c.dit.num_layers = 2;
  c.dit.text_dim = 32;
  // VAE: the real structure (4 stages, causal 3D convs, middle attention) at base width 8.
  c.vae = models::vae::VaeConfig::wan21();
  c.vae.base_dim = 8;
  c.text_encoder.validate();
  c.dit.validate();
  c.vae.validate();
  return c;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_norm_scale(const std::string& name) {
  if (ends_with(name, ".gamma")) return true;  // VAE RMS norms
  if (!ends_with(name, ".weight")) return false;
  return name.find("norm") != std::string::npos;  // T5 / DiT RMSNorm and LayerNorm scales
}

// Rounds to the nearest bf16 value (kept in fp32), so that the weights are stored losslessly in
// every dtype a layout uses (the official umT5 file is bf16).
at::Tensor bf16_exact(const at::Tensor& t) { return t.to(at::kBFloat16).to(at::kFloat); }

void write_json(const fs::path& path, const json& j) {
  const std::string text = j.dump(2) + "\n";
  AtomicFileWriter out(path);
  out.write(text.data(), text.size());
  out.commit();
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  AtomicFileWriter out(path);
  out.write(bytes.data(), bytes.size());
  out.commit();
}

// A zip-format .pth holding a {name: tensor} dict, as torch.save(state_dict) writes it.
void write_pth(const fs::path& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, t] : tensors) dict.insert(name, t.contiguous());
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  write_bytes(path, std::string(bytes.begin(), bytes.end()));
}

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

NamedTensors named(torch::nn::Module& m, const std::function<std::string(const std::string&)>& rename,
                   at::ScalarType dtype = at::kFloat) {
  NamedTensors out;
  for (const auto& p : m.named_parameters()) out.emplace_back(rename(p.key()), p.value().detach().to(dtype));
  return out;
}

json dit_official_config(const models::dit::DitConfig& c) {
  return {{"_class_name", "WanModel"}, {"_diffusers_version", "0.30.0"}, {"model_type", "t2v"},
          {"dim", c.dim},             {"ffn_dim", c.ffn_dim},            {"freq_dim", c.freq_dim},
          {"in_dim", c.in_dim},       {"out_dim", c.out_dim},            {"num_heads", c.num_heads},
          {"num_layers", c.num_layers}, {"text_len", c.text_len},        {"text_dim", c.text_dim},
          {"eps", c.eps}};
}

json dit_diffusers_config(const models::dit::DitConfig& c) {
  return {{"_class_name", "WanTransformer3DModel"},
          {"_diffusers_version", "0.42.1"},
          {"patch_size", {c.patch_size[0], c.patch_size[1], c.patch_size[2]}},
          {"num_attention_heads", c.num_heads},
          {"attention_head_dim", c.head_dim()},
          {"in_channels", c.in_dim},
          {"out_channels", c.out_dim},
          {"text_dim", c.text_dim},
          {"freq_dim", c.freq_dim},
          {"ffn_dim", c.ffn_dim},
          {"num_layers", c.num_layers},
          {"cross_attn_norm", true},
          {"qk_norm", "rms_norm_across_heads"},
          {"eps", c.eps},
          {"image_dim", nullptr},
          {"added_kv_proj_dim", nullptr},
          {"rope_max_seq_len", c.rope_max_len}};
}

json umt5_hf_config(const models::text_encoder::UMT5Config& c) {
  return {{"architectures", {"UMT5EncoderModel"}},
          {"model_type", "umt5"},
          {"vocab_size", c.vocab_size},
          {"d_model", c.d_model},
          {"d_kv", c.d_kv},
          {"d_ff", c.d_ff},
          {"num_layers", c.num_layers},
          {"num_heads", c.num_heads},
          {"relative_attention_num_buckets", c.num_buckets},
          {"relative_attention_max_distance", c.max_distance},
          {"layer_norm_epsilon", c.eps},
          {"feed_forward_proj", "gated-gelu"},
          {"dense_act_fn", "gelu_new"},
          {"is_gated_act", true},
          {"scalable_attention", true},
          {"tie_word_embeddings", false},
          {"pad_token_id", 0},
          {"eos_token_id", 1},
          {"decoder_start_token_id", 0},
          {"torch_dtype", "float32"}};
}

json vae_diffusers_config(const models::vae::VaeConfig& c) {
  return {{"_class_name", "AutoencoderKLWan"}, {"_diffusers_version", "0.42.1"},
          {"base_dim", c.base_dim},           {"z_dim", c.z_dim},
          {"dim_mult", c.dim_mult},           {"num_res_blocks", c.num_res_blocks},
          {"attn_scales", json::array()},     {"temperal_downsample", c.temporal_downsample},
          {"dropout", 0.0},                   {"latents_mean", c.latents_mean},
          {"latents_std", c.latents_std}};
}

}  // namespace

const TinyModelConfig& tiny_model_config() {
  static const TinyModelConfig config = make_config();
  return config;
}

std::string tiny_tokenizer_model() {
  return std::string(reinterpret_cast<const char*>(embedded::tiny_spiece_model), embedded::tiny_spiece_model_size);
}

void init_tiny_weights(torch::nn::Module& module, TinyComponent component) {
  torch::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(kSeedBase + static_cast<uint64_t>(component));
  const auto options = at::TensorOptions().dtype(at::kFloat);
  for (auto& p : module.named_parameters()) {
    const std::string& name = p.key();
    at::Tensor t = p.value();
    at::Tensor r = at::randn(t.sizes(), gen, options);
    at::Tensor v;
    if (is_norm_scale(name)) {
      v = 1.0 + 0.05 * r;
    } else if (ends_with(name, ".bias")) {
      v = 0.02 * r;
    } else if (name.find("modulation") != std::string::npos) {
      v = 0.1 * r;
    } else if (t.dim() >= 2) {
      const double fan_in = static_cast<double>(t.numel() / t.size(0));
      v = r / std::sqrt(fan_in);
    } else {
      v = 0.02 * r;
    }
    t.set_data(bf16_exact(v).to(t.options()));
  }
}

TinyLayout parse_tiny_layout(const std::string& name) {
  if (name == "official") return TinyLayout::OfficialFolder;
  if (name == "diffusers") return TinyLayout::DiffusersFolder;
  if (name == "single") return TinyLayout::SingleFile;
  fail(ErrorKind::InvalidArgument, "unknown layout '", name, "' (expected official, diffusers or single)");
}

void write_tiny_checkpoint(const fs::path& path, TinyLayout layout) {
  const TinyModelConfig& cfg = tiny_model_config();
  models::text_encoder::UMT5Encoder t5(cfg.text_encoder);
  init_tiny_weights(*t5, TinyComponent::TextEncoder);
  models::dit::WanModel dit(cfg.dit, at::TensorOptions());
  init_tiny_weights(*dit, TinyComponent::Dit);
  models::vae::WanVAE vae(cfg.vae);
  init_tiny_weights(vae, TinyComponent::Vae);
  auto same = [](const std::string& k) { return k; };

  if (layout == TinyLayout::SingleFile) {
    GALLOP_CHECK(path.extension() == ".safetensors", InvalidArgument, path.string(),
                 ": a single-file checkpoint must end in .safetensors");
    check_output_writable(path);
    write_safetensors(path, named(*dit, [](const std::string& k) { return "model.diffusion_model." + k; }),
                      {{"format", "pt"}, {"gallop", "tiny model"}});
    return;
  }

  std::error_code ec;
  GALLOP_CHECK(!fs::exists(path, ec), InvalidArgument, path.string(), ": already exists (give a new folder)");
  check_output_writable(path);
  fs::create_directories(path);
  const std::string spiece = tiny_tokenizer_model();

  if (layout == TinyLayout::OfficialFolder) {
    write_json(path / "config.json", dit_official_config(cfg.dit));
    write_safetensors(path / "diffusion_pytorch_model.safetensors", named(*dit, same), {{"format", "pt"}});
    // The official umT5 file is bf16; the tiny weights are bf16-exact, so nothing is lost.
    write_pth(path / "models_t5_umt5-xxl-enc-bf16.pth", named(*t5, same, at::kBFloat16));
    write_pth(path / "Wan2.1_VAE.pth", named(vae, same));
    fs::create_directories(path / "google" / "umt5-xxl");
    write_bytes(path / "google" / "umt5-xxl" / "spiece.model", spiece);
    return;
  }

  // Diffusers folder.
  using models::dit::from_official_key;
  write_json(path / "model_index.json",
             {{"_class_name", "WanPipeline"},
              {"_diffusers_version", "0.42.1"},
              {"scheduler", {"diffusers", "UniPCMultistepScheduler"}},
              {"text_encoder", {"transformers", "UMT5EncoderModel"}},
              {"tokenizer", {"transformers", "T5TokenizerFast"}},
              {"transformer", {"diffusers", "WanTransformer3DModel"}},
              {"vae", {"diffusers", "AutoencoderKLWan"}}});
  for (const char* sub : {"transformer", "text_encoder", "tokenizer", "vae", "scheduler"}) fs::create_directories(path / sub);
  write_json(path / "transformer" / "config.json", dit_diffusers_config(cfg.dit));
  write_safetensors(path / "transformer" / "diffusion_pytorch_model.safetensors",
                    named(*dit, [](const std::string& k) { return from_official_key(k, models::dit::Dialect::Diffusers); }),
                    {{"format", "pt"}});
  write_json(path / "text_encoder" / "config.json", umt5_hf_config(cfg.text_encoder));
  write_safetensors(path / "text_encoder" / "model.safetensors", named(*t5, [](const std::string& k) {
                      return models::text_encoder::from_official_key(k, models::text_encoder::Dialect::Diffusers);
                    }),
                    {{"format", "pt"}});
  write_bytes(path / "tokenizer" / "spiece.model", spiece);
  write_json(path / "tokenizer" / "tokenizer_config.json",
             {{"tokenizer_class", "T5Tokenizer"}, {"extra_ids", 0}, {"model_max_length", 512},
              {"pad_token", "<pad>"}, {"eos_token", "</s>"}, {"unk_token", "<unk>"}});
  write_json(path / "vae" / "config.json", vae_diffusers_config(cfg.vae));
  write_safetensors(path / "vae" / "diffusion_pytorch_model.safetensors", named(vae, [](const std::string& k) {
                      return models::vae::from_official_key(k, models::vae::Dialect::Diffusers);
                    }),
                    {{"format", "pt"}});
  write_json(path / "scheduler" / "scheduler_config.json",
             {{"_class_name", "UniPCMultistepScheduler"}, {"prediction_type", "flow_prediction"},
              {"use_flow_sigmas", true}, {"flow_shift", 5.0}, {"num_train_timesteps", 1000},
              {"solver_order", 2}, {"solver_type", "bh2"}, {"predict_x0", true},
              {"lower_order_final", true}, {"final_sigmas_type", "zero"}, {"timestep_spacing", "linspace"}});
}

}  // namespace gallop::engine

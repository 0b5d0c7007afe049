#include "engine/pipeline/model_source.h"

#include "engine/core/error.h"
#include "engine/core/log.h"
#include "engine/pipeline/tiny_model.h"
#include "engine/weights/checkpoint.h"
#include "engine/weights/loader.h"
#include "models/dit/name_map.h"
#include "models/text_encoder/name_map.h"
#include "models/vae/name_map.h"

namespace gallop::engine {

namespace {

using models::dit::DitConfig;
using models::dit::WanModel;
using models::text_encoder::UMT5Config;
using models::text_encoder::UMT5Encoder;
using models::vae::VaeConfig;
using models::vae::WanVAE;

// Runs a model-config parser, turning its std::invalid_argument into a Format error naming the
// file it came from.
template <typename F>
auto parse_config(const ComponentInfo& c, const char* what, F&& parse) {
  try {
    return parse();
  } catch (const std::invalid_argument& e) {
    const std::string where = !c.config_path.empty() ? c.config_path.string()
                              : !c.files.empty()     ? c.files.front().string()
                                                     : std::string(what);
    fail(ErrorKind::Format, where, ": unusable ", what, " config: ", e.what());
  }
}

// A fresh generator-free module is moved to `device` parameter by parameter as it loads.
LoadOptions load_options(const at::Device& device) {
  LoadOptions o;
  o.device = device;
  return o;
}

// ---- checkpoint on disk --------------------------------------------------------------------------

class CheckpointSource : public ModelSource {
 public:
  explicit CheckpointSource(const std::string& path) : info_(detect_checkpoint(path)) {
    const ComponentInfo& dit = info_.require(ComponentKind::Dit);
    if (dit.config.is_null())
      fail(ErrorKind::Format, path, ": the DiT has no config.json and none could be inferred from its tensors");
    dit_config_ = parse_config(dit, "DiT", [&] { return DitConfig::from_json(dit.config); });
    // Everything a text-to-video run needs must be there before any weights are read.
    info_.require(ComponentKind::TextEncoder);
    info_.require(ComponentKind::Tokenizer);
    info_.require(ComponentKind::Vae);
    description_ = path + " (" + checkpoint_layout_name(info_.layout) + ")";
  }

  std::string description() const override { return description_; }
  const DitConfig& dit_config() const override { return dit_config_; }
  ModelDefaults defaults() const override { return official_t2v_defaults(dit_config_); }

  tokenizer::Tokenizer load_tokenizer() const override {
    const ComponentInfo& c = info_.require(ComponentKind::Tokenizer);
    try {
      return tokenizer::Tokenizer::from_file(c.files.front().string());
    } catch (const std::exception& e) {
      fail(ErrorKind::Format, e.what());
    }
  }

  UMT5Encoder load_text_encoder(const at::Device& device, at::ScalarType compute_dtype) const override {
    const ComponentInfo& c = info_.require(ComponentKind::TextEncoder);
    UMT5Config config = parse_config(c, "text encoder", [&] {
      // The official .pth carries no config: the umT5-XXL preset, or what the shapes say.
      if (c.config.is_null()) return UMT5Config::umt5_xxl();
      return UMT5Config::from_hf_json(c.config);
    });
    // Built on the CPU, uninitialized (untouched pages cost no memory); each tensor moves to
    // `device` as it loads.
    UMT5Encoder model(config, at::TensorOptions());
    const auto dialect = c.dialect == KeyDialect::Diffusers ? models::text_encoder::Dialect::Diffusers
                                                            : models::text_encoder::Dialect::Official;
    LoadOptions o = load_options(device);
    o.dtype = compute_dtype;  // the official encoder runs entirely in its compute dtype
    load_module(*model, *c.source,
                compose_mappers(strip_prefix_mapper(c.key_prefix),
                                [dialect](const std::string& k) { return models::text_encoder::to_official_key(k, dialect); }),
                o);
    return model;
  }

  WanModel load_dit(const at::Device& device, at::ScalarType compute_dtype) const override {
    const ComponentInfo& c = info_.require(ComponentKind::Dit);
    WanModel model(dit_config_, at::TensorOptions());
    const auto dialect =
        c.dialect == KeyDialect::Diffusers ? models::dit::Dialect::Diffusers : models::dit::Dialect::Official;
    LoadOptions o = load_options(device);
    o.dtype_override = [compute_dtype](const std::string& name) -> std::optional<at::ScalarType> {
      return models::dit::weight_dtype(name, compute_dtype);
    };
    load_module(*model, *c.source,
                compose_mappers(strip_prefix_mapper(c.key_prefix),
                                [dialect](const std::string& k) { return models::dit::to_official_key(k, dialect); }),
                o);
    return model;
  }

  std::unique_ptr<WanVAE> load_vae(const at::Device& device) const override {
    const ComponentInfo& c = info_.require(ComponentKind::Vae);
    VaeConfig config = parse_config(c, "VAE", [&] {
      if (c.dialect == KeyDialect::Diffusers && !c.config_inferred && !c.config.is_null())
        return VaeConfig::from_diffusers_json(c.config);
      VaeConfig v = VaeConfig::wan21();  // the official .pth has no config: the Wan2.1 VAE
      if (c.config.is_object() && c.config.value("base_dim", int64_t{-1}) > 0) v.base_dim = c.config["base_dim"];
      v.validate();
      return v;
    });
    auto model = std::make_unique<WanVAE>(config, at::TensorOptions());
    const auto dialect =
        c.dialect == KeyDialect::Diffusers ? models::vae::Dialect::Diffusers : models::vae::Dialect::Official;
    const int64_t blocks = config.num_res_blocks;
    LoadOptions o = load_options(device);
    o.dtype = at::kFloat;  // the official VAE runs in fp32
    load_module(*model, *c.source,
                compose_mappers(strip_prefix_mapper(c.key_prefix),
                                [dialect, blocks](const std::string& k) {
                                  return models::vae::to_official_key(k, dialect, blocks);
                                }),
                o);
    return model;
  }

 private:
  CheckpointInfo info_;
  DitConfig dit_config_;
  std::string description_;
};

// ---- the built-in tiny model -----------------------------------------------------------------------

class TinySource : public ModelSource {
 public:
  std::string description() const override { return "built-in tiny model (random weights)"; }
  const DitConfig& dit_config() const override { return tiny_model_config().dit; }

  ModelDefaults defaults() const override {
    ModelDefaults d;
    d.width = 128;
    d.height = 96;
    d.frames = 17;
    d.steps = 4;
    d.negative_prompt = official_negative_prompt_t2v();
    return d;
  }

  tokenizer::Tokenizer load_tokenizer() const override {
    return tokenizer::Tokenizer::from_serialized(tiny_tokenizer_model());
  }

  UMT5Encoder load_text_encoder(const at::Device& device, at::ScalarType compute_dtype) const override {
    UMT5Encoder model(tiny_model_config().text_encoder);
    init_tiny_weights(*model, TinyComponent::TextEncoder);
    model->to(device, compute_dtype);
    return model;
  }

  WanModel load_dit(const at::Device& device, at::ScalarType compute_dtype) const override {
    WanModel model(tiny_model_config().dit, at::TensorOptions());
    init_tiny_weights(*model, TinyComponent::Dit);
    model->to(device);
    model->cast_weights(compute_dtype);
    return model;
  }

  std::unique_ptr<WanVAE> load_vae(const at::Device& device) const override {
    auto model = std::make_unique<WanVAE>(tiny_model_config().vae);
    init_tiny_weights(*model, TinyComponent::Vae);
    model->to(device);
    return model;
  }
};

}  // namespace

ModelDefaults official_t2v_defaults(const DitConfig& config) {
  ModelDefaults d;
  d.negative_prompt = official_negative_prompt_t2v();
  if (config.dim >= 5120) {  // 14B: the CLI default 1280*720
    d.width = 1280;
    d.height = 720;
  }
  return d;
}

std::unique_ptr<ModelSource> open_model_source(const std::string& model) {
  GALLOP_CHECK(!model.empty(), InvalidArgument, "no model given (--model PATH or --model tiny)");
  std::unique_ptr<ModelSource> source;
  if (model == "tiny") {
    source = std::make_unique<TinySource>();
  } else {
    source = std::make_unique<CheckpointSource>(model);
  }
  const auto type = source->dit_config().model_type;
  if (type != models::dit::ModelType::T2V)
    fail(ErrorKind::InvalidArgument, model, ": this is an image-to-video DiT (",
         type == models::dit::ModelType::I2V ? "i2v" : "flf2v",
         "); gallop generate needs a text-to-video checkpoint (T2V-1.3B or T2V-14B)");
  return source;
}

}  // namespace gallop::engine

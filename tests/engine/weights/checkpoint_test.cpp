// Checkpoint layout detection on tiny folders and files built here: official Wan2.1 folder,
// Diffusers folder (with a sharded text encoder), single files with a key prefix, unknown files.
// Checks the detected layout, each component's presence, dialect, prefix and config; inferred
// configs are compared with the shapes the test wrote (exact integers).
#include <torch/serialize.h>
#include <gtest/gtest.h>

#include <fstream>

#include "engine/core/error.h"
#include "engine/weights/checkpoint.h"
#include "engine/weights/safetensors.h"
#include "tests/testing/test_env.h"

using gallop::Error;
using gallop::ErrorKind;
using gallop::engine::classify_keys;
using gallop::engine::CheckpointLayout;
using gallop::engine::ComponentKind;
using gallop::engine::detect_checkpoint;
using gallop::engine::KeyDialect;
using gallop::engine::write_safetensors;
using gallop::testing::TempDir;
namespace fs = std::filesystem;

namespace {

using Named = std::vector<std::pair<std::string, at::Tensor>>;

at::Tensor z(std::vector<int64_t> shape) { return at::zeros(shape, at::kFloat); }

void write_text(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// A zip-format torch.save file of a plain dict, written by LibTorch's own pickler.
void write_pth(const fs::path& p, const Named& tensors) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [k, v] : tensors) dict.insert(k, v);
  const std::vector<char> bytes = torch::pickle_save(dict);
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary).write(bytes.data(), bytes.size());
}

void write_st(const fs::path& p, const Named& tensors) {
  fs::create_directories(p.parent_path());
  write_safetensors(p, tensors);
}

Named with_prefix(const std::string& prefix, const Named& t) {
  Named out;
  for (const auto& [k, v] : t) out.emplace_back(prefix + k, v);
  return out;
}

// Official DiT keys (spec §7.2): dim 256, in_dim 16, 2 blocks, ffn 32, text 12, freq 6, out 16.
Named official_dit() {
  return {{"patch_embedding.weight", z({256, 16, 1, 2, 2})}, {"text_embedding.0.weight", z({256, 12})},
          {"time_embedding.0.weight", z({256, 6})},          {"blocks.0.self_attn.q.weight", z({256, 256})},
          {"blocks.0.ffn.0.weight", z({32, 256})},           {"blocks.1.self_attn.q.weight", z({256, 256})},
          {"head.head.weight", z({64, 256})}};
}

// diffusers names of the same model, with the FLF2V image position table.
Named diffusers_dit() {
  return {{"patch_embedding.weight", z({256, 36, 1, 2, 2})},
          {"condition_embedder.text_embedder.linear_1.weight", z({256, 12})},
          {"condition_embedder.time_embedder.linear_1.weight", z({256, 6})},
          {"condition_embedder.image_embedder.pos_embed", z({1, 4, 8})},
          {"blocks.0.attn1.to_q.weight", z({256, 256})},
          {"blocks.0.ffn.net.0.proj.weight", z({32, 256})},
          {"proj_out.weight", z({64, 256})}};
}

Named official_t5() {
  return {{"token_embedding.weight", z({10, 8})},
          {"blocks.0.attn.q.weight", z({8, 8})},
          {"blocks.0.pos_embedding.embedding.weight", z({32, 2})},
          {"blocks.0.ffn.gate.0.weight", z({12, 8})},
          {"blocks.1.attn.q.weight", z({8, 8})}};
}

Named official_vae() {
  return {{"encoder.conv1.weight", z({4, 3, 3, 3, 3})}, {"encoder.downsamples.0.residual.0.gamma", z({4, 1, 1, 1})},
          {"decoder.conv1.weight", z({8, 16, 3, 3, 3})}, {"decoder.upsamples.0.residual.0.gamma", z({8, 1, 1, 1})},
          {"conv1.weight", z({32, 32, 1, 1, 1})}};
}

}  // namespace

TEST(Checkpoint, ClassifiesKeyPatterns) {
  struct Case {
    std::vector<std::string> keys;
    ComponentKind kind;
    KeyDialect dialect;
    std::string prefix;
  };
  const Case cases[] = {
      {{"blocks.0.self_attn.q.weight", "patch_embedding.weight"}, ComponentKind::Dit, KeyDialect::Official, ""},
      {{"blocks.0.attn1.to_q.weight", "patch_embedding.weight"}, ComponentKind::Dit, KeyDialect::Diffusers, ""},
      {{"model.diffusion_model.blocks.0.self_attn.q.weight", "model.diffusion_model.patch_embedding.weight"},
       ComponentKind::Dit, KeyDialect::Official, "model.diffusion_model."},
      {{"encoder.block.0.layer.0.SelfAttention.q.weight", "shared.weight"}, ComponentKind::TextEncoder,
       KeyDialect::Diffusers, ""},
      {{"blocks.0.attn.q.weight", "token_embedding.weight"}, ComponentKind::TextEncoder, KeyDialect::Official, ""},
      {{"decoder.conv_in.weight", "decoder.up_blocks.0.resnets.0.conv1.weight"}, ComponentKind::Vae,
       KeyDialect::Diffusers, ""},
      {{"decoder.conv1.weight", "decoder.upsamples.0.residual.0.gamma"}, ComponentKind::Vae, KeyDialect::Official, ""},
      {{"vision_model.embeddings.patch_embedding.weight", "vision_model.encoder.layers.0.mlp.fc1.weight"},
       ComponentKind::ImageEncoder, KeyDialect::Diffusers, ""},
      {{"visual.patch_embedding.weight", "visual.transformer.0.attn.to_qkv.weight"}, ComponentKind::ImageEncoder,
       KeyDialect::Official, ""},
      {{"linear.weight", "patch_embedding.weight"}, ComponentKind::Unknown, KeyDialect::Unknown, ""},
  };
  for (const auto& c : cases) {
    std::vector<std::string> keys = c.keys;
    std::sort(keys.begin(), keys.end());
    const auto k = classify_keys(keys);
    EXPECT_EQ(k.kind, c.kind) << keys[0];
    EXPECT_EQ(k.dialect, c.dialect) << keys[0];
    EXPECT_EQ(k.prefix, c.prefix) << keys[0];
  }
}

TEST(Checkpoint, OfficialFolder) {
  TempDir dir;
  write_text(dir / "config.json", R"({"_class_name": "WanModel", "model_type": "t2v", "dim": 256})");
  write_st(dir / "diffusion_pytorch_model.safetensors", official_dit());
  write_pth(dir / "models_t5_umt5-xxl-enc-bf16.pth", official_t5());
  write_pth(dir / "Wan2.1_VAE.pth", official_vae());
  write_text(dir / "google/umt5-xxl/spiece.model", "not really a model");

  const auto info = detect_checkpoint(dir.path());
  EXPECT_EQ(info.layout, CheckpointLayout::OfficialFolder);
  ASSERT_EQ(info.components.size(), 5u);

  const auto& dit = info.require(ComponentKind::Dit);
  EXPECT_EQ(dit.dialect, KeyDialect::Official);
  EXPECT_EQ(dit.key_prefix, "");
  EXPECT_FALSE(dit.config_inferred);
  EXPECT_EQ(dit.config_path, dir / "config.json");
  EXPECT_EQ(dit.config.at("dim"), 256);
  EXPECT_EQ(dit.source->keys().size(), official_dit().size());

  const auto& t5 = info.require(ComponentKind::TextEncoder);
  EXPECT_EQ(t5.dialect, KeyDialect::Official);
  EXPECT_TRUE(t5.config_inferred);
  EXPECT_EQ(t5.config.at("vocab_size"), 10);
  EXPECT_EQ(t5.config.at("d_model"), 8);
  EXPECT_EQ(t5.config.at("num_heads"), 2);
  EXPECT_EQ(t5.config.at("d_kv"), 4);
  EXPECT_EQ(t5.config.at("d_ff"), 12);
  EXPECT_EQ(t5.config.at("num_layers"), 2);
  EXPECT_EQ(t5.config.at("relative_attention_num_buckets"), 32);

  const auto& vae = info.require(ComponentKind::Vae);
  EXPECT_EQ(vae.dialect, KeyDialect::Official);
  EXPECT_EQ(vae.config.at("base_dim"), 4);
  EXPECT_EQ(vae.config.at("z_dim"), 16);

  const auto& tok = info.require(ComponentKind::Tokenizer);
  EXPECT_EQ(tok.files, std::vector<fs::path>{dir / "google/umt5-xxl/spiece.model"});
  EXPECT_EQ(tok.source, nullptr);

  const auto* clip = info.find(ComponentKind::ImageEncoder);
  ASSERT_NE(clip, nullptr);
  EXPECT_FALSE(clip->present);
  EXPECT_NE(clip->missing_reason.find("models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth"), std::string::npos);
  try {
    info.require(ComponentKind::ImageEncoder);
    FAIL() << "a missing component was handed out";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
    EXPECT_NE(std::string(e.what()).find("image_encoder"), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, DiffusersFolder) {
  TempDir dir;
  write_text(dir / "model_index.json", R"({"_class_name": "WanPipeline"})");
  write_text(dir / "scheduler/scheduler_config.json", R"({"flow_shift": 3.0})");
  write_text(dir / "transformer/config.json", R"({"num_attention_heads": 2})");
  write_st(dir / "transformer/diffusion_pytorch_model.safetensors", diffusers_dit());
  const Named t5 = {{"shared.weight", z({10, 8})},
                    {"encoder.block.0.layer.0.SelfAttention.q.weight", z({8, 8})},
                    {"encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", z({32, 2})}};
  write_st(dir / "text_encoder/model-00001-of-00002.safetensors", {t5[0]});
  write_st(dir / "text_encoder/model-00002-of-00002.safetensors", {t5[1], t5[2]});
  write_text(dir / "text_encoder/model.safetensors.index.json",
             R"({"weight_map": {"shared.weight": "model-00001-of-00002.safetensors",
                 "encoder.block.0.layer.0.SelfAttention.q.weight": "model-00002-of-00002.safetensors",
                 "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight": "model-00002-of-00002.safetensors"}})");
  write_st(dir / "vae/diffusion_pytorch_model.safetensors",
           {{"decoder.conv_in.weight", z({8, 16, 3, 3, 3})}, {"decoder.up_blocks.0.resnets.0.conv1.weight", z({8, 8, 3, 3, 3})}});
  write_text(dir / "tokenizer/spiece.model", "x");

  const auto info = detect_checkpoint(dir.path());
  EXPECT_EQ(info.layout, CheckpointLayout::DiffusersFolder);
  EXPECT_EQ(info.model_index.at("_class_name"), "WanPipeline");
  EXPECT_EQ(info.scheduler_config.at("flow_shift"), 3.0);

  const auto& dit = info.require(ComponentKind::Dit);
  EXPECT_EQ(dit.dialect, KeyDialect::Diffusers);
  EXPECT_EQ(dit.config.at("num_attention_heads"), 2);  // config.json wins over inference
  const auto& te = info.require(ComponentKind::TextEncoder);
  EXPECT_EQ(te.dialect, KeyDialect::Diffusers);
  EXPECT_EQ(te.files.size(), 2u);
  EXPECT_EQ(te.source->keys().size(), 3u);
  EXPECT_EQ(info.require(ComponentKind::Vae).dialect, KeyDialect::Diffusers);
  EXPECT_TRUE(info.require(ComponentKind::Tokenizer).present);
  EXPECT_FALSE(info.find(ComponentKind::ImageEncoder)->present);

  // A corrupt weight file is an error, not a missing component.
  write_text(dir / "vae/diffusion_pytorch_model.safetensors", "garbage!");
  EXPECT_THROW(detect_checkpoint(dir.path()), Error);
}

TEST(Checkpoint, SingleFileWithPrefixInfersDitConfig) {
  TempDir dir;
  Named t = with_prefix("model.diffusion_model.", official_dit());
  t.emplace_back("model.diffusion_model.img_emb.proj.0.weight", z({1280}));
  t.emplace_back("first_stage_model.other", z({2}));
  write_st(dir / "wan.safetensors", t);

  const auto info = detect_checkpoint(dir / "wan.safetensors");
  EXPECT_EQ(info.layout, CheckpointLayout::SingleFile);
  ASSERT_EQ(info.components.size(), 1u);
  const auto& c = info.components[0];
  EXPECT_EQ(c.kind, ComponentKind::Dit);
  EXPECT_EQ(c.dialect, KeyDialect::Official);
  EXPECT_EQ(c.key_prefix, "model.diffusion_model.");
  ASSERT_TRUE(c.config_inferred);
  EXPECT_EQ(c.config.at("model_type"), "i2v");
  EXPECT_EQ(c.config.at("dim"), 256);
  EXPECT_EQ(c.config.at("in_dim"), 16);
  EXPECT_EQ(c.config.at("out_dim"), 16);
  EXPECT_EQ(c.config.at("ffn_dim"), 32);
  EXPECT_EQ(c.config.at("num_layers"), 2);
  EXPECT_EQ(c.config.at("num_heads"), 2);
  EXPECT_EQ(c.config.at("text_dim"), 12);
  EXPECT_EQ(c.config.at("freq_dim"), 6);
  EXPECT_EQ(c.config.at("patch_size"), nlohmann::json({1, 2, 2}));
}

TEST(Checkpoint, SingleDiffusersFileInfersFlf2v) {
  TempDir dir;
  write_st(dir / "t.safetensors", diffusers_dit());
  const auto info = detect_checkpoint(dir / "t.safetensors");
  const auto& c = info.components.at(0);
  EXPECT_EQ(c.dialect, KeyDialect::Diffusers);
  EXPECT_EQ(c.config.at("model_type"), "flf2v");
  EXPECT_EQ(c.config.at("in_dim"), 36);
  EXPECT_EQ(c.config.at("num_layers"), 1);
}

TEST(Checkpoint, UnknownFileAndEmptyFolder) {
  TempDir dir;
  write_st(dir / "x.safetensors", {{"linear.weight", z({2, 2})}});
  const auto info = detect_checkpoint(dir / "x.safetensors");
  EXPECT_EQ(info.components.at(0).kind, ComponentKind::Unknown);
  EXPECT_TRUE(info.components.at(0).config.is_null());

  fs::create_directories(dir / "empty");
  try {
    detect_checkpoint(dir / "empty");
    FAIL() << "an empty folder was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
    EXPECT_NE(std::string(e.what()).find("not a checkpoint folder"), std::string::npos) << e.what();
  }
  try {
    detect_checkpoint(dir / "nope");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  }
}

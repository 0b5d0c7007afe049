// The text-to-video pipeline end to end on the built-in tiny model (fp32, CPU):
//  * parity: final latents against diffusers' WanPipeline run on the same weights, prompts,
//    noise and official UniPC schedule (tests/data/pipeline/tiny_t2v.safetensors, made by
//    tools/reference/pipeline_golden.py), within 1e-4 relative error (fp32 through 4 steps of
//    two DiT passes: each pass agrees with diffusers to ~1e-6, see tests/models/dit);
//  * the three on-disk layouts `export-tiny` writes load to the same model: identical latents
//    (bit for bit: same weights, same code) from the official and Diffusers folders, identical DiT
//    tensors from the single file;
//  * the PNG frames (--save-frames) read back with FFmpeg's PNG decoder equal, exactly, the frames
//    the VAE makes from the final latents;
//  * the same seed gives identical latents twice; another seed gives different ones.
#include <gtest/gtest.h>

#include "engine/core/progress.h"
#include "engine/io/image_reader.h"
#include "engine/pipeline/latents.h"
#include "engine/pipeline/model_source.h"
#include "engine/pipeline/text_to_video.h"
#include "engine/pipeline/tiny_model.h"
#include "engine/weights/loader.h"
#include "engine/weights/safetensors.h"
#include "engine/weights/tensor_source.h"
#include "tests/testing/tensor_compare.h"
#include "tests/testing/test_env.h"

using namespace gallop::engine;
using gallop::testing::Identical;
using gallop::testing::TempDir;

namespace {

ResolvedGenerate small_request(uint64_t seed, int steps) {
  ResolvedGenerate r;
  r.prompt = "a red car drifting through rain at night";
  r.negative_prompt = official_negative_prompt_t2v();
  r.width = 64;
  r.height = 48;
  r.frames = 9;
  r.steps = steps;
  r.guidance = 5.0;
  r.shift = 5.0;
  r.seed = seed;
  return r;  // no outputs: generate_video stops after the denoising loop
}

RunPolicy cpu_fp32() {
  RunPolicy p;
  p.device = at::kCPU;
  p.dtype = at::kFloat;
  p.text_encoder_device = at::kCPU;
  return p;
}

at::Tensor run_latents(const ModelSource& source, const ResolvedGenerate& r) {
  return generate_video(r, source, cpu_fp32(), gallop::null_progress()).latents;
}

}  // namespace

TEST(TextToVideo, MatchesDiffusersWanPipeline) {
  auto golden = SafetensorsFile::open(gallop::testing::data_path("pipeline/tiny_t2v.safetensors"));
  const auto& m = golden->metadata();
  ResolvedGenerate r = small_request(std::stoull(m.at("seed")), std::stoi(m.at("steps")));
  r.prompt = m.at("prompt");
  r.negative_prompt = m.at("negative_prompt");
  r.width = std::stoi(m.at("width"));
  r.height = std::stoi(m.at("height"));
  r.frames = std::stoi(m.at("frames"));
  r.guidance = std::stod(m.at("guidance"));
  r.shift = std::stod(m.at("shift"));
  auto source = open_model_source("tiny");
  at::Tensor latents = run_latents(*source, r);
  EXPECT_REL_CLOSE(latents, golden->tensor("latents"), 1e-4);
}

TEST(TextToVideo, EveryLayoutGivesTheSameModel) {
  TempDir dir;
  write_tiny_checkpoint(dir / "official", TinyLayout::OfficialFolder);
  write_tiny_checkpoint(dir / "diffusers", TinyLayout::DiffusersFolder);
  write_tiny_checkpoint(dir / "dit.safetensors", TinyLayout::SingleFile);

  const auto r = small_request(11, 2);
  const at::Tensor expected = run_latents(*open_model_source("tiny"), r);
  EXPECT_TRUE(Identical(run_latents(*open_model_source((dir / "official").string()), r), expected)) << "official";
  EXPECT_TRUE(Identical(run_latents(*open_model_source((dir / "diffusers").string()), r), expected)) << "diffusers";

  // The single file holds the DiT alone: its tensors load to exactly the tiny DiT's.
  auto tiny_dit = open_model_source("tiny")->load_dit(at::kCPU, at::kFloat);
  gallop::models::dit::WanModel loaded(tiny_model_config().dit, at::TensorOptions());
  auto src = TensorSource::open(dir / "dit.safetensors");
  load_module(*loaded, *src, strip_prefix_mapper("model.diffusion_model."));
  auto expected_params = tiny_dit->named_parameters();
  for (const auto& p : loaded->named_parameters())
    EXPECT_TRUE(Identical(p.value(), expected_params[p.key()])) << p.key();
}

TEST(TextToVideo, PngFramesAreExactlyThePipelineFrames) {
  TempDir dir;
  auto source = open_model_source("tiny");
  ResolvedGenerate r = small_request(9, 2);
  r.save_frames = dir / "frames";
  const auto result = generate_video(r, *source, cpu_fp32(), gallop::null_progress());
  ASSERT_EQ(result.frames, 9);
  // The frames the pipeline makes from its latents, decoded and converted independently.
  auto vae = source->load_vae(at::kCPU);
  const at::Tensor expected = video_to_uint8_frames(vae->decode(result.latents.unsqueeze(0)));  // [9, 48, 64, 3]
  for (int64_t i = 0; i < 9; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "%06d.png", static_cast<int>(i));
    EXPECT_TRUE(Identical(read_image(dir / "frames" / name), expected[i])) << name;
  }
}

TEST(TextToVideo, SameSeedSameLatentsOtherSeedDifferent) {
  auto source = open_model_source("tiny");
  const at::Tensor a = run_latents(*source, small_request(5, 2));
  const at::Tensor b = run_latents(*source, small_request(5, 2));
  const at::Tensor c = run_latents(*source, small_request(6, 2));
  EXPECT_TRUE(Identical(a, b));
  EXPECT_GT(gallop::testing::relative_error(c, a), 0.1);
}

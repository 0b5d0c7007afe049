// Request resolution: defaults per model (spec §6.6) and the validation that must happen before
// any heavy work. Exact comparisons (no numerics involved).
#include <gtest/gtest.h>

#include "engine/core/error.h"
#include "engine/pipeline/decode.h"
#include "engine/pipeline/request.h"
#include "tests/testing/test_env.h"

using namespace gallop::engine;
using gallop::Error;
using gallop::ErrorKind;

namespace {

GenerateRequest basic(const gallop::testing::TempDir& dir) {
  GenerateRequest r;
  r.model = "tiny";
  r.prompt = "a red car";
  r.output = dir / "out.mp4";
  return r;
}

ModelDefaults defaults_1_3b() {
  ModelDefaults d;
  d.negative_prompt = official_negative_prompt_t2v();
  return d;
}

// Runs resolve_generate and returns the InvalidArgument message ("" if it succeeded).
std::string invalid(const GenerateRequest& r) {
  try {
    resolve_generate(r, defaults_1_3b());
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument) << e.what();
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Request, DefaultsFollowTheOfficialCode) {
  gallop::testing::TempDir dir;
  auto r = resolve_generate(basic(dir), defaults_1_3b());
  EXPECT_EQ(r.width, 832);
  EXPECT_EQ(r.height, 480);
  EXPECT_EQ(r.frames, 81);
  EXPECT_EQ(r.steps, 50);
  EXPECT_EQ(r.guidance, 5.0);
  EXPECT_EQ(r.shift, 5.0);
  EXPECT_EQ(r.fps, 16);
  EXPECT_EQ(r.crf, 10);
  EXPECT_EQ(r.negative_prompt, official_negative_prompt_t2v());
  EXPECT_TRUE(r.seed_was_drawn);
  EXPECT_LT(r.seed, 1ULL << 63);
  EXPECT_EQ(r.latent_frames(), 21);
  EXPECT_EQ(r.latent_height(), 60);
  EXPECT_EQ(r.latent_width(), 104);
  EXPECT_EQ(official_negative_prompt_i2v().rfind("镜头晃动，", 0), 0u);
}

TEST(Request, ParsesSizesInBothSpellings) {
  EXPECT_EQ(parse_size("832x480"), std::make_pair(832, 480));
  EXPECT_EQ(parse_size("1280*720"), std::make_pair(1280, 720));
  EXPECT_THROW(parse_size("832"), Error);
  EXPECT_THROW(parse_size("-8x8"), Error);
  EXPECT_THROW(parse_size("8x8x8"), Error);
  EXPECT_EQ(parse_solver("dpm++"), Solver::DPMpp);
  EXPECT_THROW(parse_solver("ddim"), Error);
  EXPECT_EQ(parse_dtype("bf16"), at::kBFloat16);
  EXPECT_THROW(parse_dtype("fp8"), Error);
  EXPECT_EQ(parse_device("cpu"), at::Device(at::kCPU));
}

TEST(Request, RejectsBadValuesBeforeHeavyWork) {
  gallop::testing::TempDir dir;
  auto r = basic(dir);
  r.width = 130;
  r.height = 96;
  EXPECT_NE(invalid(r).find("not a multiple of 16"), std::string::npos);
  r = basic(dir);
  r.frames = 16;
  EXPECT_NE(invalid(r).find("4k+1"), std::string::npos);
  r = basic(dir);
  r.steps = 0;
  EXPECT_NE(invalid(r).find("at least 1"), std::string::npos);
  r = basic(dir);
  r.shift = -1;
  EXPECT_NE(invalid(r).find("positive"), std::string::npos);
  r = basic(dir);
  r.prompt = "";
  EXPECT_NE(invalid(r).find("prompt is empty"), std::string::npos);
  r = basic(dir);
  r.output = dir / "no-such-dir" / "out.mp4";
  EXPECT_NE(invalid(r).find("does not exist"), std::string::npos);
  r = basic(dir);
  r.output = dir.path();
  EXPECT_NE(invalid(r).find("is a directory"), std::string::npos);
  r = basic(dir);
  r.output.clear();
  EXPECT_NE(invalid(r).find("no output"), std::string::npos);
  r = basic(dir);
  r.seed = 7;
  auto ok = resolve_generate(r, defaults_1_3b());
  EXPECT_EQ(ok.seed, 7u);
  EXPECT_FALSE(ok.seed_was_drawn);
}

TEST(Request, OutOfMemoryMessageSaysWhereTheLatentsAreAndHowToDecodeThem) {
  DecodeOutputs outputs;
  outputs.video = "/videos/out.mp4";
  const std::string m =
      decode_out_of_memory_message("/videos/out.mp4.latents.safetensors", "/models/wan", outputs, "cuda:0");
  EXPECT_NE(m.find("ran out of memory on cuda:0"), std::string::npos) << m;
  EXPECT_NE(m.find("saved in /videos/out.mp4.latents.safetensors"), std::string::npos) << m;
  EXPECT_NE(m.find("gallop decode --model '/models/wan' --latents '/videos/out.mp4.latents.safetensors' -o "
                   "'/videos/out.mp4'"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("--device cpu"), std::string::npos) << m;
}

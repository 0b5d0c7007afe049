// `gallop generate` through the real binary, as a new user runs it:
//  * the command on the built-in tiny model writes an H.264 MP4 that decodes back to 17
//    frames of 128x96 at 16 fps, and prints the path on stdout;
//  * --save-frames writes the exact frames that go into the encoder (encoding the PNGs again
//    with the same settings decodes to the very same pixels as the MP4), --save-latents the final
//    latents with the run's settings;
//  * the same seed gives identical PNG frames twice, another seed different ones;
//  * bad input gets one clear line and exit status 2 (usage) or 1 (runtime) before heavy work,
//    and leaves no output file;
//  * Ctrl-C stops the run cleanly: exit status 130, no MP4 and no temporary file left.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>

#include "engine/io/image_reader.h"
#include "engine/io/video_reader.h"
#include "engine/io/video_writer.h"
#include "engine/weights/safetensors.h"
#include "tests/testing/tensor_compare.h"
#include "tests/testing/test_env.h"

using gallop::testing::CommandResult;
using gallop::testing::gallop_binary;
using gallop::testing::Identical;
using gallop::testing::run_command;
using gallop::testing::TempDir;
namespace fs = std::filesystem;

namespace {

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

CommandResult run_gallop(const std::string& args) {
  return run_command("timeout 300 " + q(gallop_binary()) + " " + args);
}

const std::string kTiny = "generate --model tiny --device cpu --quiet ";

at::Tensor read_frames(const fs::path& dir, int count) {
  std::vector<at::Tensor> frames;
  for (int i = 0; i < count; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "%06d.png", i);
    frames.push_back(gallop::engine::read_image(dir / name));
  }
  return at::stack(frames);  // [F, H, W, 3]
}

size_t count_files(const fs::path& dir) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

}  // namespace

TEST(Generate, TheReadmeCommandWritesAnMp4) {
  TempDir dir;
  const auto out = dir / "car.mp4";
  auto r = run_gallop("generate --model tiny --prompt 'a red car drifting through rain at night' --size 128x96 "
                  "--frames 17 --steps 4 --seed 7 --device cpu -o " + q(out) + " --save-frames " + q(dir / "frames") +
                  " --save-latents " + q(dir / "run.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(out.string()), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("seed: 7"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[denoise]"), std::string::npos) << "progress goes to stderr: " << r.err;

  const auto video = gallop::engine::read_video(out);
  EXPECT_EQ(video.info.frame_count, 17);
  EXPECT_EQ(video.info.width, 128);
  EXPECT_EQ(video.info.height, 96);
  EXPECT_EQ(video.info.fps.num, 16);
  EXPECT_EQ(video.info.fps.den, 1);
  EXPECT_EQ(video.info.codec_name, "h264");
  EXPECT_EQ(video.info.pixel_format, "yuv420p");

  // The PNG frames are the exact frames the encoder got: encoding them again with the same
  // settings gives a video that decodes to the same pixels (x264 is deterministic).
  ASSERT_EQ(count_files(dir / "frames"), 17u);
  const at::Tensor png = read_frames(dir / "frames", 17);
  gallop::engine::write_mp4(dir / "again.mp4", png, gallop::engine::VideoOptions{});
  EXPECT_TRUE(Identical(gallop::engine::read_video(dir / "again.mp4").frames, video.frames));

  auto latents = gallop::engine::SafetensorsFile::open(dir / "run.safetensors");
  EXPECT_EQ(latents->tensor("latents").sizes(), at::IntArrayRef({16, 5, 12, 16}));
  EXPECT_EQ(latents->metadata().at("seed"), "7");
  EXPECT_EQ(latents->metadata().at("prompt"), "a red car drifting through rain at night");
  const auto& meta = latents->metadata();
  EXPECT_EQ(meta.at("steps"), "4");
  EXPECT_EQ(meta.at("model"), "tiny");
  EXPECT_EQ(meta.at("width"), "128");
  EXPECT_EQ(meta.at("height"), "96");
  EXPECT_EQ(meta.at("frames"), "17");
  EXPECT_EQ(meta.at("solver"), "unipc");
  EXPECT_EQ(meta.at("guidance"), "5");
  EXPECT_EQ(meta.at("shift"), "5");
  EXPECT_EQ(meta.at("dtype"), "fp32");
  EXPECT_EQ(meta.at("fps"), "16");
  EXPECT_EQ(meta.at("family"), "wan2.1");
  EXPECT_FALSE(meta.at("negative_prompt").empty());
  EXPECT_FALSE(meta.at("gallop_version").empty());
}

TEST(Decode, SavedLatentsDecodeToTheSameFramesAsTheDirectRun) {
  TempDir dir;
  auto r = run_gallop(kTiny + "--prompt 'a horse on a beach' --size 64x64 --frames 9 --steps 3 --seed 1 "
                      "--save-latents " + q(dir / "run.safetensors") + " --save-frames " + q(dir / "direct"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(count_files(dir / "direct"), 9u);
  r = run_gallop("decode --model tiny --device cpu --quiet --latents " + q(dir / "run.safetensors") + " -o " +
                 q(dir / "again.mp4") + " --save-frames " + q(dir / "decoded"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find((dir / "again.mp4").string()), std::string::npos) << r.out;
  EXPECT_TRUE(Identical(read_frames(dir / "decoded", 9), read_frames(dir / "direct", 9)));
  const auto video = gallop::engine::read_video(dir / "again.mp4");
  EXPECT_EQ(video.info.frame_count, 9);
  EXPECT_EQ(video.info.width, 64);
  EXPECT_EQ(video.info.fps.num, 16);
}

TEST(Decode, RefusesForeignOrBrokenLatentsFiles) {
  TempDir dir;
  ASSERT_EQ(run_gallop("export-tiny --layout single -o " + q(dir / "dit.safetensors")).exit_code, 0);
  auto r = run_gallop("decode --model tiny --device cpu --latents " + q(dir / "dit.safetensors") + " -o " + q(dir / "o.mp4"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("not a gallop latents file"), std::string::npos) << r.err;

  ASSERT_EQ(run_gallop(kTiny + "--prompt x --size 32x32 --frames 1 --steps 1 --save-latents " + q(dir / "l.safetensors"))
                .exit_code, 0);
  fs::resize_file(dir / "l.safetensors", fs::file_size(dir / "l.safetensors") / 2);
  r = run_gallop("decode --model tiny --device cpu --latents " + q(dir / "l.safetensors") + " -o " + q(dir / "o.mp4"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("l.safetensors"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("past the end"), std::string::npos) << r.err;

  r = run_gallop("decode --model tiny --device cpu --latents " + q(dir / "missing.safetensors") + " -o " + q(dir / "o.mp4"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("no such file"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "o.mp4"));
}

TEST(Generate, SameSeedSameFramesOtherSeedDifferent) {
  TempDir dir;
  const std::string args = kTiny + "--prompt 'a horse on a beach' --size 64x48 --frames 5 --steps 2 ";
  ASSERT_EQ(run_gallop(args + "--seed 3 --save-frames " + q(dir / "a")).exit_code, 0);
  ASSERT_EQ(run_gallop(args + "--seed 3 --save-frames " + q(dir / "b")).exit_code, 0);
  ASSERT_EQ(run_gallop(args + "--seed 4 --save-frames " + q(dir / "c")).exit_code, 0);
  const at::Tensor a = read_frames(dir / "a", 5), b = read_frames(dir / "b", 5), c = read_frames(dir / "c", 5);
  EXPECT_TRUE(Identical(a, b));
  EXPECT_FALSE(a.equal(c));
}

TEST(Generate, BadInputFailsEarlyWithOneClearLine) {
  TempDir dir;
  const std::string ok = kTiny + "--prompt x -o " + q(dir / "o.mp4") + " ";
  struct Case {
    std::string args;
    int status;
    std::string message;
  };
  const std::vector<Case> cases = {
      {ok + "--size 130x96", 2, "not a multiple of 16"},
      {ok + "--frames 16", 2, "4k+1"},
      {ok + "--steps 0", 2, "at least 1"},
      {ok + "--solver ddim", 2, "solver 'ddim'"},
      {ok + "--dtype fp8", 2, "unknown dtype 'fp8'"},
      {ok + "--attention magic", 2, "unknown attention backend 'magic'"},
      {kTiny + "--prompt x -o " + q(dir / "missing" / "o.mp4"), 2, "does not exist"},
      {kTiny + "--prompt x", 2, "no output"},
      {"generate --model " + q(dir / "nowhere") + " --prompt x -o " + q(dir / "o.mp4"), 1, "nowhere"},
      {"generate --prompt x -o " + q(dir / "o.mp4"), 2, "--model is required"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args);
    auto r = run_gallop(c.args);
    EXPECT_EQ(r.exit_code, c.status) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  EXPECT_EQ(count_files(dir.path()), 0u) << "a failed run left a file behind";
}

TEST(Generate, WrongKindOfCheckpointOrMissingTokenizerIsAClearError) {
  TempDir dir;
  ASSERT_EQ(run_gallop("export-tiny --layout official -o " + q(dir / "i2v")).exit_code, 0);
  {  // Turn the DiT config into an image-to-video one: refused before any weights are read.
    std::ifstream in(dir / "i2v" / "config.json");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    text.replace(text.find("\"t2v\""), 5, "\"i2v\"");
    text.replace(text.find("\"in_dim\": 16"), 12, "\"in_dim\": 36");
    std::ofstream(dir / "i2v" / "config.json") << text;
  }
  auto r = run_gallop("generate --device cpu --quiet --model " + q(dir / "i2v") + " --prompt x -o " + q(dir / "o.mp4"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("image-to-video"), std::string::npos) << r.err;

  ASSERT_EQ(run_gallop("export-tiny --layout official -o " + q(dir / "notok")).exit_code, 0);
  fs::remove(dir / "notok" / "google" / "umt5-xxl" / "spiece.model");
  r = run_gallop("generate --device cpu --quiet --model " + q(dir / "notok") + " --prompt x -o " + q(dir / "o.mp4"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("spiece.model"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "o.mp4"));
}

TEST(Generate, CtrlCStopsCleanlyAndLeavesNoFile) {
  TempDir dir;
  // A run that takes minutes (about 0.3 s per step here), interrupted a few seconds in.
  const std::string cmd = q(gallop_binary()) + " " + kTiny +
                          "--prompt x --size 256x256 --frames 17 --steps 1000 -o " + q(dir / "o.mp4");
  auto r = run_command("(" + cmd + " & pid=$!; sleep 6; kill -INT $pid; wait $pid; echo \"status=$?\")");
  EXPECT_NE(r.out.find("status=130"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.err.find("cancelled"), std::string::npos) << r.err;
  EXPECT_EQ(count_files(dir.path()), 0u) << "an interrupted run left a file behind";
}

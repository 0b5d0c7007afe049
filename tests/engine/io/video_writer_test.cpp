// MP4 writer and video reader. Writes a synthetic moving pattern and reads it back through
// libavformat/libavcodec (engine/io's video reader), comparing against the frames given:
//  * container facts exactly: frame count, 16 fps, size, h264, yuv420p, timestamps k/16 s, the
//    index before the media data (+faststart);
//  * pixels by mean PSNR >= 40 dB at the reference's CRF 10 (H.264 is lossy; 40 dB is the usual
//    "visually lossless" line, and the measured value is printed);
//  * chunked streaming and one-shot writing decode to identical frames (same encoder input);
//  * when an `ffmpeg` program is on PATH: identical decoded frames to the command line the
//    reference runs through imageio (same RGB->YUV conversion and x264 settings);
//  * every failure (bad input, odd size, a directory as target, destruction before finish)
//    leaves no file behind, and an existing target untouched.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "engine/core/error.h"
#include "engine/core/features.h"
#include "engine/io/media_types.h"
#include "engine/io/video_reader.h"
#include "engine/io/video_writer.h"
#include "tests/engine/io/media_test_util.h"
#include "tests/testing/tensor_compare.h"
#include "tests/testing/test_env.h"

using gallop::ErrorKind;
using gallop::engine::DecodedVideo;
using gallop::engine::FrameRate;
using gallop::engine::read_video;
using gallop::engine::VideoOptions;
using gallop::engine::VideoWriter;
using gallop::engine::write_mp4;
using gallop::testing::Identical;
using gallop::testing::list_dir;
using gallop::testing::mean_psnr;
using gallop::testing::moving_pattern;
using gallop::testing::TempDir;
using gallop::testing::ThrowsError;

namespace fs = std::filesystem;

namespace {

constexpr double kMinPsnrDb = 40.0;

#define SKIP_WITHOUT_FFMPEG() \
  if (!gallop::engine::media_io_available()) GTEST_SKIP() << "this build has no FFmpeg"

TEST(VideoWriter, RoundTripKeepsFormatTimingAndPixels) {
  SKIP_WITHOUT_FFMPEG();
  TempDir dir;
  const fs::path out = dir / "clip.mp4";
  const at::Tensor frames = moving_pattern(17, 96, 128);  // [17, 96, 128, 3]
  write_mp4(out, frames);  // defaults: 16 fps, CRF 10, medium, yuv420p
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"clip.mp4"});

  const DecodedVideo v = read_video(out);
  EXPECT_EQ(v.info.frame_count, 17);
  EXPECT_EQ(v.info.fps.num, 16);
  EXPECT_EQ(v.info.fps.den, 1);
  EXPECT_EQ(v.info.width, 128);
  EXPECT_EQ(v.info.height, 96);
  EXPECT_EQ(v.info.codec_name, "h264");
  EXPECT_EQ(v.info.pixel_format, "yuv420p");
  ASSERT_EQ(v.frames.sizes(), frames.sizes());
  ASSERT_EQ(v.timestamps.size(), 17u);
  for (size_t k = 0; k < v.timestamps.size(); ++k) EXPECT_NEAR(v.timestamps[k], k / 16.0, 1e-6) << "frame " << k;

  const double psnr = mean_psnr(v.frames, frames);
  std::printf("[ measured ] mean PSNR at CRF 10: %.2f dB\n", psnr);
  RecordProperty("mean_psnr_db", std::to_string(psnr));
  EXPECT_GE(psnr, kMinPsnrDb);

  // +faststart: the index (moov) precedes the media data (mdat).
  const auto boxes = gallop::testing::mp4_top_level_boxes(out);
  const auto moov = std::find(boxes.begin(), boxes.end(), "moov");
  const auto mdat = std::find(boxes.begin(), boxes.end(), "mdat");
  ASSERT_NE(moov, boxes.end());
  ASSERT_NE(mdat, boxes.end());
  EXPECT_LT(moov - boxes.begin(), mdat - boxes.begin());
}

TEST(VideoWriter, QualityFollowsCrf) {
  SKIP_WITHOUT_FFMPEG();
  TempDir dir;
  const at::Tensor frames = moving_pattern(5, 64, 96);  // [5, 64, 96, 3]
  VideoOptions rough;
  rough.crf = 40;
  rough.preset = "ultrafast";
  write_mp4(dir / "fine.mp4", frames);
  write_mp4(dir / "rough.mp4", frames, rough);
  const double fine = mean_psnr(read_video(dir / "fine.mp4").frames, frames);
  const double coarse = mean_psnr(read_video(dir / "rough.mp4").frames, frames);
  EXPECT_GT(fine, coarse + 5.0) << "CRF 10: " << fine << " dB, CRF 40: " << coarse << " dB";
  EXPECT_LT(fs::file_size(dir / "rough.mp4"), fs::file_size(dir / "fine.mp4"));
}

TEST(VideoWriter, RationalFrameRate) {
  SKIP_WITHOUT_FFMPEG();
  TempDir dir;
  VideoOptions o;
  o.fps = FrameRate(30000, 1001);
  write_mp4(dir / "ntsc.mp4", moving_pattern(4, 32, 48), o);
  const DecodedVideo v = read_video(dir / "ntsc.mp4");
  EXPECT_EQ(v.info.fps, FrameRate(30000, 1001)) << v.info.fps.to_string();
  ASSERT_EQ(v.timestamps.size(), 4u);
  EXPECT_NEAR(v.timestamps[3], 3 * 1001.0 / 30000.0, 1e-4);
}

TEST(VideoWriter, StreamingChunksEqualOneShot) {
  SKIP_WITHOUT_FFMPEG();
  TempDir dir;
  const at::Tensor frames = moving_pattern(17, 96, 128);  // [17, 96, 128, 3]
  write_mp4(dir / "whole.mp4", frames);

  VideoWriter w;
  EXPECT_FALSE(w.is_open());
  w.open(dir / "chunks.mp4", 128, 96);
  EXPECT_TRUE(w.is_open());
  w.add_frame(frames[0]);                        // [96, 128, 3]
  w.add_frames(frames.slice(0, 1, 9));           // [8, 96, 128, 3]
  w.add_frames(frames.slice(0, 9, 17).clone());  // [8, 96, 128, 3]
  EXPECT_EQ(w.frames_written(), 17);
  EXPECT_EQ(list_dir(dir.path()).size(), 2u);  // whole.mp4 + the temporary file, no chunks.mp4 yet
  w.finish();
  EXPECT_FALSE(w.is_open());
  EXPECT_EQ(list_dir(dir.path()), (std::vector<std::string>{"chunks.mp4", "whole.mp4"}));

  EXPECT_TRUE(Identical(read_video(dir / "chunks.mp4").frames, read_video(dir / "whole.mp4").frames));
}

TEST(VideoWriter, NonContiguousInputIsWrittenAsItsValues) {
  SKIP_WITHOUT_FFMPEG();
  TempDir dir;
  const at::Tensor frames = moving_pattern(3, 48, 64);          // [3, 48, 64, 3]
  const at::Tensor planar = frames.permute({0, 3, 1, 2}).contiguous();  // [3, 3, 48, 64]
  write_mp4(dir / "a.mp4", frames);
  write_mp4(dir / "b.mp4", planar.permute({0, 2, 3, 1}));  // a strided view of the same values
  EXPECT_TRUE(Identical(read_video(dir / "a.mp4").frames, read_video(dir / "b.mp4").frames));
}

// The reference writes with imageio, which pipes rgb24 into this ffmpeg command line. Compared
// only against an ffmpeg program from the same FFmpeg release as the libraries gallop links
// (another release may carry another x264 or swscale).
TEST(VideoWriter, MatchesTheFfmpegCommandLineOfTheReference) {
  SKIP_WITHOUT_FFMPEG();
  const auto version = gallop::testing::run_command("ffmpeg -version");
  if (version.exit_code != 0) GTEST_SKIP() << "no ffmpeg program on PATH";
  std::string linked;
  for (const auto& [name, value] : gallop::build_features())
    if (name == "ffmpeg") linked = value;
  if (linked.empty() || version.out.rfind("ffmpeg version " + linked + " ", 0) != 0)
    GTEST_SKIP() << "the ffmpeg program is not FFmpeg " << linked << ": " << version.out.substr(0, 60);
  TempDir dir;
  const at::Tensor frames = moving_pattern(9, 96, 128);  // [9, 96, 128, 3]
  gallop::testing::write_file(dir / "frames.rgb",
                              std::string(reinterpret_cast<const char*>(frames.data_ptr<uint8_t>()), frames.numel()));
  const auto r = gallop::testing::run_command(
      "ffmpeg -nostdin -y -v error -f rawvideo -vcodec rawvideo -s 128x96 -pix_fmt rgb24 -r 16.00 -i '" +
      (dir / "frames.rgb").string() + "' -an -vcodec libx264 -pix_fmt yuv420p -crf 10 '" + (dir / "cli.mp4").string() +
      "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  write_mp4(dir / "ours.mp4", frames);
  const DecodedVideo cli = read_video(dir / "cli.mp4");
  const DecodedVideo ours = read_video(dir / "ours.mp4");
  EXPECT_EQ(ours.info.fps, cli.info.fps);
  EXPECT_EQ(ours.info.pixel_format, cli.info.pixel_format);
  EXPECT_TRUE(Identical(ours.frames, cli.frames));
}

TEST(VideoWriter, OddSizeIsRefusedAndWritesNothing) {
  SKIP_WITHOUT_FFMPEG();
  TempDir dir;
  EXPECT_TRUE(ThrowsError([&] { write_mp4(dir / "odd.mp4", moving_pattern(2, 96, 127)); }, ErrorKind::InvalidArgument,
                          {"odd.mp4", "127x96", "even"}));
  EXPECT_TRUE(ThrowsError([&] { write_mp4(dir / "odd.mp4", moving_pattern(2, 33, 64)); }, ErrorKind::InvalidArgument,
                          {"64x33", "even"}));
  EXPECT_TRUE(list_dir(dir.path()).empty());
}

TEST(VideoWriter, BadInputIsRefusedWithAClearMessage) {
  SKIP_WITHOUT_FFMPEG();
  TempDir dir;
  const fs::path out = dir / "x.mp4";
  const at::Tensor good = moving_pattern(2, 32, 32);  // [2, 32, 32, 3]
  EXPECT_TRUE(ThrowsError([&] { write_mp4(out, good.to(at::kFloat)); }, ErrorKind::InvalidArgument, {"uint8"}));
  EXPECT_TRUE(ThrowsError([&] { write_mp4(out, good[0]); }, ErrorKind::InvalidArgument, {"[F, H, W, 3]"}));
  EXPECT_TRUE(ThrowsError([&] { write_mp4(out, at::zeros({2, 32, 32, 4}, at::kByte)); }, ErrorKind::InvalidArgument,
                          {"[F, H, W, 3]", "[2, 32, 32, 4]"}));
  EXPECT_TRUE(ThrowsError([&] { write_mp4(out, at::zeros({0, 32, 32, 3}, at::kByte)); }, ErrorKind::InvalidArgument,
                          {"F = 0"}));
  EXPECT_TRUE(ThrowsError([&] { write_mp4(out, at::Tensor()); }, ErrorKind::InvalidArgument, {"undefined"}));
  VideoOptions o;
  o.fps = 0;
  EXPECT_TRUE(ThrowsError([&] { write_mp4(out, good, o); }, ErrorKind::InvalidArgument, {"frame rate"}));
  o.fps = 5000;
  EXPECT_TRUE(ThrowsError([&] { write_mp4(out, good, o); }, ErrorKind::InvalidArgument, {"frame rate", "5000"}));
  o = VideoOptions();
  o.crf = 52;
  EXPECT_TRUE(ThrowsError([&] { write_mp4(out, good, o); }, ErrorKind::InvalidArgument, {"CRF 52"}));
  o = VideoOptions();
  o.preset = "turbo";
  EXPECT_TRUE(ThrowsError([&] { write_mp4(out, good, o); }, ErrorKind::InvalidArgument, {"preset 'turbo'"}));
  EXPECT_TRUE(list_dir(dir.path()).empty());
}

TEST(VideoWriter, BadTargetIsRefusedBeforeAnyWork) {
  SKIP_WITHOUT_FFMPEG();
  TempDir dir;
  fs::create_directory(dir / "taken.mp4");
  const at::Tensor good = moving_pattern(2, 32, 32);  // [2, 32, 32, 3]
  EXPECT_TRUE(ThrowsError([&] { write_mp4(dir / "taken.mp4", good); }, ErrorKind::InvalidArgument,
                          {"taken.mp4", "directory"}));
  EXPECT_TRUE(ThrowsError([&] { write_mp4(dir / "missing" / "x.mp4", good); }, ErrorKind::InvalidArgument,
                          {"does not exist"}));
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"taken.mp4"});
  EXPECT_TRUE(fs::is_empty(dir / "taken.mp4"));
}

TEST(VideoWriter, BadFrameAfterOpenLeavesTheWriterUsable) {
  SKIP_WITHOUT_FFMPEG();
  TempDir dir;
  const at::Tensor frames = moving_pattern(3, 32, 48);  // [3, 32, 48, 3]
  VideoWriter w;
  w.open(dir / "v.mp4", 48, 32);
  w.add_frame(frames[0]);
  EXPECT_TRUE(ThrowsError([&] { w.add_frames(moving_pattern(1, 32, 64)); }, ErrorKind::InvalidArgument,
                          {"64x32", "48x32"}));
  EXPECT_TRUE(ThrowsError([&] { w.add_frame(frames[1].to(at::kInt)); }, ErrorKind::InvalidArgument, {"uint8"}));
  EXPECT_TRUE(ThrowsError([&] { w.add_frame(frames); }, ErrorKind::InvalidArgument, {"[H, W, 3]"}));
  EXPECT_TRUE(ThrowsError([&] { w.open(dir / "other.mp4", 48, 32); }, ErrorKind::InvalidArgument, {"already open"}));
  EXPECT_TRUE(w.is_open());
  w.add_frames(frames.slice(0, 1, 3));
  w.finish();
  EXPECT_EQ(read_video(dir / "v.mp4").info.frame_count, 3);
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"v.mp4"});
}

TEST(VideoWriter, DestroyedBeforeFinishLeavesNoFile) {
  SKIP_WITHOUT_FFMPEG();
  TempDir dir;
  {
    VideoWriter w;
    w.open(dir / "v.mp4", 64, 48);
    w.add_frames(moving_pattern(4, 48, 64));
    EXPECT_EQ(list_dir(dir.path()).size(), 1u);  // the temporary file
  }
  EXPECT_TRUE(list_dir(dir.path()).empty());
}

TEST(VideoWriter, FailureKeepsAnExistingTargetUntouched) {
  SKIP_WITHOUT_FFMPEG();
  TempDir dir;
  const fs::path out = dir / "v.mp4";
  gallop::testing::write_file(out, "previous result");
  {
    VideoWriter w;
    w.open(out, 64, 48);
    w.add_frames(moving_pattern(2, 48, 64));
    EXPECT_TRUE(ThrowsError([&] { w.add_frames(moving_pattern(1, 48, 62)); }, ErrorKind::InvalidArgument, {"62x48"}));
  }  // abandoned
  EXPECT_EQ(gallop::testing::read_file(out), "previous result");
  // With no frames, finish() refuses and closes without touching the target either.
  VideoWriter w;
  w.open(out, 64, 48);
  EXPECT_TRUE(ThrowsError([&] { w.finish(); }, ErrorKind::InvalidArgument, {"no frames"}));
  EXPECT_FALSE(w.is_open());
  EXPECT_TRUE(ThrowsError([&] { w.add_frame(moving_pattern(1, 48, 64)[0]); }, ErrorKind::InvalidArgument,
                          {"not open"}));
  EXPECT_EQ(gallop::testing::read_file(out), "previous result");
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"v.mp4"});
  // A successful write replaces it.
  write_mp4(out, moving_pattern(2, 48, 64));
  EXPECT_EQ(read_video(out).info.frame_count, 2);
}

TEST(VideoWriter, MovedWriterKeepsWriting) {
  SKIP_WITHOUT_FFMPEG();
  TempDir dir;
  const at::Tensor frames = moving_pattern(2, 32, 32);  // [2, 32, 32, 3]
  VideoWriter a;
  a.open(dir / "m.mp4", 32, 32);
  a.add_frame(frames[0]);
  VideoWriter b = std::move(a);
  b.add_frame(frames[1]);
  b.finish();
  EXPECT_EQ(read_video(dir / "m.mp4").info.frame_count, 2);
}

TEST(VideoReader, MissingAndNonVideoFiles) {
  SKIP_WITHOUT_FFMPEG();
  TempDir dir;
  EXPECT_TRUE(ThrowsError([&] { read_video(dir / "none.mp4"); }, ErrorKind::NotFound, {"none.mp4"}));
  gallop::testing::write_file(dir / "junk.mp4", std::string(5000, 'x'));
  EXPECT_TRUE(ThrowsError([&] { read_video(dir / "junk.mp4"); }, ErrorKind::Format, {"junk.mp4"}));
  gallop::testing::write_file(dir / "empty.mp4", "");
  EXPECT_TRUE(ThrowsError([&] { read_video(dir / "empty.mp4"); }, ErrorKind::Format, {"empty.mp4"}));
  EXPECT_TRUE(ThrowsError([&] { read_video(dir.path()); }, ErrorKind::Format, {"directory"}));
}

TEST(VideoReader, TruncatedFileIsAnError) {
  SKIP_WITHOUT_FFMPEG();
  TempDir dir;
  write_mp4(dir / "full.mp4", moving_pattern(8, 48, 64));
  const std::string bytes = gallop::testing::read_file(dir / "full.mp4");
  // faststart puts the index first; cutting the media data leaves an index that points past the end.
  gallop::testing::write_file(dir / "cut.mp4", bytes.substr(0, bytes.size() / 3));
  try {
    const DecodedVideo v = read_video(dir / "cut.mp4");
    EXPECT_LT(v.info.frame_count, 8) << "a third of the file cannot hold every frame";
  } catch (const gallop::Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Format) << e.what();
    EXPECT_NE(std::string(e.what()).find("cut.mp4"), std::string::npos) << e.what();
  }
}

TEST(MediaIo, WithoutFfmpegEveryFunctionSaysSo) {
  if (gallop::engine::media_io_available()) GTEST_SKIP() << "this build has FFmpeg";
  TempDir dir;
  EXPECT_TRUE(ThrowsError([&] { write_mp4(dir / "a.mp4", moving_pattern(1, 16, 16)); }, ErrorKind::Unsupported,
                          {"no FFmpeg"}));
  VideoWriter w;
  EXPECT_TRUE(ThrowsError([&] { w.open(dir / "a.mp4", 16, 16); }, ErrorKind::Unsupported, {"no FFmpeg"}));
  EXPECT_TRUE(ThrowsError([&] { read_video(dir / "a.mp4"); }, ErrorKind::Unsupported, {"no FFmpeg"}));
  EXPECT_TRUE(list_dir(dir.path()).empty());
}

}  // namespace

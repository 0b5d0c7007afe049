// PNG writer and image reader.
//  * PNG frames written by gallop read back bit-identical (PNG is lossless: no tolerance).
//  * Fixture images made by PIL (tools/reference/io_fixtures.py) decode to exactly PIL's
//    Image.convert("RGB") pixels for PNG (RGB, RGBA, grey, grey+alpha, palette) and lossless WebP;
//    BMP made here reads back exactly. JPEG and lossy WebP use the same chroma upsampling as PIL
//    but a different IDCT / YUV->RGB rounding, so they are held to kLossy* below.
//  * Pixel-limit checks fire before decoding on crafted "bomb" headers (PNG, JPEG, WebP, and BMP
//    through FFmpeg's own check), and corrupt / empty / missing files fail with clear messages.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "engine/core/error.h"
#include "engine/io/image_reader.h"
#include "engine/io/image_writer.h"
#include "engine/io/media_types.h"
#include "engine/io/video_writer.h"
#include "engine/weights/safetensors.h"
#include "tests/engine/io/media_test_util.h"
#include "tests/testing/tensor_compare.h"
#include "tests/testing/test_env.h"

using gallop::ErrorKind;
using gallop::engine::ImageReadOptions;
using gallop::engine::read_image;
using gallop::engine::write_png;
using gallop::engine::write_png_frames;
using gallop::testing::data_path;
using gallop::testing::Identical;
using gallop::testing::list_dir;
using gallop::testing::read_file;
using gallop::testing::TempDir;
using gallop::testing::ThrowsError;
using gallop::testing::write_file;

namespace fs = std::filesystem;

namespace {

#define SKIP_WITHOUT_FFMPEG() \
  if (!gallop::engine::media_io_available()) GTEST_SKIP() << "this build has no FFmpeg"

// Bounds for lossy formats against PIL (libjpeg-turbo / libwebp). FFmpeg's IDCT and PIL's may
// round a Y, Cb or Cr sample one level apart; through the YUV->RGB matrix (largest chroma
// weight 1.772) that moves R, G or B by at most 1 + 1.772 < 3 levels, so a pixel may differ by 3,
// and only a small fraction of samples round differently (measured: max 3, mean 0.02..0.09; the
// mean bound leaves ~1.5x room).
constexpr double kLossyMaxAbs = 3;
constexpr double kLossyMeanAbs = 0.15;

at::Tensor noise_frames(int64_t f, int64_t h, int64_t w, uint64_t seed) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randint(0, 256, {f, h, w, 3}, g, at::kLong).to(at::kByte);  // [F, H, W, 3]
}

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}
std::string le32(uint32_t v) {
  return {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16), static_cast<char>(v >> 24)};
}
std::string le16(uint32_t v) { return {static_cast<char>(v), static_cast<char>(v >> 8)}; }

uint32_t crc32(const std::string& bytes) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : bytes) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

std::string png_chunk(const std::string& type, const std::string& data) {
  return be32(static_cast<uint32_t>(data.size())) + type + data + be32(crc32(type + data));
}

// A PNG that is only a header: signature, IHDR (8-bit RGB, the given size), a tiny IDAT, IEND.
std::string png_bomb(uint32_t width, uint32_t height) {
  const std::string sig = "\x89PNG\r\n\x1a\n";
  const std::string ihdr = be32(width) + be32(height) + std::string("\x08\x02\x00\x00\x00", 5);
  const std::string idat("\x78\x9c\x63\x00\x00\x00\x01\x00\x01", 9);  // zlib stream of one zero byte
  return sig + png_chunk("IHDR", ihdr) + png_chunk("IDAT", idat) + png_chunk("IEND", "");
}

// A 24-bit BMP, rows bottom-up in BGR order, each padded to 4 bytes.
std::string bmp(const at::Tensor& rgb /* [H, W, 3] uint8 */) {
  const uint32_t h = static_cast<uint32_t>(rgb.size(0)), w = static_cast<uint32_t>(rgb.size(1));
  const uint32_t row = (w * 3 + 3) / 4 * 4;
  std::string pixels;
  for (int64_t y = h - 1; y >= 0; --y) {
    std::string line;
    for (int64_t x = 0; x < w; ++x)
      for (int c = 2; c >= 0; --c) line += static_cast<char>(rgb[y][x][c].item<uint8_t>());
    line.resize(row, '\0');
    pixels += line;
  }
  const std::string info = le32(40) + le32(w) + le32(h) + le16(1) + le16(24) + le32(0) +
                           le32(static_cast<uint32_t>(pixels.size())) + le32(2835) + le32(2835) + le32(0) + le32(0);
  return "BM" + le32(static_cast<uint32_t>(14 + info.size() + pixels.size())) + le32(0) + le32(54) + info + pixels;
}

TEST(PngWriter, FramesReadBackExactly) {
  SKIP_WITHOUT_FFMPEG();
  TempDir dir;
  const at::Tensor frames = noise_frames(3, 23, 37, 7);  // [3, 23, 37, 3]: odd sizes are fine for PNG
  const fs::path out = dir / "nested" / "frames";
  const auto written = write_png_frames(out, frames, 5);
  ASSERT_EQ(written.size(), 3u);
  EXPECT_EQ(list_dir(out), (std::vector<std::string>{"000005.png", "000006.png", "000007.png"}));
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(written[i], out / list_dir(out)[i]);
    EXPECT_TRUE(Identical(read_image(written[i]), frames[i])) << written[i];
  }
  // Writing again into the existing directory replaces the files.
  const at::Tensor again = noise_frames(1, 23, 37, 8);  // [1, 23, 37, 3]
  write_png_frames(out, again, 6);
  EXPECT_TRUE(Identical(read_image(out / "000006.png"), again[0]));
  EXPECT_EQ(list_dir(out).size(), 3u);
}

TEST(PngWriter, SingleImageAndSmoothContent) {
  SKIP_WITHOUT_FFMPEG();
  TempDir dir;
  const at::Tensor img = gallop::testing::moving_pattern(1, 96, 128)[0];  // [96, 128, 3]
  write_png(dir / "one.png", img);
  EXPECT_TRUE(Identical(read_image(dir / "one.png"), img));
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"one.png"});
  // Bytes start with the PNG signature and an 8-bit truecolour IHDR.
  const std::string bytes = read_file(dir / "one.png");
  ASSERT_GE(bytes.size(), 26u);
  EXPECT_EQ(bytes.substr(0, 8), "\x89PNG\r\n\x1a\n");
  EXPECT_EQ(bytes.substr(24, 2), std::string("\x08\x02", 2));
}

TEST(PngWriter, RefusesBadInputAndTargets) {
  SKIP_WITHOUT_FFMPEG();
  TempDir dir;
  const at::Tensor frames = noise_frames(2, 8, 8, 1);  // [2, 8, 8, 3]
  EXPECT_TRUE(ThrowsError([&] { write_png_frames(dir / "f", frames.to(at::kFloat)); }, ErrorKind::InvalidArgument,
                          {"uint8"}));
  EXPECT_TRUE(ThrowsError([&] { write_png(dir / "a.png", frames); }, ErrorKind::InvalidArgument, {"[H, W, 3]"}));
  EXPECT_TRUE(ThrowsError([&] { write_png_frames(dir / "f", frames, -1); }, ErrorKind::InvalidArgument,
                          {"six digits"}));
  EXPECT_TRUE(ThrowsError([&] { write_png_frames(dir / "f", frames, 999'999); }, ErrorKind::InvalidArgument,
                          {"six digits"}));
  write_file(dir / "file", "x");
  EXPECT_TRUE(ThrowsError([&] { write_png_frames(dir / "file", frames); }, ErrorKind::InvalidArgument,
                          {"file", "output directory"}));
  fs::create_directory(dir / "d.png");
  EXPECT_TRUE(ThrowsError([&] { write_png(dir / "d.png", frames[0]); }, ErrorKind::InvalidArgument, {"directory"}));
  EXPECT_EQ(list_dir(dir.path()), (std::vector<std::string>{"d.png", "file"}));
}

class PilFixture : public ::testing::TestWithParam<const char*> {};

TEST_P(PilFixture, DecodesLikePil) {
  SKIP_WITHOUT_FFMPEG();
  const std::string name = GetParam();
  const auto expected_file = gallop::engine::SafetensorsFile::open(data_path("io/expected_rgb.safetensors"));
  const at::Tensor expected = expected_file->tensor(name);  // [H, W, 3] uint8
  const at::Tensor actual = read_image(data_path("io/" + name));
  ASSERT_EQ(actual.sizes(), expected.sizes());
  const bool lossy = name.rfind("jpeg", 0) == 0 || name == "webp_lossy.webp";
  if (!lossy) {
    EXPECT_TRUE(Identical(actual, expected));
    return;
  }
  const at::Tensor diff = (actual.to(at::kInt) - expected.to(at::kInt)).abs();  // [H, W, 3]
  const double max_abs = diff.max().item<double>();
  const double mean_abs = diff.to(at::kDouble).mean().item<double>();
  std::printf("[ measured ] %s vs PIL: max |diff| %.0f, mean |diff| %.3f\n", name.c_str(), max_abs, mean_abs);
  EXPECT_LE(max_abs, kLossyMaxAbs);
  EXPECT_LE(mean_abs, kLossyMeanAbs);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, PilFixture,
                         ::testing::Values("png_rgb.png", "png_rgba.png", "png_gray.png", "png_gray_alpha.png",
                                           "png_palette.png", "jpeg_420.jpg", "jpeg_420_odd.jpg", "jpeg_422.jpg", "jpeg_444.jpg",
                                           "jpeg_gray.jpg", "webp_lossless.webp", "webp_lossy.webp"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '.') c = '_';
                           return n;
                         });

TEST(ImageReader, AlphaIsDiscardedNotComposited) {
  SKIP_WITHOUT_FFMPEG();
  // png_rgba.png has fully transparent rows whose colour is still stored: it must come back.
  const auto expected_file = gallop::engine::SafetensorsFile::open(data_path("io/expected_rgb.safetensors"));
  const at::Tensor rgb = expected_file->tensor("png_rgb.png");  // [24, 32, 3], same colours as png_rgba
  EXPECT_TRUE(Identical(read_image(data_path("io/png_rgba.png")), rgb));
}

TEST(ImageReader, BmpThroughFfmpegDecoders) {
  SKIP_WITHOUT_FFMPEG();
  TempDir dir;
  const at::Tensor img = noise_frames(1, 5, 3, 3)[0];  // [5, 3, 3]: rows need padding
  write_file(dir / "a.bmp", bmp(img));
  EXPECT_TRUE(Identical(read_image(dir / "a.bmp"), img));
}

TEST(ImageReader, PixelLimitIsCheckedBeforeDecoding) {
  SKIP_WITHOUT_FFMPEG();
  TempDir dir;
  // PNG claiming 100000 x 100000 (10 Gpx) and 9000 x 9000 (81 Mpx: FFmpeg itself would decode it).
  write_file(dir / "bomb.png", png_bomb(100000, 100000));
  EXPECT_TRUE(ThrowsError([&] { read_image(dir / "bomb.png"); }, ErrorKind::Format,
                          {"bomb.png", "100000x100000", "PNG header", "limit of 67108864 pixels"}));
  write_file(dir / "big.png", png_bomb(9000, 9000));
  EXPECT_TRUE(ThrowsError([&] { read_image(dir / "big.png"); }, ErrorKind::Format, {"9000x9000", "81000000"}));
  // JPEG: SOI, an APP0 segment, fill bytes, then SOF0 claiming 60000 x 60000.
  const std::string app0 = std::string("\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", 18);
  const std::string sof0 = std::string("\xFF\xFF\xFF\xC0\x00\x11\x08\xEA\x60\xEA\x60\x03", 12) +
                           std::string("\x01\x22\x00\x02\x11\x01\x03\x11\x01", 9);
  write_file(dir / "bomb.jpg", std::string("\xFF\xD8", 2) + app0 + sof0 + std::string("\xFF\xD9", 2));
  EXPECT_TRUE(ThrowsError([&] { read_image(dir / "bomb.jpg"); }, ErrorKind::Format, {"60000x60000", "JPEG header"}));
  // WebP extended header with a 16777216 x 16777216 canvas.
  const std::string vp8x = "VP8X" + le32(10) + std::string(4, '\0') + std::string(6, '\xFF');
  write_file(dir / "bomb.webp", "RIFF" + le32(static_cast<uint32_t>(4 + vp8x.size())) + "WEBP" + vp8x);
  EXPECT_TRUE(ThrowsError([&] { read_image(dir / "bomb.webp"); }, ErrorKind::Format, {"16777216x16777216"}));
  // BMP has no header check of ours: FFmpeg's decoder applies the same limit before allocating.
  write_file(dir / "small.bmp", bmp(noise_frames(1, 10, 10, 4)[0]));
  ImageReadOptions tiny;
  tiny.max_pixels = 99;
  EXPECT_TRUE(ThrowsError([&] { read_image(dir / "small.bmp", tiny); }, ErrorKind::Format, {"small.bmp", "99"}));
  tiny.max_pixels = 100;
  EXPECT_EQ(read_image(dir / "small.bmp", tiny).sizes(), (at::IntArrayRef{10, 10, 3}));
  // A BMP header claiming 30000 x 30000 with no pixel data: refused, not allocated.
  std::string claim = bmp(noise_frames(1, 1, 1, 5)[0]);
  claim.replace(18, 8, le32(30000) + le32(30000));
  write_file(dir / "bomb.bmp", claim);
  EXPECT_TRUE(ThrowsError([&] { read_image(dir / "bomb.bmp"); }, ErrorKind::Format, {"bomb.bmp"}));
}

TEST(ImageReader, PixelLimitBoundary) {
  SKIP_WITHOUT_FFMPEG();
  ImageReadOptions o;
  o.max_pixels = 32 * 24;
  EXPECT_EQ(read_image(data_path("io/png_rgb.png"), o).sizes(), (at::IntArrayRef{24, 32, 3}));
  EXPECT_EQ(read_image(data_path("io/jpeg_420.jpg"), o).sizes(), (at::IntArrayRef{24, 32, 3}));
  o.max_pixels = 32 * 24 - 1;
  EXPECT_TRUE(ThrowsError([&] { read_image(data_path("io/png_rgb.png"), o); }, ErrorKind::Format, {"32x24", "767"}));
  EXPECT_TRUE(ThrowsError([&] { read_image(data_path("io/jpeg_420.jpg"), o); }, ErrorKind::Format, {"32x24"}));
  EXPECT_TRUE(ThrowsError([&] { read_image(data_path("io/webp_lossy.webp"), o); }, ErrorKind::Format, {"32x24"}));
  o.max_pixels = 0;
  EXPECT_TRUE(ThrowsError([&] { read_image(data_path("io/png_rgb.png"), o); }, ErrorKind::InvalidArgument,
                          {"max_pixels"}));
}

TEST(ImageReader, MissingEmptyCorruptAndNonImageFiles) {
  SKIP_WITHOUT_FFMPEG();
  TempDir dir;
  EXPECT_TRUE(ThrowsError([&] { read_image(dir / "none.png"); }, ErrorKind::NotFound, {"none.png", "no such"}));
  EXPECT_TRUE(ThrowsError([&] { read_image(dir.path()); }, ErrorKind::Format, {"directory"}));
  write_file(dir / "empty.png", "");
  EXPECT_TRUE(ThrowsError([&] { read_image(dir / "empty.png"); }, ErrorKind::Format, {"empty.png", "empty"}));
  write_file(dir / "text.png", "this is not an image at all, just some text\n");
  EXPECT_TRUE(ThrowsError([&] { read_image(dir / "text.png"); }, ErrorKind::Format, {"text.png"}));
  write_file(dir / "notes.txt", "hello\nworld\n");
  EXPECT_TRUE(ThrowsError([&] { read_image(dir / "notes.txt"); }, ErrorKind::Format, {"notes.txt"}));

  const std::string png = read_file(data_path("io/png_rgb.png"));
  write_file(dir / "cut.png", png.substr(0, png.size() / 2));
  EXPECT_TRUE(ThrowsError([&] { read_image(dir / "cut.png"); }, ErrorKind::Format, {"cut.png"}));
  std::string flipped = png;
  flipped[flipped.size() / 2] ^= 0x55;  // inside the IDAT data: its CRC no longer matches
  write_file(dir / "flipped.png", flipped);
  EXPECT_TRUE(ThrowsError([&] { read_image(dir / "flipped.png"); }, ErrorKind::Format, {"flipped.png"}));
  const std::string jpg = read_file(data_path("io/jpeg_444.jpg"));
  write_file(dir / "cut.jpg", jpg.substr(0, jpg.size() / 2));
  EXPECT_TRUE(ThrowsError([&] { read_image(dir / "cut.jpg"); }, ErrorKind::Format, {"cut.jpg"}));
  write_file(dir / "header_only.png", png.substr(0, 33));  // signature + IHDR, nothing else
  EXPECT_TRUE(ThrowsError([&] { read_image(dir / "header_only.png"); }, ErrorKind::Format, {"header_only.png"}));

  gallop::engine::write_mp4(dir / "clip.mp4", gallop::testing::moving_pattern(2, 16, 16));
  EXPECT_TRUE(ThrowsError([&] { read_image(dir / "clip.mp4"); }, ErrorKind::Format, {"clip.mp4", "not an image"}));
}

TEST(ImageIo, WithoutFfmpegEveryFunctionSaysSo) {
  if (gallop::engine::media_io_available()) GTEST_SKIP() << "this build has FFmpeg";
  TempDir dir;
  const at::Tensor img = noise_frames(1, 4, 4, 1);  // [1, 4, 4, 3]
  EXPECT_TRUE(ThrowsError([&] { write_png(dir / "a.png", img[0]); }, ErrorKind::Unsupported, {"no FFmpeg"}));
  EXPECT_TRUE(ThrowsError([&] { write_png_frames(dir / "f", img); }, ErrorKind::Unsupported, {"no FFmpeg"}));
  EXPECT_TRUE(ThrowsError([&] { read_image(data_path("io/png_rgb.png")); }, ErrorKind::Unsupported, {"no FFmpeg"}));
  EXPECT_TRUE(list_dir(dir.path()).empty());
}

}  // namespace

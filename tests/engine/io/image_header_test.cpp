// Header-only size probe (engine/io/image_header.h). Compares the size read from each PIL-made
// fixture's header with the size PIL decoded (the shape of its expected pixels), and checks
// crafted headers: exact integers, no tolerance. Cut-short or foreign headers must give nullopt,
// never a made-up size.
#include <gtest/gtest.h>

#include <string>

#include "engine/io/image_header.h"
#include "engine/weights/safetensors.h"
#include "tests/engine/io/media_test_util.h"
#include "tests/testing/test_env.h"

using gallop::engine::read_image_header_size;

namespace {

std::optional<gallop::engine::ImageHeaderSize> probe(const std::string& bytes) {
  return read_image_header_size(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

TEST(ImageHeader, FixtureSizesMatchPil) {
  const auto expected =
      gallop::engine::SafetensorsFile::open(gallop::testing::data_path("io/expected_rgb.safetensors"));
  for (const auto& entry : expected->entries()) {
    const std::string bytes = gallop::testing::read_file(gallop::testing::data_path("io/" + entry.name));
    const auto size = probe(bytes);
    ASSERT_TRUE(size.has_value()) << entry.name;
    EXPECT_EQ(size->height, entry.shape[0]) << entry.name;
    EXPECT_EQ(size->width, entry.shape[1]) << entry.name;
    const std::string ext = entry.name.substr(entry.name.find('.') + 1);
    const std::string format = size->format;
    EXPECT_EQ(format, ext == "png" ? "PNG" : ext == "jpg" ? "JPEG" : "WebP") << entry.name;
  }
}

TEST(ImageHeader, CraftedHeaders) {
  // JPEG: standalone markers and fill bytes before a progressive SOF2.
  const std::string jpeg = std::string("\xFF\xD8\xFF\xFF\xE1\x00\x04\xAB\xCD", 9) +
                           std::string("\xFF\xC2\x00\x0B\x08\x01\x2C\x02\x58\x01\x01\x11\x00", 13);
  auto s = probe(jpeg);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->width, 600);
  EXPECT_EQ(s->height, 300);
  // DHT (C4) is not a frame header and must be skipped.
  const std::string dht_first = std::string("\xFF\xD8\xFF\xC4\x00\x04\x00\x00", 8) +
                                std::string("\xFF\xC0\x00\x0B\x08\x00\x10\x00\x20\x01\x01\x11\x00", 13);
  s = probe(dht_first);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->width, 32);
  EXPECT_EQ(s->height, 16);
  // Height 0 (deferred to DNL) and SOS before any frame header: unknown.
  EXPECT_FALSE(probe(std::string("\xFF\xD8\xFF\xC0\x00\x0B\x08\x00\x00\x00\x20\x01\x01\x11\x00", 15)).has_value());
  EXPECT_FALSE(probe(std::string("\xFF\xD8\xFF\xDA\x00\x02", 6)).has_value());
  // WebP lossy: frame tag, start code, 14-bit sizes (upper 2 bits are scaling, ignored).
  std::string vp8 = std::string("RIFF\x00\x00\x00\x00WEBPVP8 \x00\x00\x00\x00", 20) +
                    std::string("\x00\x00\x00\x9D\x01\x2A\x40\xC1\x10\x40", 10);
  s = probe(vp8);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->width, 0x0140);
  EXPECT_EQ(s->height, 0x0010);
  // WebP lossless: 0x2F, then (w-1) and (h-1) as 14-bit little-endian fields.
  const uint32_t bits = (99u) | (49u << 14);
  std::string vp8l = std::string("RIFF\x00\x00\x00\x00WEBPVP8L\x00\x00\x00\x00\x2F", 21) +
                     std::string{static_cast<char>(bits), static_cast<char>(bits >> 8), static_cast<char>(bits >> 16),
                                 static_cast<char>(bits >> 24)} +
                     std::string(5, '\0');
  s = probe(vp8l);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->width, 100);
  EXPECT_EQ(s->height, 50);
}

TEST(ImageHeader, CutShortOrForeignGivesNothing) {
  const std::string png = gallop::testing::read_file(gallop::testing::data_path("io/png_rgb.png"));
  for (size_t n = 0; n < 24; ++n) EXPECT_FALSE(probe(png.substr(0, n)).has_value()) << n;
  EXPECT_TRUE(probe(png.substr(0, 24)).has_value());
  const std::string jpg = gallop::testing::read_file(gallop::testing::data_path("io/jpeg_420.jpg"));
  size_t first_ok = 0;
  for (size_t n = 0; n <= jpg.size() && !first_ok; ++n)
    if (probe(jpg.substr(0, n))) first_ok = n;
  ASSERT_GT(first_ok, 4u);
  EXPECT_LT(first_ok, jpg.size());
  EXPECT_FALSE(probe("GIF89a\x10\x00\x10\x00").has_value());
  EXPECT_FALSE(probe(std::string(64, '\0')).has_value());
  EXPECT_FALSE(probe("BM").has_value());
}

}  // namespace

// Header-only size probe for PNG, JPEG and WebP (see image_header.h). Layouts:
//   PNG : 8-byte signature, then the IHDR chunk: length, "IHDR", width and height (32-bit BE).
//   JPEG: SOI (FFD8), then marker segments FFxx + 16-bit BE length; the frame header SOFn
//         (C0..CF except C4 DHT, C8 JPG, CC DAC) holds precision, height, width (16-bit BE).
//   WebP: "RIFF" size "WEBP", then the first chunk: "VP8 " (lossy: 3-byte frame tag, start code
//         9D 01 2A, 14-bit LE width and height), "VP8L" (lossless: 0x2F, then width-1 and
//         height-1 as 14-bit fields), or "VP8X" (extended: 24-bit LE canvas width-1, height-1).
#include "engine/io/image_header.h"

#include <cstring>

namespace gallop::engine {

namespace {

uint32_t be16(const uint8_t* p) { return (uint32_t{p[0]} << 8) | p[1]; }
uint32_t be32(const uint8_t* p) { return (be16(p) << 16) | be16(p + 2); }
uint32_t le16(const uint8_t* p) { return uint32_t{p[0]} | (uint32_t{p[1]} << 8); }
uint32_t le24(const uint8_t* p) { return le16(p) | (uint32_t{p[2]} << 16); }
uint32_t le32(const uint8_t* p) { return le24(p) | (uint32_t{p[3]} << 24); }

std::optional<ImageHeaderSize> png_size(const uint8_t* d, size_t n) {
  static const uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (n < 24 || std::memcmp(d, kSignature, 8) != 0 || std::memcmp(d + 12, "IHDR", 4) != 0) return std::nullopt;
  return ImageHeaderSize{be32(d + 16), be32(d + 20), "PNG"};
}

bool is_jpeg_frame_header(uint8_t marker) {
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

std::optional<ImageHeaderSize> jpeg_size(const uint8_t* d, size_t n) {
  if (n < 4 || d[0] != 0xFF || d[1] != 0xD8) return std::nullopt;
  size_t i = 2;
  while (i + 1 < n) {
    if (d[i] != 0xFF) return std::nullopt;  // not at a marker: malformed
    const uint8_t marker = d[i + 1];
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    i += 2;
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;  // TEM, RSTn, SOI: no length
    if (marker == 0xD9 || marker == 0xDA) return std::nullopt;          // EOI / SOS before any frame header
    if (i + 2 > n) return std::nullopt;
    const size_t length = be16(d + i);
    if (length < 2) return std::nullopt;
    if (is_jpeg_frame_header(marker)) {
      if (i + 7 > n || length < 7) return std::nullopt;
      const uint32_t height = be16(d + i + 3);
      const uint32_t width = be16(d + i + 5);
      if (height == 0) return std::nullopt;  // defined later by a DNL marker
      return ImageHeaderSize{width, height, "JPEG"};
    }
    i += length;
  }
  return std::nullopt;
}

std::optional<ImageHeaderSize> webp_size(const uint8_t* d, size_t n) {
  if (n < 30 || std::memcmp(d, "RIFF", 4) != 0 || std::memcmp(d + 8, "WEBP", 4) != 0) return std::nullopt;
  const uint8_t* chunk = d + 12;
  const uint8_t* data = d + 20;
  if (std::memcmp(chunk, "VP8 ", 4) == 0) {
    if (data[3] != 0x9D || data[4] != 0x01 || data[5] != 0x2A) return std::nullopt;
    return ImageHeaderSize{le16(data + 6) & 0x3FFF, le16(data + 8) & 0x3FFF, "WebP"};
  }
  if (std::memcmp(chunk, "VP8L", 4) == 0) {
    if (data[0] != 0x2F) return std::nullopt;
    const uint32_t bits = le32(data + 1);
    return ImageHeaderSize{(bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, "WebP"};
  }
  if (std::memcmp(chunk, "VP8X", 4) == 0) {
    return ImageHeaderSize{int64_t{le24(data + 4)} + 1, int64_t{le24(data + 7)} + 1, "WebP"};
  }
  return std::nullopt;
}

}  // namespace

std::optional<ImageHeaderSize> read_image_header_size(const uint8_t* data, size_t size) {
  if (auto s = png_size(data, size)) return s;
  if (auto s = jpeg_size(data, size)) return s;
  return webp_size(data, size);
}

}  // namespace gallop::engine

// The size an image file declares in its header, read without decoding any pixel data, so that
// a decompression bomb (a tiny file claiming a huge size) is refused before anything is
// allocated for it. Pure byte parsing: no FFmpeg.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace gallop::engine {

struct ImageHeaderSize {
  int64_t width = 0;
  int64_t height = 0;
  const char* format = "";  // "PNG", "JPEG" or "WebP"
};

// PNG (IHDR), JPEG (the first SOFn segment) and WebP (VP8, VP8L or VP8X) headers. nullopt for
// other formats, for a header cut short, and for a JPEG whose height is deferred to a DNL marker.
std::optional<ImageHeaderSize> read_image_header_size(const uint8_t* data, size_t size);

}  // namespace gallop::engine

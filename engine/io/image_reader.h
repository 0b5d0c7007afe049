// Still-image input (the animate / image-to-video start frame) through FFmpeg: PNG, JPEG, WebP,
// BMP, TIFF, GIF (first frame) and whatever else FFmpeg's image demuxers decode.
//
// Output is packed 8-bit RGB, aiming at what the reference gets from PIL's
// `Image.open(path).convert("RGB")`:
//  * alpha is discarded, not composited over a background (the colour channels as stored);
//  * PNG, BMP, lossless WebP, grey and palette images: exactly PIL's pixels;
//  * JPEG: chroma upsampled with libjpeg's filter (see rgb_converter.h), so only the IDCT's
//    rounding differs from PIL (a level or two on a few pixels); lossy WebP comes close too.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>

namespace gallop::engine {

// 64 Mi pixels (8192 x 8192): far above any video size the models take, far below an allocation
// that could hurt.
constexpr int64_t kDefaultMaxImagePixels = int64_t{1} << 26;

struct ImageReadOptions {
  // Images of more pixels (width x height) are refused. PNG, JPEG and WebP are refused from
  // their header, before any decoding; for other formats FFmpeg's decoder refuses sizes over
  // about twice the limit before allocating a frame, and the exact limit is checked after.
  int64_t max_pixels = kDefaultMaxImagePixels;
};

// Reads the first image of `path` as [H, W, 3] uint8 RGB on the CPU.
// Throws gallop::Error: NotFound (no such file), Format (empty, not an image, corrupt, or over
// the pixel limit; the message names the file), Unsupported (no FFmpeg), InvalidArgument (bad
// options).
at::Tensor read_image(const std::filesystem::path& path, const ImageReadOptions& options = {});

}  // namespace gallop::engine

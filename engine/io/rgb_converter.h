// Internal to engine/io: decoded frames of any pixel format -> packed RGB24 tensors.
//
//  * RGB24 frames are copied; RGBA / palette / grey ones are expanded exactly by swscale; alpha is
//    discarded, not composited (what PIL's Image.convert("RGB") does).
//  * Subsampled chroma is upsampled by one of two filters (ChromaFilter):
//    - Libjpeg, for still images: for 8-bit 4:2:0 and 4:2:2 (JPEG, lossy WebP), libjpeg's
//      "fancy" triangle filter, which PIL's JPEG decoder applies: 3/4 of the nearer and 1/4 of
//      the farther chroma sample in each subsampled direction, centred siting, edges repeated,
//      libjpeg's rounding. JPEG then decodes within an IDCT's rounding of PIL (measured in
//      tests/engine/io). Other layouts fall back to Bicubic.
//    - Bicubic, for video: swscale's bicubic interpolation, the sharper of the two; it undoes
//      the (bicubic) chroma downsampling of our writer and of the ffmpeg command line best.
//  * YUV -> RGB uses the matrix and range the frame is tagged with (untagged: BT.601, limited
//    range unless the format is a full-range "yuvj" one) with swscale's accurate rounding.
#pragma once

#ifdef GALLOP_HAVE_FFMPEG

#include <ATen/ATen.h>

#include <string>

#include "engine/io/ffmpeg_support.h"

namespace gallop::engine::media {

enum class ChromaFilter { Libjpeg, Bicubic };

// Keeps its SwsContext and buffers between frames of the same format, size and colour tags.
class RgbConverter {
 public:
  explicit RgbConverter(ChromaFilter filter) : filter_(filter) {}
  at::Tensor convert(const AVFrame* frame, const std::string& file);  // [H, W, 3] uint8

 private:
  const AVFrame* upsample_chroma(const AVFrame* frame, const std::string& file);

  ChromaFilter filter_;
  FramePtr yuv444_;  // chroma-upsampled copy of the last 4:2:x frame
  SwsPtr sws_;
  FramePtr rgb_;
  int width_ = 0;
  int height_ = 0;
  int format_ = -1;
  int range_ = -1;
  int colorspace_ = -1;
};

}  // namespace gallop::engine::media

#endif  // GALLOP_HAVE_FFMPEG

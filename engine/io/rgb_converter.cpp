// Decoded frame -> RGB24 conversion with libjpeg-style chroma upsampling (see rgb_converter.h).
#include "engine/io/rgb_converter.h"

#ifdef GALLOP_HAVE_FFMPEG

#include <algorithm>
#include <cstring>
#include <vector>

extern "C" {
#include <libavutil/pixdesc.h>
}

namespace gallop::engine::media {

namespace {

// swscale's name for the matrix a frame is tagged with; untagged means BT.601, as in FFmpeg.
int sws_colorspace(AVColorSpace cs) {
  switch (cs) {
    case AVCOL_SPC_BT709: return SWS_CS_ITU709;
    case AVCOL_SPC_FCC: return SWS_CS_FCC;
    case AVCOL_SPC_SMPTE240M: return SWS_CS_SMPTE240M;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL: return SWS_CS_BT2020;
    default: return SWS_CS_ITU601;
  }
}

bool is_yuv(const AVPixFmtDescriptor* d) {
  return !(d->flags & AV_PIX_FMT_FLAG_RGB) && !(d->flags & AV_PIX_FMT_FLAG_PAL) && d->nb_components >= 3;
}

bool is_full_range_format(AVPixelFormat f) {
  return f == AV_PIX_FMT_YUVJ420P || f == AV_PIX_FMT_YUVJ422P || f == AV_PIX_FMT_YUVJ444P ||
         f == AV_PIX_FMT_YUVJ440P || f == AV_PIX_FMT_YUVJ411P;
}

// One output row of libjpeg's h2 fancy upsampling from per-column sums `col` (each sum is
// `scale` times a chroma value): outputs 2*n samples, 3:1 weights towards the nearer neighbour,
// and libjpeg's alternating rounding (bias `round_even` on even outputs, `round_odd` on odd).
void upsample_row_h2(const int* col, int n, int shift, int round_even, int round_odd, uint8_t* out) {
  if (n == 1) {
    out[0] = static_cast<uint8_t>((col[0] * 4 + round_even) >> shift);
    out[1] = static_cast<uint8_t>((col[0] * 4 + round_odd) >> shift);
    return;
  }
  out[0] = static_cast<uint8_t>((col[0] * 4 + round_even) >> shift);
  out[1] = static_cast<uint8_t>((col[0] * 3 + col[1] + round_odd) >> shift);
  for (int k = 1; k < n - 1; ++k) {
    out[2 * k] = static_cast<uint8_t>((col[k] * 3 + col[k - 1] + round_even) >> shift);
    out[2 * k + 1] = static_cast<uint8_t>((col[k] * 3 + col[k + 1] + round_odd) >> shift);
  }
  out[2 * n - 2] = static_cast<uint8_t>((col[n - 1] * 3 + col[n - 2] + round_even) >> shift);
  out[2 * n - 1] = static_cast<uint8_t>((col[n - 1] * 4 + round_odd) >> shift);
}

}  // namespace

const AVFrame* RgbConverter::upsample_chroma(const AVFrame* frame, const std::string& file) {
  const auto format = static_cast<AVPixelFormat>(frame->format);
  const bool v2 = format == AV_PIX_FMT_YUV420P || format == AV_PIX_FMT_YUVJ420P;  // else 4:2:2
  const int w = frame->width;
  const int h = frame->height;
  const AVPixelFormat out_format = is_full_range_format(format) ? AV_PIX_FMT_YUVJ444P : AV_PIX_FMT_YUV444P;
  if (!yuv444_ || yuv444_->width != w || yuv444_->height != h || yuv444_->format != out_format)
    yuv444_ = alloc_frame(w, h, out_format, file);
  check_av(av_frame_make_writable(yuv444_.get()), ErrorKind::OutOfMemory, file, "cannot allocate a frame");
  yuv444_->color_range = frame->color_range;
  yuv444_->colorspace = frame->colorspace;
  for (int y = 0; y < h; ++y)
    std::memcpy(yuv444_->data[0] + static_cast<ptrdiff_t>(y) * yuv444_->linesize[0],
                frame->data[0] + static_cast<ptrdiff_t>(y) * frame->linesize[0], static_cast<size_t>(w));

  const int cw = (w + 1) / 2;
  const int ch = v2 ? (h + 1) / 2 : h;
  std::vector<int> col(static_cast<size_t>(cw));
  std::vector<uint8_t> row(static_cast<size_t>(2 * cw));
  for (int plane = 1; plane <= 2; ++plane) {
    const uint8_t* in = frame->data[plane];
    const ptrdiff_t in_stride = frame->linesize[plane];
    for (int y = 0; y < h; ++y) {
      if (v2) {
        // h2v2: column sums 3 * nearer row + farther row (the row above for even output rows,
        // below for odd ones; the image edge repeats its row), then >> 4 with biases 8 and 7.
        const int c = y / 2;
        const int other = (y % 2 == 0) ? std::max(c - 1, 0) : std::min(c + 1, ch - 1);
        const uint8_t* near = in + c * in_stride;
        const uint8_t* far = in + other * in_stride;
        for (int k = 0; k < cw; ++k) col[k] = near[k] * 3 + far[k];
        upsample_row_h2(col.data(), cw, 4, 8, 7, row.data());
      } else {
        // h2v1: the samples themselves, then >> 2 with biases 1 and 2.
        const uint8_t* src = in + y * in_stride;
        for (int k = 0; k < cw; ++k) col[k] = src[k];
        upsample_row_h2(col.data(), cw, 2, 1, 2, row.data());
      }
      std::memcpy(yuv444_->data[plane] + static_cast<ptrdiff_t>(y) * yuv444_->linesize[plane], row.data(),
                  static_cast<size_t>(w));
    }
  }
  return yuv444_.get();
}

at::Tensor RgbConverter::convert(const AVFrame* frame, const std::string& file) {
  const int w = frame->width;
  const int h = frame->height;
  at::Tensor out = at::empty({h, w, 3}, at::kByte);  // [H, W, 3]
  uint8_t* dst = out.data_ptr<uint8_t>();
  const size_t row_bytes = static_cast<size_t>(w) * 3;

  if (frame->format == AV_PIX_FMT_RGB24) {  // already packed RGB: copy the rows
    for (int y = 0; y < h; ++y)
      std::memcpy(dst + y * row_bytes, frame->data[0] + static_cast<ptrdiff_t>(y) * frame->linesize[0], row_bytes);
    return out;
  }
  const AVFrame* src = frame;
  if (filter_ == ChromaFilter::Libjpeg) {
    switch (frame->format) {
      case AV_PIX_FMT_YUV420P:
      case AV_PIX_FMT_YUVJ420P:
      case AV_PIX_FMT_YUV422P:
      case AV_PIX_FMT_YUVJ422P:
        src = upsample_chroma(frame, file);
        break;
      default:
        break;
    }
  }

  const auto* desc = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(src->format));
  GALLOP_CHECK(desc, Format, file, ": decoded frames have an unknown pixel format (", src->format, ")");
  if (!sws_ || w != width_ || h != height_ || src->format != format_ || src->color_range != range_ ||
      src->colorspace != colorspace_) {
    // Chroma that is still subsampled here is interpolated (bicubic, full horizontal chroma)
    // rather than replicated; accurate rounding in the matrix step.
    const int flags = SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT;
    sws_.reset(sws_getContext(w, h, static_cast<AVPixelFormat>(src->format), w, h, AV_PIX_FMT_RGB24, flags, nullptr,
                              nullptr, nullptr));
    GALLOP_CHECK(sws_, Unsupported, file, ": cannot convert pixel format ", desc->name, " to RGB");
    if (is_yuv(desc)) {
      const bool full =
          src->color_range == AVCOL_RANGE_JPEG || is_full_range_format(static_cast<AVPixelFormat>(src->format));
      // brightness 0, contrast and saturation 1.0 (16.16 fixed point)
      const int set = sws_setColorspaceDetails(sws_.get(), sws_getCoefficients(sws_colorspace(src->colorspace)),
                                               full ? 1 : 0, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16,
                                               1 << 16);
      GALLOP_CHECK(set >= 0, Unsupported, file, ": cannot set up the YUV -> RGB matrix for ", desc->name);
    }
    rgb_ = alloc_frame(w, h, AV_PIX_FMT_RGB24, file);
    width_ = w;
    height_ = h;
    format_ = src->format;
    range_ = src->color_range;
    colorspace_ = src->colorspace;
  }
  check_av(av_frame_make_writable(rgb_.get()), ErrorKind::OutOfMemory, file, "cannot allocate an RGB frame");
  check_av(sws_scale(sws_.get(), reinterpret_cast<const uint8_t* const*>(src->data), src->linesize, 0, h, rgb_->data,
                     rgb_->linesize),
           ErrorKind::Format, file, std::string("cannot convert ") + desc->name + " to RGB");
  for (int y = 0; y < h; ++y)
    std::memcpy(dst + y * row_bytes, rgb_->data[0] + static_cast<ptrdiff_t>(y) * rgb_->linesize[0], row_bytes);
  return out;
}

}  // namespace gallop::engine::media

#endif  // GALLOP_HAVE_FFMPEG

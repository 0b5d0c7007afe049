// Demux + decode loop over libavformat/libavcodec (see media_decoder.h).
#include "engine/io/media_decoder.h"

#ifdef GALLOP_HAVE_FFMPEG

#include <algorithm>
#include <limits>

namespace gallop::engine::media {

namespace {
// More than the padding FFmpeg adds around any frame of a size near the limit.
constexpr int64_t kDecoderPaddingPixels = int64_t{1} << 20;
}  // namespace

void check_pixel_limit(const std::string& file, const char* kind, int64_t width, int64_t height, int64_t max_pixels,
                       const char* source) {
  if (max_pixels <= 0) return;
  if (width <= max_pixels / std::max<int64_t>(height, 1)) return;
  const bool fits = height <= 0 || width <= std::numeric_limits<int64_t>::max() / height;
  fail(ErrorKind::Format, file, ": ", source, " says the ", kind, " is ", width, "x", height, " (",
       fits ? std::to_string(width * height) : std::string("over 2^63"), " pixels), more than the limit of ",
       max_pixels, " pixels");
}

MediaDecoder::MediaDecoder(const std::string& file, const DecoderSetup& setup) : file_(file), setup_(setup) {
  route_ffmpeg_log();
  // pattern_type=none: the image2 demuxer takes the name literally (no "%d" or glob sequences).
  Dictionary format_opts;
  format_opts.set("pattern_type", "none");
  AVFormatContext* fc = nullptr;
  const int opened = avformat_open_input(&fc, file.c_str(), nullptr, &format_opts.entries);  // frees fc on failure
  if (opened == AVERROR(ENOENT)) fail_av(ErrorKind::NotFound, file, "cannot open", opened);
  if (opened == AVERROR(EACCES) || opened == AVERROR(EIO)) fail_av(ErrorKind::Io, file, "cannot read", opened);
  check_av(opened, ErrorKind::Format, file, std::string("not a ") + setup.kind + " file FFmpeg can read");
  format_.reset(fc);
  if (setup.find_stream_info)
    check_av(avformat_find_stream_info(format_.get(), nullptr), ErrorKind::Format, file,
             std::string("cannot read the ") + setup.kind + " stream parameters");

  const AVCodec* decoder = nullptr;
  stream_index_ = av_find_best_stream(format_.get(), AVMEDIA_TYPE_VIDEO, -1, -1, &decoder, 0);
  if (stream_index_ == AVERROR_DECODER_NOT_FOUND)
    fail(ErrorKind::Unsupported, file, ": this FFmpeg cannot decode its ", setup.kind, " codec");
  check_av(stream_index_, ErrorKind::Format, file, std::string("not a ") + setup.kind + " (no picture stream)");
  const AVCodecParameters* par = stream()->codecpar;
  if (par->width > 0 && par->height > 0)
    check_pixel_limit(file, setup.kind, par->width, par->height, setup.max_pixels, "the container");

  codec_.reset(avcodec_alloc_context3(decoder));
  GALLOP_CHECK(codec_, OutOfMemory, file, ": cannot allocate a decoder");
  check_av(avcodec_parameters_to_context(codec_.get(), par), ErrorKind::Format, file, "bad stream parameters");
  // Backstop for formats whose header we do not read ourselves: the decoder checks every size it
  // parses against max_pixels before allocating a frame. FFmpeg counts the padded buffer size
  // (dimensions rounded up for its SIMD), so the guard gets slack; the exact limit is checked on
  // the decoded frame.
  if (setup.max_pixels > 0) {
    const int64_t most = std::numeric_limits<int64_t>::max();
    codec_->max_pixels = setup.max_pixels > (most - kDecoderPaddingPixels) / 2
                             ? most
                             : 2 * setup.max_pixels + kDecoderPaddingPixels;
  }
  if (setup.strict) codec_->err_recognition |= AV_EF_CRCCHECK | AV_EF_EXPLODE;
  codec_->thread_count = setup.threads;
  codec_->pkt_timebase = stream()->time_base;
  check_av(avcodec_open2(codec_.get(), decoder, nullptr), ErrorKind::Format, file,
           std::string("cannot open the ") + decoder->name + " decoder");
  packet_ = alloc_packet();
  frame_ = alloc_frame();
}

void MediaDecoder::fail_decode(int averr) const {
  fail_av(ErrorKind::Format, file_, std::string("cannot decode the ") + setup_.kind + " (" + codec_->codec->name + ")",
          averr);
}

const AVFrame* MediaDecoder::next_frame() {
  for (;;) {
    const int got = avcodec_receive_frame(codec_.get(), frame_.get());
    if (got == 0) {
      check_pixel_limit(file_, setup_.kind, frame_->width, frame_->height, setup_.max_pixels, "the decoder");
      return frame_.get();
    }
    if (got == AVERROR_EOF || (got == AVERROR(EAGAIN) && draining_)) return nullptr;
    if (got != AVERROR(EAGAIN)) fail_decode(got);

    const int read = av_read_frame(format_.get(), packet_.get());
    if (read == AVERROR_EOF) {
      draining_ = true;
      const int sent = avcodec_send_packet(codec_.get(), nullptr);
      if (sent < 0 && sent != AVERROR_EOF) fail_decode(sent);
      continue;
    }
    check_av(read, ErrorKind::Format, file_, std::string("cannot read the ") + setup_.kind + " data");
    if (packet_->stream_index != stream_index_) {
      av_packet_unref(packet_.get());
      continue;
    }
    const int sent = avcodec_send_packet(codec_.get(), packet_.get());
    av_packet_unref(packet_.get());
    if (sent < 0) fail_decode(sent);
  }
}

}  // namespace gallop::engine::media

#endif  // GALLOP_HAVE_FFMPEG

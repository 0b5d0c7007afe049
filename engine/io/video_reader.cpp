// Video reader over libavformat/libavcodec (see video_reader.h).
#include "engine/io/video_reader.h"

#include <system_error>
#include <vector>

#include "engine/core/error.h"
#include "engine/io/ffmpeg_support.h"
#include "engine/io/media_decoder.h"

#ifdef GALLOP_HAVE_FFMPEG
extern "C" {
#include <libavutil/pixdesc.h>
}
#endif

namespace gallop::engine {

namespace fs = std::filesystem;

DecodedVideo read_video(const fs::path& path) {
#ifdef GALLOP_HAVE_FFMPEG
  const std::string file = path.string();
  std::error_code ec;
  GALLOP_CHECK(fs::exists(path, ec), NotFound, file, ": no such video file");
  GALLOP_CHECK(!fs::is_directory(path, ec), Format, file, ": is a directory, not a video");

  media::DecoderSetup setup;
  setup.kind = "video";
  setup.threads = 0;
  setup.find_stream_info = true;
  media::MediaDecoder decoder(file, setup);
  media::RgbConverter converter(media::ChromaFilter::Bicubic);

  DecodedVideo out;
  std::vector<at::Tensor> frames;  // each [H, W, 3]
  while (const AVFrame* frame = decoder.next_frame()) {
    if (frames.empty()) {
      out.info.width = frame->width;
      out.info.height = frame->height;
      const char* pix = av_get_pix_fmt_name(static_cast<AVPixelFormat>(frame->format));
      out.info.pixel_format = pix ? pix : "unknown";
    }
    GALLOP_CHECK(frame->width == out.info.width && frame->height == out.info.height, Unsupported, file,
                 ": the frame size changes within the video (", out.info.width, "x", out.info.height, " to ",
                 frame->width, "x", frame->height, ")");
    frames.push_back(converter.convert(frame, file));
    const int64_t pts = frame->best_effort_timestamp;
    out.timestamps.push_back(pts == AV_NOPTS_VALUE ? -1.0
                                                   : static_cast<double>(pts) * av_q2d(decoder.stream()->time_base));
  }
  GALLOP_CHECK(!frames.empty(), Format, file, ": the video has no decodable frames");

  const AVStream* stream = decoder.stream();
  AVRational rate = stream->avg_frame_rate;
  if (rate.num <= 0 || rate.den <= 0) rate = stream->r_frame_rate;
  if (rate.num > 0 && rate.den > 0) {
    av_reduce(&rate.num, &rate.den, rate.num, rate.den, 1 << 30);
    out.info.fps = FrameRate(rate.num, rate.den);
  } else {
    out.info.fps = FrameRate(0, 1);  // unknown
  }
  out.info.codec_name = avcodec_get_name(stream->codecpar->codec_id);
  out.info.frame_count = static_cast<int64_t>(frames.size());
  out.frames = at::stack(frames);  // [F, H, W, 3]
  return out;
#else
  media::fail_without_ffmpeg("read video");
#endif
}

}  // namespace gallop::engine

// Internal to engine/io: demux + decode the video stream of a file, frame by frame, with a
// pixel limit enforced before any frame buffer is allocated. Used by the image and video readers.
#pragma once

#ifdef GALLOP_HAVE_FFMPEG

#include <cstdint>
#include <string>

#include "engine/io/ffmpeg_support.h"
#include "engine/io/rgb_converter.h"

namespace gallop::engine::media {

struct DecoderSetup {
  const char* kind = "video";  // "image" or "video", for messages
  int64_t max_pixels = 0;      // 0: no limit of ours (FFmpeg's own still applies)
  bool strict = false;         // corrupt data is an error instead of being concealed
  int threads = 1;             // 0: as many as FFmpeg likes
  bool find_stream_info = false;
};

// Throws gallop::Error(Format) when width x height exceeds max_pixels (> 0).
void check_pixel_limit(const std::string& file, const char* kind, int64_t width, int64_t height, int64_t max_pixels,
                       const char* source);

class MediaDecoder {
 public:
  // Opens the file (which must exist), selects its best video stream, checks the size the
  // container declares against the limit, and opens the decoder.
  MediaDecoder(const std::string& file, const DecoderSetup& setup);

  AVFormatContext* format() const { return format_.get(); }
  AVStream* stream() const { return format_->streams[stream_index_]; }
  AVCodecContext* codec() const { return codec_.get(); }

  // The next decoded frame (valid until the next call), or nullptr after the last one.
  const AVFrame* next_frame();

 private:
  [[noreturn]] void fail_decode(int averr) const;

  std::string file_;
  DecoderSetup setup_;
  InputFormatPtr format_;
  CodecContextPtr codec_;
  PacketPtr packet_;
  FramePtr frame_;
  int stream_index_ = -1;
  bool draining_ = false;
};

}  // namespace gallop::engine::media

#endif  // GALLOP_HAVE_FFMPEG

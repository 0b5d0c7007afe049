// Internal helpers for engine/io (not a public header): RAII owners for every FFmpeg object,
// FFmpeg error codes turned into gallop::Error, FFmpeg's log routed into gallop's, and the RGB24
// input checks that every writer shares.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <string>

#include "engine/core/error.h"

#ifdef GALLOP_HAVE_FFMPEG
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/frame.h>
#include <libswscale/swscale.h>
}
#endif

namespace gallop::engine::media {

// The error every engine/io function throws in a build without FFmpeg.
[[noreturn]] void fail_without_ffmpeg(const char* what);

// Checks that `frames` is a uint8 tensor [F, H, W, 3] with F, H, W >= 1 (throws
// gallop::Error(InvalidArgument) naming `what` and the offending property) and returns it as a
// contiguous CPU tensor.
at::Tensor checked_rgb_frames(const at::Tensor& frames, const std::string& what);  // [F, H, W, 3]

#ifdef GALLOP_HAVE_FFMPEG

struct InputFormatDeleter {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
// An output context owns its AVIOContext when the muxer writes to a file.
struct OutputFormatDeleter {
  void operator()(AVFormatContext* c) const {
    if (c->pb && !(c->oformat->flags & AVFMT_NOFILE)) avio_closep(&c->pb);
    avformat_free_context(c);
  }
};
struct CodecContextDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsDeleter {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
// An options dictionary; FFmpeg functions take `&dict.entries` and leave behind what they did
// not use.
struct Dictionary {
  AVDictionary* entries = nullptr;
  Dictionary() = default;
  Dictionary(const Dictionary&) = delete;
  Dictionary& operator=(const Dictionary&) = delete;
  ~Dictionary() { av_dict_free(&entries); }
  void set(const char* key, const std::string& value) { av_dict_set(&entries, key, value.c_str(), 0); }
  // The first key left over, or "" when every option was used.
  std::string first_unused() const {
    const AVDictionaryEntry* e = av_dict_get(entries, "", nullptr, AV_DICT_IGNORE_SUFFIX);
    return e ? e->key : "";
  }
};

using InputFormatPtr = std::unique_ptr<AVFormatContext, InputFormatDeleter>;
using OutputFormatPtr = std::unique_ptr<AVFormatContext, OutputFormatDeleter>;
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
using SwsPtr = std::unique_ptr<SwsContext, SwsDeleter>;

// The text av_strerror gives for an FFmpeg error code.
std::string av_error_text(int averr);

// Sends FFmpeg's own log lines (warnings and errors only) to gallop's log at Debug level instead
// of stderr, and remembers the last error line of each thread for the next exception message.
// Installed once per process; every engine/io entry point calls it first, which also forgets
// this thread's previous error line.
void route_ffmpeg_log();
// The last FFmpeg error line logged on this thread since the previous call ("" if none).
std::string take_ffmpeg_error();

// Throws gallop::Error(kind, "<file>: <what>: <av_strerror text>[ (FFmpeg: <last error line>)]").
// ENOMEM becomes OutOfMemory whatever `kind` says.
[[noreturn]] void fail_av(ErrorKind kind, const std::string& file, const std::string& what, int averr);

// Throws like fail_av when ret < 0; returns ret otherwise.
inline int check_av(int ret, ErrorKind kind, const std::string& file, const std::string& what) {
  if (ret < 0) fail_av(kind, file, what, ret);
  return ret;
}

// An AVPacket / AVFrame, or gallop::Error(OutOfMemory).
PacketPtr alloc_packet();
FramePtr alloc_frame();
// A frame with its own (padded, aligned) buffer of the given size and format.
FramePtr alloc_frame(int width, int height, AVPixelFormat format, const std::string& file);

// Copies one packed RGB24 image into `dst` (an RGB24 frame of the same size), row by row, so that
// FFmpeg only ever reads our pixels from its own padded buffers.
void copy_rgb_into_frame(const uint8_t* rgb /* [H, W, 3] */, AVFrame* dst);

#endif  // GALLOP_HAVE_FFMPEG

}  // namespace gallop::engine::media

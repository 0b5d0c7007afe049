// RAII helpers, error translation, log routing and input checks shared by engine/io.
#include "engine/io/ffmpeg_support.h"

#include <cstdarg>
#include <cstring>
#include <mutex>

#include "engine/core/log.h"

#ifdef GALLOP_HAVE_FFMPEG
extern "C" {
#include <libavutil/error.h>
#include <libavutil/log.h>
}
#endif

namespace gallop::engine::media {

void fail_without_ffmpeg(const char* what) {
  fail(ErrorKind::Unsupported, "this build of gallop has no FFmpeg, so it cannot ", what,
       " (install the libavformat/libavcodec/libswscale development packages and rebuild)");
}

at::Tensor checked_rgb_frames(const at::Tensor& frames, const std::string& what) {
  GALLOP_CHECK(frames.defined(), InvalidArgument, what, ": no frames (undefined tensor)");
  GALLOP_CHECK(frames.scalar_type() == at::kByte, InvalidArgument, what, ": frames must be uint8 RGB, got ",
               frames.scalar_type());
  GALLOP_CHECK(frames.dim() == 4 && frames.size(3) == 3, InvalidArgument, what,
               ": frames must have shape [F, H, W, 3], got ", frames.sizes());
  GALLOP_CHECK(frames.size(0) >= 1, InvalidArgument, what, ": there are no frames (F = 0)");
  GALLOP_CHECK(frames.size(1) >= 1 && frames.size(2) >= 1, InvalidArgument, what, ": empty frame size ",
               frames.size(2), "x", frames.size(1));
  GALLOP_CHECK(frames.size(1) <= 65536 && frames.size(2) <= 65536, InvalidArgument, what, ": frame size ",
               frames.size(2), "x", frames.size(1), " is too large");
  return frames.to(at::kCPU).contiguous();  // [F, H, W, 3]
}

#ifdef GALLOP_HAVE_FFMPEG

std::string av_error_text(int averr) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  if (av_strerror(averr, buf, sizeof(buf)) < 0) return "FFmpeg error " + std::to_string(averr);
  return buf;
}

namespace {

thread_local std::string t_last_error;

void log_callback(void* avcl, int level, const char* fmt, va_list args) {
  if (level > AV_LOG_WARNING) return;  // info (e.g. x264's statistics), verbose, debug: dropped
  char line[1024];
  int print_prefix = 0;  // FFmpeg's prefix carries an object address; name the component instead
  av_log_format_line2(avcl, level, fmt, args, line, sizeof(line), &print_prefix);
  std::string text = line;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.empty()) return;
  const AVClass* cls = avcl ? *static_cast<const AVClass* const*>(avcl) : nullptr;
  if (cls && cls->item_name) text = std::string(cls->item_name(avcl)) + ": " + text;
  if (level <= AV_LOG_ERROR) t_last_error = text;
  log(LogLevel::Debug, "ffmpeg: " + text);
}

}  // namespace

void route_ffmpeg_log() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_callback(log_callback); });
  t_last_error.clear();
}

std::string take_ffmpeg_error() {
  std::string e;
  e.swap(t_last_error);
  return e;
}

void fail_av(ErrorKind kind, const std::string& file, const std::string& what, int averr) {
  if (averr == AVERROR(ENOMEM)) kind = ErrorKind::OutOfMemory;
  const std::string detail = take_ffmpeg_error();
  fail(kind, file, ": ", what, ": ", av_error_text(averr), detail.empty() ? "" : " (FFmpeg: " + detail + ")");
}

PacketPtr alloc_packet() {
  PacketPtr p(av_packet_alloc());
  GALLOP_CHECK(p, OutOfMemory, "cannot allocate an FFmpeg packet");
  return p;
}

FramePtr alloc_frame() {
  FramePtr f(av_frame_alloc());
  GALLOP_CHECK(f, OutOfMemory, "cannot allocate an FFmpeg frame");
  return f;
}

FramePtr alloc_frame(int width, int height, AVPixelFormat format, const std::string& file) {
  FramePtr f = alloc_frame();
  f->width = width;
  f->height = height;
  f->format = format;
  check_av(av_frame_get_buffer(f.get(), 0), ErrorKind::OutOfMemory, file,
           "cannot allocate a " + std::to_string(width) + "x" + std::to_string(height) + " frame");
  return f;
}

void copy_rgb_into_frame(const uint8_t* rgb /* [H, W, 3] */, AVFrame* dst) {
  const size_t row_bytes = static_cast<size_t>(dst->width) * 3;
  for (int y = 0; y < dst->height; ++y)
    std::memcpy(dst->data[0] + static_cast<ptrdiff_t>(y) * dst->linesize[0], rgb + y * row_bytes, row_bytes);
}

#endif  // GALLOP_HAVE_FFMPEG

}  // namespace gallop::engine::media

// H.264 / MP4 writer over libavformat + libx264, with atomic output (see video_writer.h).
//
// The encoder is set up the way the `ffmpeg` command that the reference runs through imageio sets
// it up (`-f rawvideo -pix_fmt rgb24 -r 16 -i - -an -vcodec libx264 -pix_fmt yuv420p -crf 10`):
// libx264's own codec defaults (keyframe interval, B-frames, rate control), threads "auto", a
// global header for MP4, time base 1/fps, and the same RGB -> YUV conversion (see kSwsFlags).
#include "engine/io/video_writer.h"

#include <array>
#include <utility>

#include "engine/core/atomic_file.h"
#include "engine/io/ffmpeg_support.h"

namespace gallop::engine {

namespace fs = std::filesystem;

#ifdef GALLOP_HAVE_FFMPEG

using namespace media;  // NOLINT(google-build-using-namespace): internal helpers of this folder

namespace {

constexpr std::array<const char*, 10> kX264Presets = {"ultrafast", "superfast", "veryfast", "faster", "fast",
                                                      "medium",    "slow",      "slower",   "veryslow", "placebo"};

void check_options(const std::string& file, int width, int height, const VideoOptions& o) {
  GALLOP_CHECK(width >= 2 && height >= 2 && width <= 16384 && height <= 16384, InvalidArgument, file,
               ": video size ", width, "x", height, " is outside 2x2 .. 16384x16384");
  GALLOP_CHECK(width % 2 == 0 && height % 2 == 0, InvalidArgument, file, ": video size ", width, "x", height,
               " has an odd side; yuv420p H.264 needs an even width and height (crop or pad the frames)");
  GALLOP_CHECK(o.fps.num > 0 && o.fps.den > 0, InvalidArgument, file, ": frame rate ", o.fps.num, "/", o.fps.den,
               " must be positive");
  GALLOP_CHECK(o.fps.value() >= 0.1 && o.fps.value() <= 1000.0, InvalidArgument, file, ": frame rate ",
               o.fps.to_string(), " is outside 0.1 .. 1000 fps");
  GALLOP_CHECK(o.crf >= 0 && o.crf <= 51, InvalidArgument, file, ": CRF ", o.crf, " is outside 0 .. 51");
  bool known = false;
  for (const char* p : kX264Presets) known = known || o.preset == p;
  GALLOP_CHECK(known, InvalidArgument, file, ": unknown x264 preset '", o.preset,
               "' (ultrafast, superfast, veryfast, faster, fast, medium, slow, slower, veryslow, placebo)");
  GALLOP_CHECK(o.pix_fmt == VideoPixelFormat::Yuv420p, InvalidArgument, file, ": unsupported pixel format");
}

// RGB24 -> yuv420p: SWS_BICUBIC is what the ffmpeg command line uses for its automatic
// conversion (fftools sets sws flags "bicubic"), so the YUV planes fed to x264 are the ones the
// reference's ffmpeg computes (the tests check that both decode to identical frames). The matrix
// is swscale's default for RGB -> YUV, BT.601 with limited range (16..235 luma), which is also
// what the stream is tagged with.
constexpr int kSwsFlags = SWS_BICUBIC;

}  // namespace

struct VideoWriter::Impl {
  std::string file;  // the target, for messages
  std::unique_ptr<PendingOutput> pending;
  OutputFormatPtr format;
  CodecContextPtr encoder;
  AVStream* stream = nullptr;
  SwsPtr sws;
  FramePtr rgb;
  FramePtr yuv;
  PacketPtr packet;
  int width = 0;
  int height = 0;
  int64_t next_pts = 0;

  void open(const fs::path& path, int w, int h, const VideoOptions& o);
  void encode_rgb(const uint8_t* rgb /* [H, W, 3] */);
  void send(const AVFrame* frame);  // nullptr flushes
  void finish();
};

void VideoWriter::Impl::open(const fs::path& path, int w, int h, const VideoOptions& o) {
  route_ffmpeg_log();
  file = path.string();
  width = w;
  height = h;
  const AVCodec* codec = avcodec_find_encoder_by_name("libx264");
  GALLOP_CHECK(codec, Unsupported, file, ": this FFmpeg has no libx264 encoder, so it cannot write H.264");

  pending = std::make_unique<PendingOutput>(path);
  const std::string temp = pending->temp_path().string();

  AVFormatContext* fc = nullptr;
  check_av(avformat_alloc_output_context2(&fc, nullptr, "mp4", temp.c_str()), ErrorKind::Internal, file,
           "cannot set up the MP4 muxer");
  format.reset(fc);

  encoder.reset(avcodec_alloc_context3(codec));  // with libx264's own defaults (g=-1, b=0, ...)
  GALLOP_CHECK(encoder, OutOfMemory, file, ": cannot allocate the H.264 encoder");
  const AVRational fps{o.fps.num, o.fps.den};
  encoder->width = w;
  encoder->height = h;
  encoder->pix_fmt = AV_PIX_FMT_YUV420P;
  encoder->time_base = av_inv_q(fps);
  encoder->framerate = fps;
  encoder->color_range = AVCOL_RANGE_MPEG;
  encoder->colorspace = AVCOL_SPC_SMPTE170M;  // BT.601 matrix, as converted below
  encoder->thread_count = 0;                  // "auto", like the ffmpeg command line
  if (format->oformat->flags & AVFMT_GLOBALHEADER) encoder->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

  Dictionary codec_opts;
  codec_opts.set("crf", std::to_string(o.crf));
  codec_opts.set("preset", o.preset);
  check_av(avcodec_open2(encoder.get(), codec, &codec_opts.entries), ErrorKind::Io, file,
           "cannot open the libx264 encoder");
  const std::string unused = codec_opts.first_unused();
  GALLOP_CHECK(unused.empty(), Internal, file, ": libx264 did not accept option '", unused, "'");

  stream = avformat_new_stream(format.get(), nullptr);
  GALLOP_CHECK(stream, OutOfMemory, file, ": cannot add a video stream");
  check_av(avcodec_parameters_from_context(stream->codecpar, encoder.get()), ErrorKind::Internal, file,
           "cannot copy the encoder parameters");
  stream->time_base = encoder->time_base;  // a hint: the muxer picks its own timescale
  stream->avg_frame_rate = fps;
  stream->r_frame_rate = fps;

  check_av(avio_open(&format->pb, temp.c_str(), AVIO_FLAG_WRITE), ErrorKind::Io, file,
           "cannot create the output file " + temp);
  Dictionary mux_opts;
  mux_opts.set("movflags", "+faststart");  // the index (moov) goes before the media data
  check_av(avformat_write_header(format.get(), &mux_opts.entries), ErrorKind::Io, file,
           "cannot write the MP4 header");

  // The RGB frame is our own padded buffer (swscale's SIMD may read past the end of a row).
  rgb = alloc_frame(w, h, AV_PIX_FMT_RGB24, file);
  yuv = alloc_frame(w, h, AV_PIX_FMT_YUV420P, file);
  packet = alloc_packet();
  sws.reset(sws_getContext(w, h, AV_PIX_FMT_RGB24, w, h, AV_PIX_FMT_YUV420P, kSwsFlags, nullptr, nullptr, nullptr));
  GALLOP_CHECK(sws, Internal, file, ": cannot set up the RGB -> yuv420p conversion");
}

void VideoWriter::Impl::encode_rgb(const uint8_t* rgb_pixels /* [H, W, 3] */) {
  // The encoder may still hold references to the previous frame's buffers.
  check_av(av_frame_make_writable(rgb.get()), ErrorKind::OutOfMemory, file, "cannot allocate a frame");
  check_av(av_frame_make_writable(yuv.get()), ErrorKind::OutOfMemory, file, "cannot allocate a frame");
  copy_rgb_into_frame(rgb_pixels, rgb.get());
  check_av(sws_scale(sws.get(), rgb->data, rgb->linesize, 0, height, yuv->data, yuv->linesize), ErrorKind::Internal,
           file, "cannot convert RGB to yuv420p");
  yuv->pts = next_pts;
  yuv->color_range = AVCOL_RANGE_MPEG;
  yuv->colorspace = AVCOL_SPC_SMPTE170M;
  send(yuv.get());
  ++next_pts;
}

void VideoWriter::Impl::send(const AVFrame* frame) {
  check_av(avcodec_send_frame(encoder.get(), frame), ErrorKind::Io, file, "H.264 encoding failed");
  for (;;) {
    const int ret = avcodec_receive_packet(encoder.get(), packet.get());
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
    check_av(ret, ErrorKind::Io, file, "H.264 encoding failed");
    if (packet->duration == 0) packet->duration = 1;  // every frame lasts one tick of 1/fps
    av_packet_rescale_ts(packet.get(), encoder->time_base, stream->time_base);
    packet->stream_index = stream->index;
    // Takes the packet's reference and leaves it blank.
    check_av(av_interleaved_write_frame(format.get(), packet.get()), ErrorKind::Io, file, "cannot write video data");
  }
}

void VideoWriter::Impl::finish() {
  send(nullptr);
  check_av(av_write_trailer(format.get()), ErrorKind::Io, file, "cannot finish the MP4 file");
  check_av(avio_closep(&format->pb), ErrorKind::Io, file, "cannot close the output file");
  pending->commit();
}

VideoWriter::VideoWriter() = default;
VideoWriter::~VideoWriter() = default;
VideoWriter::VideoWriter(VideoWriter&&) noexcept = default;
VideoWriter& VideoWriter::operator=(VideoWriter&&) noexcept = default;

void VideoWriter::open(const fs::path& path, int width, int height, const VideoOptions& options) {
  GALLOP_CHECK(!impl_, InvalidArgument, path.string(), ": this VideoWriter is already open on ", impl_->file);
  check_output_writable(path);
  check_options(path.string(), width, height, options);
  auto impl = std::make_unique<Impl>();
  impl->open(path, width, height, options);  // on failure, ~Impl frees everything and the temp file
  impl_ = std::move(impl);
}

void VideoWriter::add_frame(const at::Tensor& frame) {
  GALLOP_CHECK(frame.defined(), InvalidArgument, "VideoWriter::add_frame: undefined frame tensor");
  GALLOP_CHECK(frame.dim() == 3, InvalidArgument, "VideoWriter::add_frame: a frame must have shape [H, W, 3], got ",
               frame.sizes());
  add_frames(frame.unsqueeze(0));
}

void VideoWriter::add_frames(const at::Tensor& frames) {
  GALLOP_CHECK(impl_, InvalidArgument, "VideoWriter::add_frames: the writer is not open");
  const at::Tensor f = media::checked_rgb_frames(frames, impl_->file);  // [F, H, W, 3]
  GALLOP_CHECK(f.size(1) == impl_->height && f.size(2) == impl_->width, InvalidArgument, impl_->file,
               ": frame size ", f.size(2), "x", f.size(1), " differs from the video size ", impl_->width, "x",
               impl_->height);
  const uint8_t* data = f.data_ptr<uint8_t>();
  const int64_t frame_bytes = f.size(1) * f.size(2) * 3;
  try {
    for (int64_t i = 0; i < f.size(0); ++i) impl_->encode_rgb(data + i * frame_bytes);
  } catch (...) {
    impl_.reset();  // removes the temporary file
    throw;
  }
}

void VideoWriter::finish() {
  GALLOP_CHECK(impl_, InvalidArgument, "VideoWriter::finish: the writer is not open");
  std::unique_ptr<Impl> impl = std::move(impl_);  // closed whatever happens
  GALLOP_CHECK(impl->next_pts > 0, InvalidArgument, impl->file, ": no frames were added; no video written");
  impl->finish();
}

int64_t VideoWriter::frames_written() const { return impl_ ? impl_->next_pts : 0; }

#else  // no FFmpeg

struct VideoWriter::Impl {
  std::string file;
};
VideoWriter::VideoWriter() = default;
VideoWriter::~VideoWriter() = default;
VideoWriter::VideoWriter(VideoWriter&&) noexcept = default;
VideoWriter& VideoWriter::operator=(VideoWriter&&) noexcept = default;
void VideoWriter::open(const fs::path&, int, int, const VideoOptions&) {
  media::fail_without_ffmpeg("write MP4 video");
}
void VideoWriter::add_frame(const at::Tensor&) { media::fail_without_ffmpeg("write MP4 video"); }
void VideoWriter::add_frames(const at::Tensor&) { media::fail_without_ffmpeg("write MP4 video"); }
void VideoWriter::finish() { media::fail_without_ffmpeg("write MP4 video"); }
int64_t VideoWriter::frames_written() const { return 0; }

#endif  // GALLOP_HAVE_FFMPEG

void write_mp4(const fs::path& path, const at::Tensor& frames, const VideoOptions& options) {
  if (!media_io_available()) media::fail_without_ffmpeg("write MP4 video");
  const at::Tensor f = media::checked_rgb_frames(frames, path.string());  // [F, H, W, 3]
  VideoWriter writer;
  writer.open(path, static_cast<int>(f.size(2)), static_cast<int>(f.size(1)), options);
  writer.add_frames(f);
  writer.finish();
}

}  // namespace gallop::engine

// PNG writer over FFmpeg's PNG encoder (see image_writer.h).
#include "engine/io/image_writer.h"

#include <cstdio>
#include <string>
#include <system_error>

#include "engine/core/atomic_file.h"
#include "engine/io/ffmpeg_support.h"

namespace gallop::engine {

namespace fs = std::filesystem;

#ifdef GALLOP_HAVE_FFMPEG

namespace {

using namespace media;  // NOLINT(google-build-using-namespace): internal helpers of this folder

// One PNG encoder for a run of same-sized RGB24 images.
class PngEncoder {
 public:
  PngEncoder(int width, int height, const std::string& file) {
    route_ffmpeg_log();
    const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
    GALLOP_CHECK(codec, Unsupported, file, ": this FFmpeg has no PNG encoder");
    encoder_.reset(avcodec_alloc_context3(codec));
    GALLOP_CHECK(encoder_, OutOfMemory, file, ": cannot allocate the PNG encoder");
    encoder_->width = width;
    encoder_->height = height;
    encoder_->pix_fmt = AV_PIX_FMT_RGB24;
    encoder_->time_base = AVRational{1, 1};  // required of every video encoder; unused by PNG
    Dictionary opts;
    opts.set("pred", "mixed");  // per-row best filter: smaller files, same pixels
    check_av(avcodec_open2(encoder_.get(), codec, &opts.entries), ErrorKind::Io, file, "cannot open the PNG encoder");
    frame_ = alloc_frame(width, height, AV_PIX_FMT_RGB24, file);
    packet_ = alloc_packet();
  }

  void write(const uint8_t* rgb /* [H, W, 3] */, const fs::path& path) {
    const std::string file = path.string();
    check_av(av_frame_make_writable(frame_.get()), ErrorKind::OutOfMemory, file, "cannot allocate a frame");
    copy_rgb_into_frame(rgb, frame_.get());
    check_av(avcodec_send_frame(encoder_.get(), frame_.get()), ErrorKind::Io, file, "PNG encoding failed");
    check_av(avcodec_receive_packet(encoder_.get(), packet_.get()), ErrorKind::Io, file, "PNG encoding failed");
    AtomicFileWriter out(path);
    out.write(packet_->data, static_cast<size_t>(packet_->size));
    av_packet_unref(packet_.get());
    out.commit();
  }

 private:
  CodecContextPtr encoder_;
  FramePtr frame_;
  PacketPtr packet_;
};

}  // namespace

void write_png(const fs::path& path, const at::Tensor& image) {
  GALLOP_CHECK(image.defined(), InvalidArgument, path.string(), ": undefined image tensor");
  GALLOP_CHECK(image.dim() == 3, InvalidArgument, path.string(), ": an image must have shape [H, W, 3], got ",
               image.sizes());
  const at::Tensor f = checked_rgb_frames(image.unsqueeze(0), path.string());  // [1, H, W, 3]
  check_output_writable(path);
  PngEncoder encoder(static_cast<int>(f.size(2)), static_cast<int>(f.size(1)), path.string());
  encoder.write(f.data_ptr<uint8_t>(), path);
}

std::vector<fs::path> write_png_frames(const fs::path& dir, const at::Tensor& frames, int64_t first_index) {
  const std::string name = dir.string();
  const at::Tensor f = checked_rgb_frames(frames, name);  // [F, H, W, 3]
  GALLOP_CHECK(first_index >= 0 && first_index + f.size(0) <= 1'000'000, InvalidArgument, name,
               ": frame numbers ", first_index, "..", first_index + f.size(0) - 1, " do not fit in six digits");
  std::error_code ec;
  fs::create_directories(dir, ec);
  GALLOP_CHECK(fs::is_directory(dir), InvalidArgument, name, ": cannot create the output directory",
               ec ? ": " + ec.message() : std::string(" (a file is in the way)"));

  PngEncoder encoder(static_cast<int>(f.size(2)), static_cast<int>(f.size(1)), name);
  const uint8_t* data = f.data_ptr<uint8_t>();
  const int64_t frame_bytes = f.size(1) * f.size(2) * 3;
  std::vector<fs::path> written;
  for (int64_t i = 0; i < f.size(0); ++i) {
    char file_name[32];
    std::snprintf(file_name, sizeof(file_name), "%06lld.png", static_cast<long long>(first_index + i));
    const fs::path path = dir / file_name;
    encoder.write(data + i * frame_bytes, path);
    written.push_back(path);
  }
  return written;
}

#else  // no FFmpeg

void write_png(const fs::path&, const at::Tensor&) { media::fail_without_ffmpeg("write PNG images"); }
std::vector<fs::path> write_png_frames(const fs::path&, const at::Tensor&, int64_t) {
  media::fail_without_ffmpeg("write PNG images");
}

#endif  // GALLOP_HAVE_FFMPEG

}  // namespace gallop::engine

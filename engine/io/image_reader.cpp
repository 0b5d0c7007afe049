// Image reader: header size check, then libavformat's image demuxers + libavcodec decoders,
// then conversion to RGB24 (see image_reader.h).
#include "engine/io/image_reader.h"

#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include "engine/core/error.h"
#include "engine/io/ffmpeg_support.h"
#include "engine/io/image_header.h"
#include "engine/io/media_decoder.h"

namespace gallop::engine {

namespace fs = std::filesystem;

#ifdef GALLOP_HAVE_FFMPEG
namespace {

// Enough for the header of any PNG or WebP, and for a JPEG's frame header behind its metadata
// segments (each at most 64 KiB).
constexpr size_t kHeaderProbeBytes = size_t{1} << 20;

// Missing, a directory, or empty: the errors that need no decoder.
void check_file(const fs::path& path) {
  const std::string file = path.string();
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  GALLOP_CHECK(fs::exists(st), NotFound, file, ": no such image file");
  GALLOP_CHECK(!fs::is_directory(st), Format, file, ": is a directory, not an image");
  const auto size = fs::file_size(path, ec);
  GALLOP_CHECK(!ec, Io, file, ": cannot read: ", ec.message());
  GALLOP_CHECK(size > 0, Format, file, ": the file is empty, not an image");
}

std::vector<uint8_t> read_prefix(const fs::path& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  GALLOP_CHECK(in, Io, path.string(), ": cannot open for reading");
  std::vector<uint8_t> bytes(max_bytes);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(max_bytes));
  bytes.resize(static_cast<size_t>(in.gcount()));
  return bytes;
}

// Demuxers that hold still images (content-probed *_pipe ones, image2, and the first frame of
// an animated GIF / APNG). Anything else (a video, a text file FFmpeg renders as ANSI art) is
// not an image.
bool is_image_demuxer(const char* name) {
  const std::string n = name ? name : "";
  const std::string suffix = "_pipe";
  const bool pipe = n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0;
  return pipe || n == "image2" || n == "gif" || n == "apng";
}

}  // namespace
#endif  // GALLOP_HAVE_FFMPEG

at::Tensor read_image(const fs::path& path, const ImageReadOptions& options) {
  const std::string file = path.string();
  GALLOP_CHECK(options.max_pixels >= 1, InvalidArgument, file, ": ImageReadOptions::max_pixels must be positive, got ",
               options.max_pixels);
#ifdef GALLOP_HAVE_FFMPEG
  check_file(path);
  const std::vector<uint8_t> head = read_prefix(path, kHeaderProbeBytes);
  if (const auto declared = read_image_header_size(head.data(), head.size())) {
    GALLOP_CHECK(declared->width > 0 && declared->height > 0, Format, file, ": the ", declared->format,
                 " header declares an empty image (", declared->width, "x", declared->height, ")");
    media::check_pixel_limit(file, "image", declared->width, declared->height, options.max_pixels,
                             (std::string("its ") + declared->format + " header").c_str());
  }

  media::DecoderSetup setup;
  setup.kind = "image";
  setup.max_pixels = options.max_pixels;
  setup.strict = true;
  media::MediaDecoder decoder(file, setup);
  const char* demuxer = decoder.format()->iformat->name;
  GALLOP_CHECK(is_image_demuxer(demuxer), Format, file, ": not an image (FFmpeg reads it as '", demuxer, "')");
  const AVFrame* frame = decoder.next_frame();
  GALLOP_CHECK(frame, Format, file, ": the image decoder produced no picture (truncated or corrupt file)");
  media::RgbConverter converter(media::ChromaFilter::Libjpeg);
  return converter.convert(frame, file);  // [H, W, 3]
#else
  media::fail_without_ffmpeg("read images");
#endif
}

}  // namespace gallop::engine

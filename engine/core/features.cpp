#include "engine/core/features.h"

#include <ATen/Context.h>
#include <gallop/build_info.h>

#ifdef GALLOP_HAVE_FFMPEG
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libswscale/swscale.h>
}
#endif

namespace gallop {

const char* version() { return GALLOP_VERSION_STRING; }

namespace {
std::string av_version(unsigned v) {
  return std::to_string(v >> 16) + "." + std::to_string((v >> 8) & 0xff) + "." + std::to_string(v & 0xff);
}
}  // namespace

std::vector<std::pair<std::string, std::string>> build_features() {
  std::vector<std::pair<std::string, std::string>> f;
  f.emplace_back("torch", GALLOP_TORCH_VERSION_STRING);
#ifdef GALLOP_HAVE_CUDA
  f.emplace_back("cuda", std::string("on (toolkit ") + GALLOP_CUDA_TOOLKIT_VERSION_STRING + ")");
  f.emplace_back("cuda archs", GALLOP_CUDA_ARCHS_STRING);
  f.emplace_back("cudnn", std::string(GALLOP_CUDNN_VERSION_STRING).empty() ? "not found at build time"
                                                                            : GALLOP_CUDNN_VERSION_STRING);
  f.emplace_back("cuda gpu visible", at::hasCUDA() ? "yes" : "no");
#else
  f.emplace_back("cuda", "off");
#endif
#ifdef GALLOP_HAVE_FFMPEG
  f.emplace_back("ffmpeg", av_version_info());
  f.emplace_back("libavformat", av_version(avformat_version()));
  f.emplace_back("libavcodec", av_version(avcodec_version()));
  f.emplace_back("libswscale", av_version(swscale_version()));
  const AVCodec* x264 = avcodec_find_encoder_by_name("libx264");
  std::string x = x264 ? "yes" : "no (H.264 output unavailable)";
  if (x264 && std::string(GALLOP_X264_BUILD_STRING).size()) x += std::string(" (x264 build ") + GALLOP_X264_BUILD_STRING + ")";
  f.emplace_back("libx264", x);
#else
  f.emplace_back("ffmpeg", "off (built without FFmpeg: no MP4 or image I/O)");
#endif
  return f;
}

}  // namespace gallop

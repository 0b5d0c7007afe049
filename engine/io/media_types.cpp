// FrameRate formatting and the build's FFmpeg flag (see media_types.h).
#include "engine/io/media_types.h"

namespace gallop::engine {

std::string FrameRate::to_string() const {
  if (den == 1) return std::to_string(num);
  return std::to_string(num) + "/" + std::to_string(den);
}

bool media_io_available() {
#ifdef GALLOP_HAVE_FFMPEG
  return true;
#else
  return false;
#endif
}

}  // namespace gallop::engine

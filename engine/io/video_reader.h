// Video input through FFmpeg: every frame of a file's video stream as RGB24, plus what the
// container and stream say about it. Used by the tests (reading back what the writer wrote) and
// by tools; not on the generation path.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/io/media_types.h"

namespace gallop::engine {

struct VideoInfo {
  FrameRate fps;             // average frame rate of the stream, reduced (e.g. {16, 1})
  int width = 0;
  int height = 0;
  std::string codec_name;    // FFmpeg's codec name: "h264", ...
  std::string pixel_format;  // of the decoded frames: "yuv420p", ...
  int64_t frame_count = 0;   // frames decoded
};

struct DecodedVideo {
  at::Tensor frames;                // [F, H, W, 3] uint8 RGB, CPU, in presentation order
  std::vector<double> timestamps;   // presentation time of each frame in seconds (-1: none)
  VideoInfo info;
};

// Decodes every frame of the best video stream. YUV is converted to RGB with the matrix and
// range the stream is tagged with (untagged: BT.601 limited range), chroma interpolated
// (bicubic).
// Throws gallop::Error: NotFound, Format (not a video, corrupt, no frames; naming the file),
// Unsupported (no FFmpeg or no decoder for the codec).
DecodedVideo read_video(const std::filesystem::path& path);

}  // namespace gallop::engine

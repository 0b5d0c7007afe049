// MP4 (H.264) output through FFmpeg: the format the official Wan2.1 code writes (spec section 8:
// libx264, CRF 10, yuv420p, 16 fps, no audio). Frames are packed RGB24 uint8 tensors.
//
// The file appears whole or not at all: it is written beside the target under a temporary name
// and renamed by finish(); any failure, or a writer destroyed before finish(), leaves nothing.
//
// Sizes: yuv420p halves the chroma resolution, so width and height must both be even. An odd
// size is refused with gallop::Error(InvalidArgument) naming the size (no padding, no cropping:
// the pixels written are exactly the pixels given). Every Wan size is a multiple of 16.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "engine/io/media_types.h"

namespace gallop::engine {

enum class VideoPixelFormat {
  Yuv420p,  // 4:2:0, 8 bit, BT.601 limited range: what the reference writes and players expect
};

struct VideoOptions {
  FrameRate fps = 16;            // 0.1 .. 1000 frames per second
  int crf = 10;                  // x264 constant rate factor, 0 (best) .. 51
  std::string preset = "medium";  // x264 preset: ultrafast .. placebo; "medium" is x264's default
  VideoPixelFormat pix_fmt = VideoPixelFormat::Yuv420p;
};

// Writes frames [F, H, W, 3] uint8 (any device; copied to the CPU) as an H.264 MP4.
// Throws gallop::Error: InvalidArgument (bad frames, options or target), Unsupported (no FFmpeg
// or no libx264), Io / Format (FFmpeg failures, naming the file).
void write_mp4(const std::filesystem::path& path, const at::Tensor& frames, const VideoOptions& options = {});

// Streaming writer, for frames that arrive in chunks (e.g. as the VAE decodes them):
//   VideoWriter w; w.open(path, width, height, options);
//   w.add_frames(chunk0); w.add_frames(chunk1); ...; w.finish();
// An invalid frame is refused before it reaches the encoder and leaves the writer as it was.
// A failure inside FFmpeg closes the writer and removes its temporary file; later calls throw.
class VideoWriter {
 public:
  VideoWriter();
  ~VideoWriter();  // without finish(): discards the temporary file
  VideoWriter(VideoWriter&&) noexcept;
  VideoWriter& operator=(VideoWriter&&) noexcept;
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  // Checks the target (its directory must exist; it must not be a directory), the size and
  // the options, then opens the encoder and the temporary file.
  void open(const std::filesystem::path& path, int width, int height, const VideoOptions& options = {});
  void add_frame(const at::Tensor& frame);    // [H, W, 3] uint8
  void add_frames(const at::Tensor& frames);  // [F, H, W, 3] uint8
  // Flushes the encoder, writes the index at the front of the file (+faststart) and moves the
  // file into place. Throws InvalidArgument when no frame was added (and discards the file).
  void finish();

  bool is_open() const { return impl_ != nullptr; }
  int64_t frames_written() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace gallop::engine

// Lossless PNG output through FFmpeg's PNG encoder: RGB24, 8 bits per channel, the exact pixels
// given. Each file is written beside its target and renamed, so it appears whole or not at all.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <vector>

namespace gallop::engine {

// Writes one image [H, W, 3] uint8 (any device; copied to the CPU) as an RGB PNG.
// Throws gallop::Error: InvalidArgument (bad tensor or target), Unsupported (no FFmpeg), Io.
void write_png(const std::filesystem::path& path, const at::Tensor& image);

// Writes frames [F, H, W, 3] uint8 as dir/NNNNNN.png numbered from first_index (six digits,
// zero-padded: 000000.png, 000001.png, ...), creating dir (and its parents) if needed, and
// returns the paths written in order. A failure part-way keeps the frames already written.
std::vector<std::filesystem::path> write_png_frames(const std::filesystem::path& dir, const at::Tensor& frames,
                                                    int64_t first_index = 0);

}  // namespace gallop::engine

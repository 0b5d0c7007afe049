// Helpers for the engine/io tests: a synthetic video that H.264 can keep, PSNR, directory
// listings, MP4 box order, and an "expect this gallop::Error" check.
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "engine/core/error.h"

namespace gallop::testing {

// Smooth colour gradients drifting over time, a soft disc moving across, and a soft-edged
// square moving down: natural-looking content, not noise (which H.264 cannot keep at 40 dB).
at::Tensor moving_pattern(int64_t frames, int64_t height, int64_t width);  // [F, H, W, 3] uint8

// Mean over frames of each frame's PSNR in dB (MSE over all pixels and channels, peak 255).
double mean_psnr(const at::Tensor& actual, const at::Tensor& expected);  // both [F, H, W, 3] uint8

// Names of the entries of `dir` (sorted); hidden temporary files included.
std::vector<std::string> list_dir(const std::filesystem::path& dir);

// The four-character types of an MP4's top-level boxes, in file order.
std::vector<std::string> mp4_top_level_boxes(const std::filesystem::path& file);

// Runs `fn` and checks that it throws gallop::Error of `kind` whose message contains every one of
// `parts`.
::testing::AssertionResult ThrowsError(const std::function<void()>& fn, ErrorKind kind,
                                       std::initializer_list<std::string> parts);

void write_file(const std::filesystem::path& path, const std::string& bytes);
std::string read_file(const std::filesystem::path& path);

}  // namespace gallop::testing

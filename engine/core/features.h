// What this build of gallop contains (for `gallop --version` and bench reports).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace gallop {

const char* version();

// Ordered (name, value) pairs: torch, CUDA, CUDA architectures, cuDNN, FFmpeg libraries, x264.
std::vector<std::pair<std::string, std::string>> build_features();

}  // namespace gallop

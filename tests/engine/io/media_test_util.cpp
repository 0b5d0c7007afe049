// Helpers for the engine/io tests (see media_test_util.h).
#include "tests/engine/io/media_test_util.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>

namespace gallop::testing {

namespace fs = std::filesystem;

at::Tensor moving_pattern(int64_t frames, int64_t height, int64_t width) {
  const auto opts = at::TensorOptions().dtype(at::kFloat);
  at::Tensor y = at::arange(height, opts).view({height, 1}).expand({height, width});  // [H, W]
  at::Tensor x = at::arange(width, opts).view({1, width}).expand({height, width});   // [H, W]
  std::vector<at::Tensor> out;
  for (int64_t f = 0; f < frames; ++f) {
    const double t = static_cast<double>(f);
    at::Tensor r = 40 + 170 * (x + 2 * t) / (width + 2 * frames);                         // [H, W]
    at::Tensor g = 30 + 180 * (y / height) * (0.8 + 0.2 * std::cos(t / 5.0));            // [H, W]
    at::Tensor b = 128 + 60 * at::sin((x + y) / 14.0 + t / 4.0);                          // [H, W]
    at::Tensor img = at::stack({r, g, b}, -1);                                            // [H, W, 3]
    // soft disc moving right
    const double cx = width * 0.2 + t * width * 0.03, cy = height * 0.45, rad = height * 0.18;
    at::Tensor d = at::sqrt((x - cx).pow(2) + (y - cy).pow(2));                            // [H, W]
    at::Tensor disc = at::clamp((rad - d) / 3.0 + 0.5, 0, 1).unsqueeze(-1);                // [H, W, 1]
    img = img * (1 - disc) + disc * at::tensor({230.f, 200.f, 40.f}).view({1, 1, 3});
    // soft-edged square moving down
    const double sx = width * 0.65, sy = height * 0.1 + t * height * 0.025, half = height * 0.12;
    at::Tensor inside = at::clamp((half - at::max((x - sx).abs(), (y - sy).abs())) / 2.0 + 0.5, 0, 1);  // [H, W]
    img = img * (1 - inside.unsqueeze(-1)) + inside.unsqueeze(-1) * at::tensor({30.f, 60.f, 200.f}).view({1, 1, 3});
    out.push_back(img);
  }
  return at::stack(out).round().clamp(0, 255).to(at::kByte);  // [F, H, W, 3]
}

double mean_psnr(const at::Tensor& actual, const at::Tensor& expected) {
  EXPECT_EQ(actual.sizes(), expected.sizes());
  const at::Tensor diff = actual.to(at::kDouble) - expected.to(at::kDouble);  // [F, H, W, 3]
  const at::Tensor mse = diff.pow(2).flatten(1).mean(1);                        // [F]
  double sum = 0;
  for (int64_t f = 0; f < mse.size(0); ++f) {
    const double m = std::max(mse[f].item<double>(), 1e-10);
    sum += 10.0 * std::log10(255.0 * 255.0 / m);
  }
  return sum / static_cast<double>(mse.size(0));
}

std::vector<std::string> list_dir(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> mp4_top_level_boxes(const fs::path& file) {
  const std::string bytes = read_file(file);
  std::vector<std::string> types;
  size_t pos = 0;
  while (pos + 8 <= bytes.size()) {
    const auto* p = reinterpret_cast<const uint8_t*>(bytes.data() + pos);
    uint64_t size = (uint64_t{p[0]} << 24) | (uint64_t{p[1]} << 16) | (uint64_t{p[2]} << 8) | p[3];
    types.push_back(bytes.substr(pos + 4, 4));
    if (size == 1 && pos + 16 <= bytes.size()) {  // 64-bit size follows the type
      size = 0;
      for (int i = 8; i < 16; ++i) size = (size << 8) | p[i];
    } else if (size == 0) {
      break;  // extends to the end of the file
    }
    if (size < 8) break;
    pos += size;
  }
  return types;
}

::testing::AssertionResult ThrowsError(const std::function<void()>& fn, ErrorKind kind,
                                       std::initializer_list<std::string> parts) {
  try {
    fn();
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (e.kind() != kind)
      return ::testing::AssertionFailure() << "threw " << error_kind_name(e.kind()) << " instead of "
                                           << error_kind_name(kind) << ": " << msg;
    for (const auto& part : parts)
      if (msg.find(part) == std::string::npos)
        return ::testing::AssertionFailure() << "message lacks '" << part << "': " << msg;
    return ::testing::AssertionSuccess() << msg;
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-gallop exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace gallop::testing

// Timestep sinusoid and 3D RoPE of the Wan DiT in float64 (see rope.h).
#include "models/dit/rope.h"

#include "kernels/qk_norm_rope/qk_norm_rope.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace gallop::models::dit {

namespace {

constexpr double kTheta = 10000.0;

// Rotation angles of one band: [max_len, width/2] float64, angle = pos · θ^(−2k/width).
at::Tensor band_angles(int64_t max_len, int64_t width) {
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  auto inv_freq = 1.0 / at::pow(kTheta, at::arange(0, width, 2, f64).div(width));  // [width/2]
  return at::outer(at::arange(max_len, f64), inv_freq);                             // [max_len, width/2]
}

// x [B, n, H, D], multipliers [n, 1, D/2] -> fp32 [B, n, H, D]: complex128 product, then fp32.
at::Tensor rotate(const at::Tensor& x, const at::Tensor& multipliers) {
  const auto sizes = x.sizes().vec();
  auto pairs = x.to(at::kDouble).reshape({sizes[0], sizes[1], sizes[2], sizes[3] / 2, 2});  // [B, n, H, D/2, 2]
  auto rotated = at::view_as_complex(pairs) * multipliers;                                   // [B, n, H, D/2]
  return at::view_as_real(rotated).flatten(3).to(at::kFloat);                                // [B, n, H, D]
}

}  // namespace

at::Tensor timestep_sinusoid(const at::Tensor& t, int64_t dim) {
  TORCH_CHECK(t.dim() == 1, "timestep_sinusoid: t must be [B], got ", t.sizes());
  TORCH_CHECK(dim % 2 == 0, "timestep_sinusoid: dim must be even, got ", dim);
  const int64_t half = dim / 2;
  auto pos = t.to(at::kDouble);                                                       // [B]
  auto omega = at::pow(kTheta, -at::arange(half, pos.options()).div(half));          // [half]
  auto angles = at::outer(pos, omega);                                                // [B, half]
  return at::cat({at::cos(angles), at::sin(angles)}, 1);                              // [B, dim]
}

at::Tensor rope_multipliers(int64_t head_dim, int64_t max_len, std::array<int64_t, 3> grid) {
  const int64_t hw = 2 * (head_dim / 6);
  const std::array<int64_t, 3> widths = {head_dim - 2 * hw, hw, hw};  // real channels per band
  const auto [f, h, w] = grid;
  TORCH_CHECK(f >= 1 && h >= 1 && w >= 1, "rope: empty grid ", f, "x", h, "x", w);
  TORCH_CHECK(f <= max_len && h <= max_len && w <= max_len, "rope: grid ", f, "x", h, "x", w,
              " exceeds the RoPE table of ", max_len, " positions per axis");
  const std::array<int64_t, 3> extent = {f, h, w};
  std::vector<at::Tensor> bands;
  for (int axis = 0; axis < 3; ++axis) {
    auto a = band_angles(max_len, widths[axis]).narrow(0, 0, extent[axis]);  // [n_axis, width/2]
    std::vector<int64_t> view = {1, 1, 1, a.size(1)};
    view[axis] = extent[axis];
    bands.push_back(a.view(view).expand({f, h, w, a.size(1)}));
  }
  auto angles = at::cat(bands, -1).reshape({f * h * w, 1, head_dim / 2});  // [L, 1, D/2]
  return at::polar(at::ones_like(angles), angles);                           // complex128
}

at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& multipliers, int64_t chunk_tokens) {
  TORCH_CHECK(x.dim() == 4 && x.size(3) % 2 == 0, "rope: x must be [B, L, H, D] with even D, got ", x.sizes());
  TORCH_CHECK(multipliers.dim() == 3 && multipliers.size(0) == x.size(1) && multipliers.size(2) * 2 == x.size(3),
              "rope: multipliers ", multipliers.sizes(), " do not fit x ", x.sizes());
  TORCH_CHECK(chunk_tokens > 0, "rope: chunk_tokens must be positive");
  const int64_t L = x.size(1);
  if (L <= chunk_tokens) return rotate(x, multipliers);
  auto out = at::empty(x.sizes(), x.options().dtype(at::kFloat));  // [B, L, H, D]
  for (int64_t s = 0; s < L; s += chunk_tokens) {
    const int64_t n = std::min(chunk_tokens, L - s);
    out.narrow(1, s, n).copy_(rotate(x.narrow(1, s, n), multipliers.narrow(0, s, n)));
  }
  return out;
}

at::Tensor RopeCache::get(std::array<int64_t, 3> grid, const at::Device& device) {
  const auto key = std::make_tuple(grid[0], grid[1], grid[2], device.str());
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = tables_.find(key);
  if (it != tables_.end()) return it->second;
  if (tables_.size() >= kMaxEntries) tables_.clear();
  auto table = rope_multipliers(head_dim_, max_len_, grid).to(device);
  tables_.emplace(key, table);
  return table;
}

at::Tensor RopeCache::freqs(const at::Device& device) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = freqs_.find(device.str());
  if (it != freqs_.end()) return it->second;
  auto table = kernels::rope_freqs_table(head_dim_, max_len_, 10000.0, device);
  freqs_.emplace(device.str(), table);
  return table;
}

at::Tensor RopeCache::freqs_f32(const at::Device& device) {
  auto table = freqs(device);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = freqs_f32_.find(device.str());
  if (it != freqs_f32_.end()) return it->second;
  auto rounded = kernels::rope_freqs_table_f32(table);
  freqs_f32_.emplace(device.str(), rounded);
  return rounded;
}

void RopeCache::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  tables_.clear();
  freqs_.clear();
  freqs_f32_.clear();
}

}  // namespace gallop::models::dit

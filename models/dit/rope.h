// Position encodings of the Wan DiT, both in float64 as in the reference:
//   * the timestep sinusoid (spec §2.3): ω_k = 10000^(−k/half), emb = [cos(t·ω), sin(t·ω)];
//   * 3D RoPE (spec §2.5): a head's D/2 channel pairs are split into t/h/w bands of
//     (D − 4·⌊D/6⌋, 2·⌊D/6⌋, 2·⌊D/6⌋) real channels (44/42/42 for D = 128); pair k of a band of
//     width d turns by pos · 10000^(−2k/d). Token (f, i, j) uses positions f, i, j (no offsets).
//     q/k are rotated as complex128 numbers and the result is cast to fp32.
// The per-grid multiplier table is built once per (grid, device) and cached by RopeCache.
#pragma once

#include <ATen/ATen.h>

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace gallop::models::dit {

// t [B] (integer or float) -> float64 [B, dim] on t's device (cos half first).
at::Tensor timestep_sinusoid(const at::Tensor& t, int64_t dim);

// The complex128 multipliers for a (f, h, w) token grid: [f·h·w, 1, head_dim/2] on CPU,
// token index f·h·w order (frame-major, then row, then column).
at::Tensor rope_multipliers(int64_t head_dim, int64_t max_len, std::array<int64_t, 3> grid);

// x [B, L, H, D] (any float dtype), multipliers [L, 1, D/2] complex128 -> fp32 [B, L, H, D].
// Works through the tokens `chunk_tokens` at a time so that the float64 temporaries stay small at
// 75k tokens; the rotation is elementwise, so chunking does not change a bit.
at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& multipliers, int64_t chunk_tokens = 4096);

// Thread-safe cache of rope_multipliers per grid and device (a few grids at most per run).
class RopeCache {
 public:
  RopeCache(int64_t head_dim, int64_t max_len) : head_dim_(head_dim), max_len_(max_len) {}
  // [f·h·w, 1, head_dim/2] complex128 on `device`.
  at::Tensor get(std::array<int64_t, 3> grid, const at::Device& device);
  // The frequency table of the fused CUDA path: [max_len, head_dim/2] complex128 on `device`.
  at::Tensor freqs(const at::Device& device);
  // freqs rounded to fp32 (kernels::rope_freqs_table_f32): [max_len, head_dim/2, 2] float32.
  at::Tensor freqs_f32(const at::Device& device);
  void clear();

 private:
  static constexpr size_t kMaxEntries = 8;
  int64_t head_dim_;
  int64_t max_len_;
  std::mutex mutex_;
  std::map<std::tuple<int64_t, int64_t, int64_t, std::string>, at::Tensor> tables_;
  std::map<std::string, at::Tensor> freqs_;
  std::map<std::string, at::Tensor> freqs_f32_;
};

}  // namespace gallop::models::dit

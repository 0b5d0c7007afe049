// Memory-bound kernel timings of gallop_kernel_bench: the fused modulation and q/k norm + RoPE
// kernels against their ATen paths, at the Wan 14B 720p size (75600 tokens x 5120), reported as
// GB/s by the bytes each must move (every input read once, every output written once) and as a
// share of the card's peak bandwidth. L2 (50 MB on an H100) is flushed before every timed run;
// the tensors are 0.4 to 1.5 GB, far larger anyway.
#include "tools/kernel_bench/bench_cases.h"

#include <cuda_runtime_api.h>

#include <functional>
#include <iostream>
#include <tuple>

#include "kernels/modulation/modulation.h"
#include "kernels/qk_norm_rope/qk_norm_rope.h"

namespace gallop::bench {

namespace {

at::Tensor randn_cuda(at::IntArrayRef shape, at::ScalarType dtype, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randn(shape, gen, at::TensorOptions().dtype(at::kFloat)).to(at::kCUDA, dtype);
}

void add_row(nlohmann::json& rows, const std::string& kernel, const std::string& types, double bytes,
             const std::function<void()>& fused, const std::function<void()>& aten, const BenchOptions& opt,
             double peak_gbps) {
  nlohmann::json row = {{"kernel", kernel}, {"types", types}, {"bytes", bytes}};
  try {
    const auto t = time_cuda(fused, opt.iters, opt.budget_s, true);
    const auto a = time_cuda(aten, opt.iters > 0 ? std::min(opt.iters, 5) : 3, opt.budget_s, true);
    row["ms_median"] = t.median_ms;
    row["ms_min"] = t.min_ms;
    row["iters"] = t.iters;
    row["gbps"] = bytes / (t.median_ms * 1e-3) / 1e9;
    row["pct_peak"] = 100.0 * row["gbps"].get<double>() / peak_gbps;
    row["aten_ms"] = a.median_ms;
    row["speedup_vs_aten"] = a.median_ms / t.median_ms;
  } catch (const std::exception& e) {
    row["error"] = std::string(e.what()).substr(0, 400);
    (void)cudaGetLastError();
  }
  std::cerr << "[bench] " << kernel << " (" << types << "): "
            << (row.contains("gbps") ? std::to_string(row["gbps"].get<double>()) + " GB/s"
                                     : row.value("error", std::string("?")))
            << "\n";
  rows.push_back(row);
}

}  // namespace

nlohmann::json bench_fused(const BenchOptions& opt, double peak_gbps) {
  using kernels::FusedBackend;
  nlohmann::json rows = nlohmann::json::array();
  const int64_t L = opt.quick ? 32760 : 75600, C = 5120, heads = 40;
  const double n = static_cast<double>(L) * C;
  const std::string shape = "[1, " + std::to_string(L) + ", 5120]";

  {  // LayerNorm + modulation: block 0 reads a bf16 stream, later blocks an fp32 one.
    const auto shift = randn_cuda({1, C}, at::kFloat, 2);
    const auto scale = randn_cuda({1, C}, at::kFloat, 3);
    for (auto [xt, ot, name] : {std::tuple{at::kBFloat16, at::kFloat, "x bf16 -> fp32"},
                                std::tuple{at::kFloat, at::kBFloat16, "x fp32 -> bf16"},
                                std::tuple{at::kFloat, at::kFloat, "x fp32 -> fp32"}}) {
      const auto x = randn_cuda({1, L, C}, xt, 1);
      const double bytes = n * (at::elementSize(xt) + at::elementSize(ot));
      add_row(
          rows, "layer_norm_modulate", std::string(name) + " " + shape, bytes,
          [&] { kernels::layer_norm_modulate(x, shift, scale, 1e-6, ot, FusedBackend::Cuda); },
          [&] { kernels::layer_norm_modulate(x, shift, scale, 1e-6, ot, FusedBackend::Reference); }, opt, peak_gbps);
    }
  }
  {  // Gated residual, in place on the fp32 stream.
    auto x = randn_cuda({1, L, C}, at::kFloat, 4);
    const auto y = randn_cuda({1, L, C}, at::kBFloat16, 5);
    const auto gate = randn_cuda({1, C}, at::kFloat, 6);
    add_row(
        rows, "gated_residual", "x fp32 += y bf16 * gate, " + shape, n * (4 + 2 + 4),
        [&] { kernels::gated_residual_(x, y, gate, FusedBackend::Cuda); },
        [&] { kernels::gated_residual_(x, y, gate, FusedBackend::Reference); }, opt, peak_gbps);
  }
  {  // q/k RMSNorm + RoPE, bf16 in and out (the grid that gives L tokens: 21 x 45 x 80 or 21 x 30 x 52).
    const auto q = randn_cuda({1, L, C}, at::kBFloat16, 7);
    const auto k = randn_cuda({1, L, C}, at::kBFloat16, 8);
    const auto w = randn_cuda({C}, at::kFloat, 9);
    const auto freqs = kernels::rope_freqs_table(128, 1024, 10000.0, at::kCUDA);
    const std::vector<kernels::RopeGrid> grid = {L == 75600 ? kernels::RopeGrid{21, 45, 80} : kernels::RopeGrid{21, 30, 52}};
    kernels::QkNormRopeOptions fused, aten;
    fused.backend = FusedBackend::Cuda;
    aten.backend = FusedBackend::Reference;
    add_row(
        rows, "qk_norm_rope", "q, k bf16 -> bf16, 40 heads x 128, " + shape, n * 2 * (2 + 2),
        [&] { kernels::qk_norm_rope(q, k, w, w, freqs, grid, heads, fused); },
        [&] { kernels::qk_norm_rope(q, k, w, w, freqs, grid, heads, aten); }, opt, peak_gbps);
    kernels::QkNormRopeOptions paired = fused;
    paired.paired_kernel = true;
    add_row(
        rows, "qk_norm_rope-paired", "q, k bf16 -> bf16, 40 heads x 128, " + shape, n * 2 * (2 + 2),
        [&] { kernels::qk_norm_rope(q, k, w, w, freqs, grid, heads, paired); },
        [&] { kernels::qk_norm_rope(q, k, w, w, freqs, grid, heads, aten); }, opt, peak_gbps);
  }
  return rows;
}

nlohmann::json bench_ceilings(const BenchOptions& opt) {
  nlohmann::json c;
  try {
    const int64_t bytes = int64_t{2} << 30;  // 2 GiB copied: read + write counted
    auto src = at::empty({bytes}, at::TensorOptions().dtype(at::kByte).device(at::kCUDA)).fill_(1);
    auto dst = at::empty_like(src);
    const auto t = time_cuda([&] { dst.copy_(src); }, 10, opt.budget_s, false);
    c["copy_gbps"] = 2.0 * bytes / (t.median_ms * 1e-3) / 1e9;
    auto a = randn_cuda({8192, 8192}, at::kBFloat16, 10), b = randn_cuda({8192, 8192}, at::kBFloat16, 11);
    const auto g = time_cuda([&] { at::matmul(a, b); }, 10, opt.budget_s, false);
    c["gemm_bf16_8192_tflops"] = 2.0 * 8192.0 * 8192.0 * 8192.0 / (g.median_ms * 1e-3) / 1e12;
  } catch (const std::exception& e) {
    c["error"] = std::string(e.what()).substr(0, 400);
  }
  return c;
}

}  // namespace gallop::bench

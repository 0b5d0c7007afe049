// Memory-bound kernel timings of gallop_kernel_bench: the fused modulation, LayerNorm, RMSNorm and
// q/k norm + RoPE kernels (each row schedule and variant) against their ATen paths, at the Wan 14B 720p size
// (75600 tokens x 5120) and the 1.3B 480p size (32760 x 1536), reported as GB/s by the bytes each
// must move (every input read once, every output written once) and as a share of the card's peak
// bandwidth. L2 (50 MB on an H100) is flushed before every timed run; the tensors are 0.1 to
// 1.5 GB, larger anyway.
#include "tools/kernel_bench/bench_cases.h"

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <cuda_runtime_api.h>

#include <functional>
#include <iostream>
#include <tuple>
#include <utility>
#include <vector>

#include "kernels/modulation/modulation.h"
#include "kernels/qk_norm_rope/qk_norm_rope.h"
#include "tools/kernel_bench/l2_read.h"

namespace gallop::bench {

namespace {

// One row per variant of a kernel (name suffix, call), each timed against the same ATen path (timed
// once: it is the slow side).
using Variants = std::vector<std::pair<std::string, std::function<void()>>>;

void add_rows(nlohmann::json& rows, const std::string& kernel, const std::string& types, double bytes,
              const Variants& variants, const std::function<void()>& aten, const BenchOptions& opt,
              double peak_gbps) {
  double aten_ms = -1.0;
  try {
    aten_ms = time_cuda(aten, opt.iters > 0 ? std::min(opt.iters, 5) : 3, opt.budget_s, true).median_ms;
  } catch (const std::exception& e) {
    std::cerr << "[bench] " << kernel << " (" << types << "): ATen path failed: " << e.what() << "\n";
    (void)cudaGetLastError();
  }
  for (const auto& [suffix, fused] : variants) {
    const std::string name = kernel + suffix;
    nlohmann::json row = {{"kernel", name}, {"types", types}, {"bytes", bytes}};
    try {
      const auto t = time_cuda(fused, opt.iters, opt.budget_s, true);
      row["ms_median"] = t.median_ms;
      row["ms_min"] = t.min_ms;
      row["iters"] = t.iters;
      row["gbps"] = bytes / (t.median_ms * 1e-3) / 1e9;
      row["pct_peak"] = 100.0 * row["gbps"].get<double>() / peak_gbps;
      if (aten_ms > 0) {
        row["aten_ms"] = aten_ms;
        row["speedup_vs_aten"] = aten_ms / t.median_ms;
      }
    } catch (const std::exception& e) {
      row["error"] = std::string(e.what()).substr(0, 400);
      (void)cudaGetLastError();
    }
    std::cerr << "[bench] " << name << " (" << types << "): "
              << (row.contains("gbps") ? std::to_string(row["gbps"].get<double>()) + " GB/s"
                                       : row.value("error", std::string("?")))
              << "\n";
    rows.push_back(row);
  }
}

}  // namespace

nlohmann::json bench_fused(const BenchOptions& opt, double peak_gbps) {
  using kernels::FusedBackend;
  using kernels::RowSchedule;
  nlohmann::json rows = nlohmann::json::array();
  struct Size {
    int64_t len, dim, heads;
    kernels::RopeGrid grid;  // a latent grid of len tokens
  };
  // Wan 14B at 720p, and Wan 1.3B at 480p (its rows are a third as wide: fewer bytes per CTA).
  const std::vector<Size> sizes = opt.quick ? std::vector<Size>{{32760, 5120, 40, {21, 30, 52}}}
                                            : std::vector<Size>{{75600, 5120, 40, {21, 45, 80}},
                                                                {32760, 1536, 12, {21, 30, 52}}};
  for (const auto& z : sizes) {
    const int64_t L = z.len, C = z.dim;
    const double n = static_cast<double>(L) * C;
    const std::string shape = "[1, " + std::to_string(L) + ", " + std::to_string(C) + "]";
    {  // LayerNorm + modulation: block 0 reads a bf16 stream, later blocks an fp32 one.
      const auto shift = randn_gpu({1, C}, at::kFloat, 2);
      const auto scale = randn_gpu({1, C}, at::kFloat, 3);
      for (auto [xt, ot, name] : {std::tuple{at::kBFloat16, at::kFloat, "x bf16 -> fp32"},
                                  std::tuple{at::kFloat, at::kBFloat16, "x fp32 -> bf16"},
                                  std::tuple{at::kFloat, at::kFloat, "x fp32 -> fp32"}}) {
        const auto x = randn_gpu({1, L, C}, xt, 1);
        const double bytes = n * (at::elementSize(xt) + at::elementSize(ot));
        auto run = [&, ot = ot](RowSchedule s) {
          return [&, ot, s] { kernels::layer_norm_modulate(x, shift, scale, 1e-6, ot, FusedBackend::Cuda, s); };
        };
        add_rows(rows, "layer_norm_modulate", std::string(name) + " " + shape, bytes,
                 {{"", run(RowSchedule::kPerRow)},
                  {"-staged", run(RowSchedule::kStaged)},
                  {"-narrow", run(RowSchedule::kNarrow)},
                  {"-warp", run(RowSchedule::kWarp)}},
                 [&, ot = ot] { kernels::layer_norm_modulate(x, shift, scale, 1e-6, ot, FusedBackend::Reference); },
                 opt, peak_gbps);
      }
    }
    {  // Gated residual, in place on the fp32 stream.
      auto x = randn_gpu({1, L, C}, at::kFloat, 4);
      const auto y = randn_gpu({1, L, C}, at::kBFloat16, 5);
      const auto gate = randn_gpu({1, C}, at::kFloat, 6);
      add_rows(rows, "gated_residual", "x fp32 += y bf16 * gate, " + shape, n * (4 + 2 + 4),
               {{"", [&] { kernels::gated_residual_(x, y, gate, FusedBackend::Cuda); }}},
               [&] { kernels::gated_residual_(x, y, gate, FusedBackend::Reference); }, opt, peak_gbps);
    }
    {  // LayerNorm with weight and bias (norm3): the fp32 stream in, the bf16 that the next Linear reads.
      const auto x = randn_gpu({1, L, C}, at::kFloat, 12);
      const auto w = randn_gpu({C}, at::kFloat, 13);
      const auto b = randn_gpu({C}, at::kFloat, 14);
      add_rows(rows, "layer_norm_affine", "x fp32 -> bf16 " + shape, n * (4 + 2),
               {{"-narrow",
                 [&] { kernels::layer_norm_affine(x, w, b, 1e-6, at::kBFloat16, FusedBackend::Cuda); }}},
               [&] { kernels::layer_norm_affine(x, w, b, 1e-6, at::kBFloat16, FusedBackend::Reference); }, opt,
               peak_gbps);
    }
    {  // RMSNorm alone (the cross-attention's q), bf16 in and out.
      const auto x = randn_gpu({1, L, C}, at::kBFloat16, 10);
      const auto w = randn_gpu({C}, at::kFloat, 11);
      auto run = [&](RowSchedule s) {
        return [&, s] { kernels::rms_norm(x, w, 1e-6, at::kBFloat16, FusedBackend::Cuda, s); };
      };
      add_rows(rows, "rms_norm", "x bf16 -> bf16, " + shape, n * (2 + 2),
               {{"", run(RowSchedule::kPerRow)},
                {"-narrow", run(RowSchedule::kNarrow)},
                {"-warp", run(RowSchedule::kWarp)}},
               [&] { kernels::rms_norm(x, w, 1e-6, at::kBFloat16, FusedBackend::Reference); }, opt, peak_gbps);
    }
    {  // q/k RMSNorm + RoPE, bf16 in and out.
      const auto q = randn_gpu({1, L, C}, at::kBFloat16, 7);
      const auto k = randn_gpu({1, L, C}, at::kBFloat16, 8);
      const auto w = randn_gpu({C}, at::kFloat, 9);
      const auto freqs = kernels::rope_freqs_table(C / z.heads, 1024, 10000.0, at::kCUDA);
      const std::vector<kernels::RopeGrid> grid = {z.grid};
      auto run = [&](bool paired, RowSchedule s) {
        kernels::QkNormRopeOptions o;
        o.backend = FusedBackend::Cuda;
        o.paired_kernel = paired;
        o.row_schedule = s;
        return [&, o] { kernels::qk_norm_rope(q, k, w, w, freqs, grid, z.heads, o); };
      };
      kernels::QkNormRopeOptions aten;
      aten.backend = FusedBackend::Reference;
      add_rows(rows, "qk_norm_rope",
               "q, k bf16 -> bf16, " + std::to_string(z.heads) + " heads x " + std::to_string(C / z.heads) + ", " +
                   shape,
               n * 2 * (2 + 2),
               {{"", run(false, RowSchedule::kPerRow)},
                {"-paired", run(true, RowSchedule::kPerRow)},
                {"-narrow", run(false, RowSchedule::kNarrow)},
                {"-paired-narrow", run(true, RowSchedule::kNarrow)},
                {"-paired-warp", run(true, RowSchedule::kWarp)},
                {"-paired-staged", run(true, RowSchedule::kStaged)}},
               [&] { kernels::qk_norm_rope(q, k, w, w, freqs, grid, z.heads, aten); }, opt, peak_gbps);
    }
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
    auto a = randn_gpu({8192, 8192}, at::kBFloat16, 10), b = randn_gpu({8192, 8192}, at::kBFloat16, 11);
    const auto g = time_cuda([&] { at::matmul(a, b); }, 10, opt.budget_s, false);
    c["gemm_bf16_8192_tflops"] = 2.0 * 8192.0 * 8192.0 * 8192.0 / (g.median_ms * 1e-3) / 1e12;
    // L2 -> SM reads: 2 CTAs per SM each sweep one 16 MiB buffer (one head's K and V at 1.3B-480p is
    // 16.8 MB) four times; what the attention kernels' K/V loads could reach at most.
    const int64_t l2_buffer = int64_t{16} << 20;
    const int ctas = 2 * at::cuda::getCurrentDeviceProperties()->multiProcessorCount;
    auto buf = at::empty({l2_buffer}, at::TensorOptions().dtype(at::kByte).device(at::kCUDA)).fill_(3);
    auto sink = at::zeros({1}, at::TensorOptions().dtype(at::kInt).device(at::kCUDA));
    const auto l2 = time_cuda(
        [&] {
          C10_CUDA_CHECK(launch_l2_read(buf.data_ptr(), l2_buffer, ctas, 4, static_cast<unsigned*>(sink.data_ptr()),
                                        at::cuda::getCurrentCUDAStream()));
        },
        10, opt.budget_s, false);
    c["l2_read_gbps"] = static_cast<double>(l2_read_bytes_per_launch(l2_buffer, ctas, 4)) / (l2.median_ms * 1e-3) / 1e9;
  } catch (const std::exception& e) {
    c["error"] = std::string(e.what()).substr(0, 400);
  }
  return c;
}

}  // namespace gallop::bench

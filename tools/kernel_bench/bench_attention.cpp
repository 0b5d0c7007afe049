// Attention timings of gallop_kernel_bench: cuDNN's fused attention and ATen's flash backend
// (called directly, so that a silent fallback cannot pass for them) and gallop's kernels, at the
// Wan shapes. Each (shape, backend) is first checked on a sample of query rows against the fp32
// reference (the GPU tests' tolerance rule, so a wrong kernel never gets a speed figure), then
// timed: warm-up + median of N CUDA-event-timed runs (inputs of 100 MB and more: L2 not flushed),
// the runs of the backends of one shape interleaved in rounds (one process times them side by side).
#include "tools/kernel_bench/bench_cases.h"

#include <c10/cuda/CUDAException.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <iterator>
#include <limits>
#include <stdexcept>

#include "kernels/attention/attention.h"
#include "kernels/attention/attention_cuda.h"

namespace gallop::bench {

namespace {

using kernels::attn::GallopKernel;

struct AttnShape {
  const char* name;
  int64_t heads, len_q, len_k;
};

// Wan2.1 self-attention (B = 1, head dim 128): heads = dim / 128; tokens = 21 latent frames x
// (H/16) x (W/16) at 81 frames; plus the 720p text cross-attention (512 keys).
constexpr AttnShape kShapes[] = {
    {"1.3B-480p", 12, 32760, 32760},
    {"1.3B-720p", 12, 75600, 75600},
    {"14B-480p", 40, 32760, 32760},
    {"14B-720p", 40, 75600, 75600},
    {"14B-720p-cross", 40, 75600, 512},
};
constexpr AttnShape kQuickShapes[] = {
    {"1.3B-480p", 12, 32760, 32760},
    {"14B-720p-cross", 40, 75600, 512},
};

// Interleaved timing (bench_attention): rounds per shape, and the most timed runs of one backend
// over all of them (at least one per round; about opt.budget_s seconds of runs in all).
constexpr int kRounds = 4;
constexpr int kMaxRuns = 20;

at::Tensor run_backend(const std::string& backend, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                       double scale) {
  if (backend == "cudnn") {
    auto r = at::_scaled_dot_product_cudnn_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                                     std::nullopt, false, 0.0, false, false, scale);
    return std::get<0>(r).transpose(1, 2);
  }
  if (backend == "flash") {
    auto r = at::_flash_attention_forward(q, k, v, std::nullopt, std::nullopt, q.size(1), k.size(1), 0.0, false, false,
                                          scale);
    return std::get<0>(r);
  }
  if (backend == "sdpa") {
    return at::scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), {}, 0.0, false,
                                            scale)
        .transpose(1, 2);
  }
  for (auto kernel : kernels::attn::kAllGallopKernels)
    if (backend == kernels::gallop_kernel_name(kernel)) return kernels::attention_gallop(q, k, v, {}, scale, kernel);
  throw std::invalid_argument("unknown attention backend '" + backend + "'");
}

// For gallop's kernels, also how many of its CTAs the device runs at once (`resident`; below the
// SM count for a cluster kernel on a GPU whose GPCs cannot all pair their SMs).
bool backend_available(const std::string& backend, std::string* why, int* resident) {
  for (auto kernel : kernels::attn::kAllGallopKernels)
    if (backend == kernels::gallop_kernel_name(kernel)) {
      if (kernels::gallop_kernel_available(kernel, at::kBFloat16, 128)) {
        *resident = kernels::attn::gallop_kernel_resident_ctas(kernel, kernels::attn::ElementType::kBf16, 128);
        return true;
      }
      *why = "not compiled for this device";
      return false;
    }
  return true;
}

// Where gallop-sm90-ws-p2-prof's math warps spend their key loop (attn::ProfileCounter), as shares.
nlohmann::json profile_json(const at::Tensor& counters) {
  namespace attn = kernels::attn;
  const auto c = counters.to(at::kCPU);
  const int64_t* v = c.data_ptr<int64_t>();
  const double loop = static_cast<double>(std::max<int64_t>(v[attn::kProfMathLoop], 1));
  const double waits = static_cast<double>(v[attn::kProfWaitK] + v[attn::kProfWaitV] + v[attn::kProfWaitS] +
                                           v[attn::kProfWaitPV]);
  nlohmann::json j = {
      {"math_warps", v[attn::kProfMathWarps]},
      {"key_blocks", v[attn::kProfBlocks]},
      {"loop_share_of_cta", loop / static_cast<double>(std::max<int64_t>(v[attn::kProfMathCta], 1))},
      {"loop_cycles_per_block", loop / static_cast<double>(std::max<int64_t>(v[attn::kProfBlocks], 1))},
      {"wait_k_share", v[attn::kProfWaitK] / loop},
      {"wait_v_share", v[attn::kProfWaitV] / loop},
      {"wait_s_share", v[attn::kProfWaitS] / loop},
      {"wait_pv_share", v[attn::kProfWaitPV] / loop},
      {"not_waiting_share", 1.0 - waits / loop},
      {"producer_wait_share",
       v[attn::kProfProducerWait] / static_cast<double>(std::max<int64_t>(v[attn::kProfProducerLoop], 1))}};
  return j;
}

// Max error of `out` on a sample of rows against the fp32 reference, and the bound the GPU tests
// use (2 x the error of ATen in bf16 + 2 half-ulps of bf16 x max|ref|).
void verify(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& out, double scale,
            nlohmann::json& row) {
  auto rows = at::linspace(0, q.size(1) - 1, 32, at::TensorOptions().dtype(at::kDouble).device(q.device()))
                  .to(at::kLong);
  auto qs = q.index_select(1, rows);
  auto ref = kernels::attention_reference(qs.to(at::kFloat), k.to(at::kFloat), v.to(at::kFloat), {}, scale);
  auto logits = at::matmul(qs.transpose(1, 2), k.transpose(1, 2).transpose(-1, -2)).mul(scale);
  auto base = at::matmul(at::softmax(logits, -1), v.transpose(1, 2)).transpose(1, 2);
  const double err = (out.index_select(1, rows).to(at::kFloat) - ref).abs().max().item<double>();
  const double base_err = (base.to(at::kFloat) - ref).abs().max().item<double>();
  const double bound = 2.0 * base_err + 2.0 / 256.0 * ref.abs().max().item<double>();
  row["max_err"] = err;
  row["bound"] = bound;
  row["verified"] = std::isfinite(err) && err <= bound;
}

}  // namespace

nlohmann::json bench_attention(const std::vector<std::string>& backends, const BenchOptions& opt,
                               const std::function<void(const nlohmann::json&)>& shape_done) {
  nlohmann::json rows = nlohmann::json::array();
  const auto* shapes = opt.quick ? kQuickShapes : kShapes;
  const size_t n_shapes = opt.quick ? std::size(kQuickShapes) : std::size(kShapes);
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  for (size_t si = 0; si < n_shapes; ++si) {
    const auto& s = shapes[si];
    auto make = [&](int64_t len, uint64_t seed) {
      return randn_gpu({1, len, s.heads, 128}, at::kBFloat16, 1234 + 3 * si + seed);
    };
    const auto q = make(s.len_q, 0), k = make(s.len_k, 1), v = make(s.len_k, 2);
    const double scale = 1.0 / std::sqrt(128.0);
    const double flops = 4.0 * s.heads * static_cast<double>(s.len_q) * s.len_k * 128;
    std::vector<nlohmann::json> shape_rows;
    std::vector<size_t> timed;  // indices into shape_rows of the backends that passed the check
    for (const auto& backend : backends) {
      nlohmann::json row = {{"shape", s.name}, {"batch", 1},          {"heads", s.heads}, {"len_q", s.len_q},
                            {"len_k", s.len_k}, {"head_dim", 128},   {"dtype", "bf16"}, {"backend", backend}};
      std::string why;
      int resident = 0;
      if (!backend_available(backend, &why, &resident)) {
        row["error"] = why;
      } else {
        if (resident > 0) row["resident_ctas"] = resident;
        try {
          verify(q, k, v, run_backend(backend, q, k, v, scale), scale, row);
          if (row["verified"].get<bool>()) timed.push_back(shape_rows.size());
          else row["error"] = "wrong result: not timed";
        } catch (const std::exception& e) {
          row["error"] = std::string(e.what()).substr(0, 400);
          (void)cudaGetLastError();
        }
      }
      shape_rows.push_back(row);
    }
    // Interleaved timing: each backend's runs are spread over kRounds rounds, and every round
    // visits the backends in a rotated order, so that no backend is always timed on a card that the
    // others have just heated (the SM clock drops by a fifth under these kernels, NOTES.md) and
    // their differences of a few percent are not the order's.
    const int rounds = opt.iters > 0 ? 1 : kRounds;
    std::vector<std::vector<Timing>> parts(shape_rows.size());
    std::vector<Clocks> clocks(shape_rows.size());
    for (int r = 0; r < rounds; ++r) {
      for (size_t j = 0; j < timed.size(); ++j) {
        const size_t i = timed[(j + r) % timed.size()];
        auto& row = shape_rows[i];
        if (row.contains("error")) continue;
        const std::string backend = row["backend"];
        try {
          parts[i].push_back(time_cuda([&] { run_backend(backend, q, k, v, scale); }, opt.iters,
                                       opt.budget_s / rounds, false, /*warmup=*/r == 0, /*min_runs=*/1,
                                       /*max_runs=*/kMaxRuns / rounds));
          clocks[i] = current_clocks();
        } catch (const std::exception& e) {
          row["error"] = std::string(e.what()).substr(0, 400);
          (void)cudaGetLastError();
        }
      }
    }
    for (size_t i = 0; i < shape_rows.size(); ++i) {
      auto& row = shape_rows[i];
      if (!row.contains("error") && !parts[i].empty()) {
        const Timing t = merge_timings(parts[i]);
        row["ms_median"] = t.median_ms;
        row["ms_min"] = t.min_ms;
        row["ms_max"] = t.max_ms;
        row["iters"] = t.iters;
        row["rounds"] = static_cast<int>(parts[i].size());
        row["tflops"] = flops / (t.median_ms * 1e-3) / 1e12;
        row["sm_clock_mhz_after"] = clocks[i].sm_mhz;
        if (clocks[i].event_reasons >= 0)
          row["clock_reasons_after"] = clock_event_reason_names(clocks[i].event_reasons);
        if (t.watts > 0) {
          row["watts"] = t.watts;
          row["joules_per_run"] = t.joules_per_run;
          row["gflop_per_joule"] = flops / t.joules_per_run / 1e9;
        }
        if (row["backend"] == kernels::gallop_kernel_name(GallopKernel::kSm90WsTwoPProfile)) {
          try {
            at::Tensor counters;
            kernels::attention_gallop(q, k, v, {}, scale, GallopKernel::kSm90WsTwoPProfile, &counters);
            row["profile"] = profile_json(counters);
          } catch (const std::exception& e) {
            row["profile_error"] = std::string(e.what()).substr(0, 400);
            (void)cudaGetLastError();
          }
        }
      }
      std::cerr << "[bench " << static_cast<int>(elapsed()) << "s] attention " << s.name << " "
                << row["backend"].get<std::string>() << ": "
                << (row.contains("tflops") ? std::to_string(row["tflops"].get<double>()) + " TFLOP/s"
                                           : row.value("error", std::string("?")))
                << "\n";
      rows.push_back(row);
    }
    if (shape_done) shape_done(rows);
  }
  return rows;
}

}  // namespace gallop::bench

// gallop_kernel_bench: speed of gallop's CUDA kernels next to the libraries they replace.
//
//   gallop_kernel_bench [--json FILE] [--attention BACKENDS] [--no-attention] [--no-fused]
//                       [--no-ceilings] [--iters N] [--quick]
//
// BACKENDS is a comma list (default "cudnn,flash,gallop-sm80,gallop-sm90-serial") of cudnn, flash,
// sdpa and gallop's kernel names (gallop_kernel_names(): gallop-sm80, gallop-sm90-serial, -ws-p2,
// -ws-p2-c2, -ws-p2-s3, ...); the backends of one shape are timed side by side, their runs
// interleaved in rounds (tools/gpu/check.sh runs cuDNN and the Hopper variants so).
// Attention is reported as TFLOP/s = 4·B·H·Lq·Lk·D / time (bf16, D = 128, non-causal) at the Wan
// shapes; the fused kernels as GB/s by bytes moved and % of the card's peak bandwidth; the device
// line carries the GPU name, SM count and clocks (maximum from the driver, current from NVML after
// each attention run). A table goes to stdout, progress to stderr, everything to the JSON file.
// Every case is timed with CUDA events: one warm-up, then the median of N runs (attention: of all
// its rounds).
// Exit status: 0 done, 1 runtime error (no CUDA device, a failed write), 2 usage error.
#include <ATen/cuda/CUDAContext.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "tools/kernel_bench/bench_cases.h"

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string today() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// Writes doc to path through a temporary file renamed over it, so that a reader (or a run killed
// while writing) never sees half a file. False when it cannot be written.
bool write_json(const nlohmann::json& doc, const std::string& path) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << doc.dump(2) << "\n";
    if (!out) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

void print_table(const nlohmann::json& doc) {
  const auto& d = doc["device"];
  std::printf("gallop_kernel_bench  %s\n", doc["date"].get<std::string>().c_str());
  std::printf("device: %s (sm_%d%d), %d SMs, max SM clock %d MHz, memory clock %d MHz, %d-bit bus, peak %.0f GB/s\n",
              d["name"].get<std::string>().c_str(), d["cc_major"].get<int>(), d["cc_minor"].get<int>(),
              d["sm_count"].get<int>(), d["max_sm_clock_mhz"].get<int>(), d["max_mem_clock_mhz"].get<int>(),
              d["bus_width_bits"].get<int>(), d["peak_gbps"].get<double>());
  std::printf("software: driver %s, runtime %s, torch %s, cuDNN %s\n", d["driver"].get<std::string>().c_str(),
              d["runtime"].get<std::string>().c_str(), d["torch"].get<std::string>().c_str(),
              d["cudnn"].get<std::string>().c_str());
  if (doc.contains("ceilings") && doc["ceilings"].contains("copy_gbps"))
    std::printf("measured ceilings: D2D copy %.0f GB/s, bf16 GEMM 8192^3 %.0f TFLOP/s, L2 reads %.0f GB/s\n",
                doc["ceilings"]["copy_gbps"].get<double>(), doc["ceilings"]["gemm_bf16_8192_tflops"].get<double>(),
                doc["ceilings"].value("l2_read_gbps", 0.0));
  if (doc.contains("attention")) {
    std::printf("\nattention (bf16, B=1, D=128, non-causal)   TFLOP/s = 4*B*H*Lq*Lk*D / median time; W: the card's mean "
                "power over the timed runs, SM MHz after them (NVML)\n");
    std::printf("%-15s %4s %6s %6s  %-26s %10s %9s %8s %8s %5s %5s\n", "shape", "H", "Lq", "Lk", "backend", "ms",
                "TFLOP/s", "vs cuDNN", "SM MHz", "W", "CTAs");
    for (const auto& r : doc["attention"]) {
      double cudnn = 0;
      for (const auto& o : doc["attention"])
        if (o["shape"] == r["shape"] && o["backend"] == "cudnn" && o.contains("tflops")) cudnn = o["tflops"];
      // CTAs: how many of a gallop kernel's CTAs run at once (fewer than the SMs: idle SMs).
      const std::string ctas = r.contains("resident_ctas") ? std::to_string(r["resident_ctas"].get<int>()) : "-";
      const std::string watts = r.contains("watts") ? std::to_string(std::lround(r["watts"].get<double>())) : "-";
      if (r.contains("tflops"))
        std::printf("%-15s %4d %6d %6d  %-26s %10.3f %9.1f %8s %8d %5s %5s\n", r["shape"].get<std::string>().c_str(),
                    r["heads"].get<int>(), r["len_q"].get<int>(), r["len_k"].get<int>(),
                    r["backend"].get<std::string>().c_str(), r["ms_median"].get<double>(), r["tflops"].get<double>(),
                    cudnn > 0 ? (std::to_string(r["tflops"].get<double>() / cudnn).substr(0, 5) + "x").c_str() : "-",
                    r["sm_clock_mhz_after"].get<int>(), watts.c_str(), ctas.c_str());
      else
        std::printf("%-15s %4d %6d %6d  %-26s   %s\n", r["shape"].get<std::string>().c_str(), r["heads"].get<int>(),
                    r["len_q"].get<int>(), r["len_k"].get<int>(), r["backend"].get<std::string>().c_str(),
                    r.value("error", std::string("?")).c_str());
    }
  }
  bool profiled = false;
  for (const auto& r : doc.value("attention", nlohmann::json::array())) {
    if (!r.contains("profile")) continue;
    if (!profiled)
      std::printf("\nwhere the math warps' key loop goes (%s, cycle counters): share of the loop waiting for K, V, "
                  "S = Q*K^T, P*V, not waiting; cycles per key block; the producer's share waiting for releases\n",
                  r["backend"].get<std::string>().c_str());
    profiled = true;
    const auto& f = r["profile"];
    std::printf("%-15s K %5.1f%%  V %5.1f%%  S %5.1f%%  PV %5.1f%%  busy %5.1f%%  %7.0f cycles/block  loop %5.1f%% of "
                "CTA  producer waits %5.1f%%\n",
                r["shape"].get<std::string>().c_str(), 100 * f["wait_k_share"].get<double>(),
                100 * f["wait_v_share"].get<double>(), 100 * f["wait_s_share"].get<double>(),
                100 * f["wait_pv_share"].get<double>(), 100 * f["not_waiting_share"].get<double>(),
                f["loop_cycles_per_block"].get<double>(), 100 * f["loop_share_of_cta"].get<double>(),
                100 * f["producer_wait_share"].get<double>());
  }
  if (doc.contains("fused")) {
    std::printf("\nfused memory-bound kernels (L2 flushed; GB/s by bytes moved)\n");
    std::printf("%-28s %-48s %9s %8s %7s %9s %8s\n", "kernel", "types", "ms", "GB/s", "% peak", "ATen ms", "speedup");
    for (const auto& r : doc["fused"]) {
      if (r.contains("gbps"))
        std::printf("%-28s %-48s %9.3f %8.0f %6.1f%% %9.3f %7.2fx\n", r["kernel"].get<std::string>().c_str(),
                    r["types"].get<std::string>().c_str(), r["ms_median"].get<double>(), r["gbps"].get<double>(),
                    r["pct_peak"].get<double>(), r.value("aten_ms", 0.0), r.value("speedup_vs_aten", 0.0));
      else
        std::printf("%-28s %-48s   %s\n", r["kernel"].get<std::string>().c_str(), r["types"].get<std::string>().c_str(),
                    r.value("error", std::string("?")).c_str());
    }
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace gallop::bench;
  std::string json_path;
  std::vector<std::string> backends = {"cudnn", "flash", "gallop-sm80", "gallop-sm90-serial"};
  bool attention = true, fused = true, ceilings = true;
  BenchOptions opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "gallop_kernel_bench: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--json") json_path = value();
    else if (a == "--attention") backends = split(value());
    else if (a == "--no-attention") attention = false;
    else if (a == "--no-fused") fused = false;
    else if (a == "--no-ceilings") ceilings = false;
    else if (a == "--iters") opt.iters = std::stoi(value());
    else if (a == "--quick") opt.quick = true;
    else if (a == "-h" || a == "--help") {
      std::cout << "usage: gallop_kernel_bench [--json FILE] [--attention cudnn,flash,gallop-sm80,...] [--no-attention]"
                   " [--no-fused] [--no-ceilings] [--iters N] [--quick]\n";
      return 0;
    } else {
      std::cerr << "gallop_kernel_bench: unknown option '" << a << "' (see --help)\n";
      return 2;
    }
  }
  try {
    if (!at::cuda::is_available()) {
      std::cerr << "gallop_kernel_bench: no CUDA device is visible (this build or machine has no GPU)\n";
      return 1;
    }
    nlohmann::json doc;
    const auto f = device_facts();
    doc["date"] = today();
    doc["device"] = {{"name", f.name},
                     {"cc_major", f.cc_major},
                     {"cc_minor", f.cc_minor},
                     {"sm_count", f.sm_count},
                     {"max_sm_clock_mhz", f.max_sm_clock_mhz},
                     {"max_mem_clock_mhz", f.max_mem_clock_mhz},
                     {"bus_width_bits", f.bus_width_bits},
                     {"l2_bytes", f.l2_bytes},
                     {"peak_gbps", f.peak_gbps},
                     {"driver", f.driver},
                     {"runtime", f.runtime},
                     {"cudnn", f.cudnn},
                     {"torch", f.torch}};
    const auto idle = current_clocks();
    doc["device"]["sm_clock_mhz_at_start"] = idle.sm_mhz;
    doc["device"]["mem_clock_mhz_at_start"] = idle.mem_mhz;
    if (ceilings) doc["ceilings"] = bench_ceilings(opt);
    if (attention) {
      // The JSON file holds the attention rows measured so far after every shape (a run stopped by
      // a time limit keeps them); the complete document replaces it at the end.
      doc["attention"] = bench_attention(backends, opt, [&](const nlohmann::json& rows) {
        if (json_path.empty()) return;
        nlohmann::json partial = doc;
        partial["attention"] = rows;
        partial["partial"] = true;
        if (!write_json(partial, json_path))
          std::cerr << "gallop_kernel_bench: cannot write " << json_path << " (continuing)\n";
      });
    }
    if (fused) doc["fused"] = bench_fused(opt, f.peak_gbps);
    print_table(doc);
    if (!json_path.empty() && !write_json(doc, json_path)) {
      std::cerr << "gallop_kernel_bench: cannot write " << json_path << "\n";
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "gallop_kernel_bench: " << e.what() << "\n";
    return 1;
  }
}

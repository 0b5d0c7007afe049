// gallop bench: times the Wan DiT (one guided denoising step = two forward passes) and the VAE
// decode at a real model's shapes, for each attention backend asked for, on random weights (speed
// does not depend on the weights' values, so no checkpoint is needed); the backends' timed passes
// alternate, in rounds. Prints a table on stdout
// and, with --json, writes the same numbers to a file. With --breakdown, one more forward per
// backend is timed step by step (ForwardOptions::on_step: CUDA events on the GPU, the wall clock
// on the CPU), each step summed over the blocks.
#include <ATen/Context.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include <string>
#include <utility>
#include <vector>

#ifdef GALLOP_HAVE_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAEvent.h>
#endif

#include "engine/core/error.h"
#include "engine/core/features.h"
#include "engine/core/log.h"
#include "engine/pipeline/latents.h"
#include "engine/pipeline/request.h"
#include "engine/pipeline/tiny_model.h"
#include "kernels/attention/attention.h"
#include "models/dit/wan_model.h"
#include "models/vae/wan_vae.h"
#include "tools/gallop/commands.h"
#include "tools/gallop/options.h"

namespace gallop::tools {

namespace {

using Clock = std::chrono::steady_clock;
using models::dit::DitConfig;

struct BenchOptions {
  std::string model = "t2v-1.3b";
  std::string size;
  int frames = 81;
  int repeat = 3;
  std::string attention = "auto";
  std::string json_path;
  bool vae = true;
  bool breakdown = false;
  RunOptions run;
};

DitConfig preset(const std::string& name) {
  if (name == "t2v-1.3b") return DitConfig::t2v_1_3b();
  if (name == "t2v-14b") return DitConfig::t2v_14b();
  if (name == "tiny") return engine::tiny_model_config().dit;
  fail(ErrorKind::InvalidArgument, "unknown bench model '", name, "' (expected t2v-1.3b, t2v-14b or tiny)");
}

void synchronize(const at::Device& d) {
  if (d.is_cuda()) at::zeros({1}, at::TensorOptions().device(d)).cpu();
}

void reset_peak(const at::Device& d) {
#ifdef GALLOP_HAVE_CUDA
  if (d.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(d.index());
#endif
}

double peak_gib(const at::Device& d) {
#ifdef GALLOP_HAVE_CUDA
  if (d.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(d.index());
    return static_cast<double>(stats.allocated_bytes[0].peak) / (1024.0 * 1024.0 * 1024.0);
  }
#endif
  return 0.0;
}

std::string device_name(const at::Device& d) {
#ifdef GALLOP_HAVE_CUDA
  if (d.is_cuda()) return at::cuda::getDeviceProperties(d.index())->name;
#endif
  return "CPU";
}

// Random weights with the tiny model's scale rules, made on the device in the run's dtypes.
void randomize(torch::nn::Module& m, const at::Device& device) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.named_parameters()) {
    at::Tensor t = p.value();
    at::Tensor r = at::randn(t.sizes(), at::TensorOptions().device(device).dtype(at::kFloat));
    const double scale = t.dim() >= 2 ? 1.0 / std::sqrt(static_cast<double>(t.numel() / t.size(0))) : 0.02;
    t.set_data((r * scale).to(t.scalar_type()));
  }
}

// Timestamps of one forward pass: one at start() and one at each step's end (mark). On a GPU they
// are CUDA events on the current stream, read after the pass; on the CPU, whose ops return when
// done, the wall clock.
class StepTimer {
 public:
  explicit StepTimer(const at::Device& device) : device_(device) {}
  void start() { stamp(); }
  void mark(const char* step) {
    steps_.emplace_back(step);
    stamp();
  }
  // Per step name, in order of first appearance: (name, total ms, calls). Call after the pass has
  // finished on the device.
  struct Total {
    std::string step;
    double ms = 0.0;
    int calls = 0;
  };
  std::vector<Total> totals() const {
    std::vector<Total> out;
    for (size_t i = 0; i < steps_.size(); ++i) {
      auto it = std::find_if(out.begin(), out.end(), [&](const Total& t) { return t.step == steps_[i]; });
      if (it == out.end()) it = out.insert(out.end(), Total{steps_[i], 0.0, 0});
      it->ms += elapsed_ms(i, i + 1);
      it->calls += 1;
    }
    return out;
  }
  double total_ms() const { return steps_.empty() ? 0.0 : elapsed_ms(0, steps_.size()); }

 private:
  void stamp() {
#ifdef GALLOP_HAVE_CUDA
    if (device_.is_cuda()) {
      events_.emplace_back(cudaEventDefault);
      events_.back().record();
      return;
    }
#endif
    wall_.push_back(Clock::now());
  }
  double elapsed_ms(size_t from, size_t to) const {
#ifdef GALLOP_HAVE_CUDA
    if (device_.is_cuda()) return events_[from].elapsed_time(events_[to]);
#endif
    return std::chrono::duration<double, std::milli>(wall_[to] - wall_[from]).count();
  }

  at::Device device_;
  std::vector<std::string> steps_;
  std::vector<Clock::time_point> wall_;
#ifdef GALLOP_HAVE_CUDA
  std::vector<c10::cuda::CUDAEvent> events_;
#endif
};

// One forward pass timed step by step: prints the table and returns it as JSON.
nlohmann::json breakdown(models::dit::WanModel& dit, const at::Tensor& x, const at::Tensor& t, const at::Tensor& ctx,
                         models::dit::ForwardOptions fwd, const at::Device& dev, const std::string& name) {
  StepTimer timer(dev);
  fwd.on_step = [&](const char* step) { timer.mark(step); };
  timer.start();
  dit->forward(x, t, ctx, {}, {}, fwd);
  synchronize(dev);
  const double total = timer.total_ms();
  std::cout << "breakdown of one forward (attention " << name << "), each step summed over the blocks:\n"
            << std::left << std::setw(24) << "  step" << std::right << std::setw(12) << "ms" << std::setw(10)
            << "share" << std::setw(8) << "calls" << "\n";
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : timer.totals()) {
    std::cout << "  " << std::left << std::setw(22) << s.step << std::right << std::fixed << std::setprecision(3)
              << std::setw(12) << s.ms << std::setprecision(1) << std::setw(9) << (total > 0 ? 100.0 * s.ms / total : 0.0)
              << "%" << std::setw(8) << s.calls << "\n";
    steps.push_back({{"step", s.step}, {"ms", s.ms}, {"calls", s.calls}});
  }
  std::cout << "  " << std::left << std::setw(22) << "total" << std::right << std::setprecision(3) << std::setw(12)
            << total << "\n";
  return {{"total_ms", total}, {"steps", steps}};
}

int run_bench(const BenchOptions& o) {
  const engine::RunPolicy policy = make_run_policy(o.run);
  const DitConfig config = preset(o.model);
  int width = o.model == "t2v-14b" ? 1280 : o.model == "tiny" ? 128 : 832;
  int height = o.model == "t2v-14b" ? 720 : o.model == "tiny" ? 96 : 480;
  if (!o.size.empty()) std::tie(width, height) = engine::parse_size(o.size);
  GALLOP_CHECK(width % 16 == 0 && height % 16 == 0, InvalidArgument, "size must be a multiple of 16");
  GALLOP_CHECK(o.frames >= 1 && (o.frames - 1) % 4 == 0, InvalidArgument, "frames must be 4k+1");
  GALLOP_CHECK(o.repeat >= 1, InvalidArgument, "repeat must be at least 1");
  std::vector<kernels::AttentionOptions> backends;
  {
    std::stringstream ss(o.attention);
    std::string item;
    while (std::getline(ss, item, ',')) {
      try {
        backends.push_back(kernels::parse_attention_options(item));
      } catch (const std::invalid_argument& e) {
        fail(ErrorKind::InvalidArgument, e.what());
      }
    }
  }
  const int64_t T = (o.frames - 1) / 4 + 1, h = height / 8, w = width / 8;
  const int64_t tokens = T * (h / 2) * (w / 2);
  const at::Device dev = policy.device;
  torch::NoGradGuard no_grad;

  nlohmann::json report = {{"gallop", version()},
                           {"device", device_name(dev)},
                           {"model", o.model},
                           {"size", std::to_string(width) + "x" + std::to_string(height)},
                           {"frames", o.frames},
                           {"tokens", tokens},
                           {"dtype", policy.dtype == at::kBFloat16 ? "bf16" : "fp32"},
                           {"repeat", o.repeat}};
  for (const auto& [k, v] : build_features()) report["build"][k] = v;
  // Rewritten after every measurement, so that a backend that kills the process (a kernel fault
  // poisons the CUDA context) leaves the rows measured before it in the file.
  const auto write_report = [&] {
    if (o.json_path.empty()) return;
    std::ofstream out(o.json_path);
    GALLOP_CHECK(out.good(), InvalidArgument, o.json_path, ": cannot write the JSON report");
    out << report.dump(2) << "\n";
  };

  // ---- DiT ------------------------------------------------------------------------------------
  if (!o.run.quiet) log_info("bench: building the " + o.model + " DiT with random weights on " + dev.str());
  models::dit::WanModel dit(config, at::TensorOptions().device(dev));
  randomize(*dit, dev);
  dit->cast_weights(policy.dtype);
  at::Tensor x = engine::initial_noise({1, config.out_dim, T, h, w}, 0, dev);                         // [1, 16, T, h, w]
  at::Tensor ctx = at::randn({1, config.text_len, config.text_dim}, at::TensorOptions().device(dev))  // [1, 512, D]
                       .to(policy.dtype);
  at::Tensor t = at::full({1}, 999, at::TensorOptions().dtype(at::kLong).device(dev));
  std::cout << "gallop bench: " << o.model << " DiT, " << width << "x" << height << "x" << o.frames << " (" << tokens
            << " tokens), " << report["dtype"].get<std::string>() << " on " << device_name(dev) << "\n";
  std::cout << std::left << std::setw(30) << "attention" << std::right << std::setw(14) << "s/forward"
            << std::setw(16) << "s/step (CFG)" << std::setw(14) << "peak GiB" << "\n";
  // Each backend's warm-up forward (RoPE tables, cuDNN plans) gives its peak memory; then the
  // timed forwards run in rounds, round i timing every backend once in an order rotated by i, so
  // that no backend always runs on a card the others have just heated (the SM clock falls by a fifth
  // under attention, kernels/NOTES.md) and their difference is not the order's.
  const size_t n = backends.size();
  std::vector<models::dit::ForwardOptions> fwds(n);
  std::vector<double> peaks(n, 0.0);
  std::vector<std::vector<double>> times(n);
  for (size_t b = 0; b < n; ++b) {
    fwds[b].compute_dtype = policy.dtype;
    fwds[b].attention = backends[b];
    reset_peak(dev);
    dit->forward(x, t, ctx, {}, {}, fwds[b]);
    synchronize(dev);
    peaks[b] = peak_gib(dev);
  }
  auto median_of = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  // The rows so far (rewritten after every round: a backend that kills the process leaves the
  // rounds before it in the file).
  auto report_rows = [&] {
    report["dit"] = nlohmann::json::array();
    for (size_t b = 0; b < n; ++b) {
      if (times[b].empty()) continue;
      report["dit"].push_back({{"attention", kernels::attention_options_name(backends[b])},
                               {"seconds_per_forward", median_of(times[b])},
                               {"seconds_all", times[b]},
                               {"peak_gib", peaks[b]}});
    }
    write_report();
  };
  for (int i = 0; i < o.repeat; ++i) {
    if (!o.run.quiet && n > 1) log_info("bench: round " + std::to_string(i + 1) + "/" + std::to_string(o.repeat));
    for (size_t k = 0; k < n; ++k) {
      const size_t b = (k + static_cast<size_t>(i)) % n;
      const auto t0 = Clock::now();
      dit->forward(x, t, ctx, {}, {}, fwds[b]);
      synchronize(dev);
      times[b].push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    report_rows();
  }
  for (size_t b = 0; b < n; ++b) {
    const double median = median_of(times[b]);
    const std::string name = kernels::attention_options_name(backends[b]);
    std::cout << std::left << std::setw(30) << name << std::right << std::fixed
              << std::setprecision(4) << std::setw(14) << median << std::setw(16) << 2 * median << std::setprecision(2)
              << std::setw(14);
    if (dev.is_cuda()) {
      std::cout << peaks[b] << "\n";
    } else {
      std::cout << "-" << "\n";  // the CPU allocator keeps no peak statistics
    }
  }
  if (o.breakdown) {
    for (size_t b = 0; b < n; ++b) {
      const std::string name = kernels::attention_options_name(backends[b]);
      report["dit"][b]["breakdown"] = breakdown(dit, x, t, ctx, fwds[b], dev, name);
      write_report();
    }
  }
  dit = nullptr;

  // ---- VAE decode ---------------------------------------------------------------------------------
  if (o.vae) {
    const auto vae_config = o.model == "tiny" ? engine::tiny_model_config().vae : models::vae::VaeConfig::wan21();
    models::vae::WanVAE vae(vae_config, at::TensorOptions().device(dev));
    randomize(vae, dev);
    at::Tensor z = engine::initial_noise({1, vae_config.z_dim, T, h, w}, 1, dev);
    reset_peak(dev);
    const auto t0 = Clock::now();
    int64_t frames = 0;
    vae.decode_streaming(z, [&](const at::Tensor& chunk) { frames += chunk.size(2); });
    synchronize(dev);
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    std::cout << "VAE decode (fp32): " << std::setprecision(3) << secs << " s for " << frames << " frames";
    if (dev.is_cuda()) std::cout << ", peak " << std::setprecision(2) << peak_gib(dev) << " GiB";
    std::cout << "\n";
    report["vae_decode"] = {{"seconds", secs}, {"frames", frames}, {"peak_gib", peak_gib(dev)}};
  }
  write_report();
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app, Commands& commands) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Time the DiT (per attention backend) and the VAE decode at a model's real shapes, random weights");
  cmd->add_option("--model", o->model, "Shapes to time: t2v-1.3b, t2v-14b or tiny")->capture_default_str();
  cmd->add_option("--size", o->size, "WIDTHxHEIGHT [default: 832x480 for 1.3B, 1280x720 for 14B]");
  cmd->add_option("--frames", o->frames, "Frames (4k+1)")->capture_default_str();
  cmd->add_option("--repeat", o->repeat,
                  "Timed forward passes per backend, in rounds that alternate the backends (the median is reported)")
      ->capture_default_str();
  cmd->add_option("--attention", o->attention,
                  "Comma-separated attention backends to compare: auto, sdpa, cudnn, flash, gallop, reference, or "
                  "gallop's kernels by name (" +
                      kernels::gallop_kernel_names() + "; a kernel that does not apply falls back like gallop)")
      ->capture_default_str();
  cmd->add_option("--json", o->json_path, "Also write the results as JSON to this file");
  cmd->add_flag("!--no-vae", o->vae, "Skip the VAE decode timing");
  cmd->add_flag("--breakdown", o->breakdown,
                "Also time one more forward per backend step by step (norms, linears, attention, ...; each summed "
                "over the blocks)");
  add_run_options(*cmd, o->run, /*attention_option=*/false);  // bench takes a list (above)
  commands.add("bench", [o]() { return run_bench(*o); });
}

}  // namespace gallop::tools

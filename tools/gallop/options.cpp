#include "tools/gallop/options.h"

#include "engine/core/error.h"

namespace gallop::tools {

void add_run_options(CLI::App& cmd, RunOptions& o, bool attention_option) {
  cmd.add_option("--device", o.device, "Where to run: auto (CUDA when a GPU is visible), cuda, cuda:N or cpu")
      ->capture_default_str();
  cmd.add_option("--dtype", o.dtype,
                 "Precision: bf16 (the official mixed-precision map) or fp32 [default: bf16 on CUDA, fp32 on CPU]");
  if (attention_option)
    cmd.add_option("--attention", o.attention,
                   "Attention backend: auto, sdpa, cudnn, flash, gallop or reference (auto picks the fastest "
                   "measured), or one of gallop's kernels by name (gallop-sm90-ws-p2, ...; see gallop bench --help)")
        ->capture_default_str();
  cmd.add_option("--text-encoder-device", o.text_encoder_device,
                 "Where the text encoder runs (e.g. cpu to save GPU memory) [default: --device]");
  cmd.add_flag("-q,--quiet", o.quiet, "No progress output (errors still go to standard error)");
}

engine::RunPolicy make_run_policy(const RunOptions& o) {
  engine::RunPolicy p;
  p.device = engine::parse_device(o.device);
  if (o.dtype.empty()) {
    p.dtype = p.device.is_cuda() ? at::kBFloat16 : at::kFloat;
  } else {
    p.dtype = engine::parse_dtype(o.dtype);
  }
  p.text_encoder_device = o.text_encoder_device.empty() ? p.device : engine::parse_device(o.text_encoder_device);
  try {
    p.attention = kernels::parse_attention_options(o.attention);
  } catch (const std::invalid_argument& e) {
    fail(ErrorKind::InvalidArgument, e.what());
  }
  return p;
}

}  // namespace gallop::tools

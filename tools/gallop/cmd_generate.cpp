// gallop generate: text to video.
#include <iostream>
#include <sstream>

#include "engine/core/error.h"
#include "engine/core/log.h"
#include "engine/pipeline/model_source.h"
#include "engine/pipeline/text_to_video.h"
#include "tools/gallop/commands.h"
#include "tools/gallop/options.h"
#include "tools/gallop/terminal_progress.h"

namespace gallop::tools {

namespace {

std::string num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

struct GenerateOptions {
  std::string model, prompt, negative_prompt, size, solver = "unipc", output, save_latents, save_frames;
  std::optional<int> frames, steps, fps, crf;
  std::optional<double> guidance, shift;
  std::optional<uint64_t> seed;
  bool negative_given = false;
  RunOptions run;
};

int run_generate(const GenerateOptions& o) {
  engine::GenerateRequest req;
  req.model = o.model;
  req.prompt = o.prompt;
  if (o.negative_given) req.negative_prompt = o.negative_prompt;
  if (!o.size.empty()) {
    auto [w, h] = engine::parse_size(o.size);
    req.width = w;
    req.height = h;
  }
  req.frames = o.frames;
  req.steps = o.steps;
  req.guidance = o.guidance;
  req.shift = o.shift;
  req.solver = engine::parse_solver(o.solver);
  req.seed = o.seed;
  if (o.fps) req.fps = *o.fps;
  if (o.crf) req.crf = *o.crf;
  req.output = o.output;
  req.save_latents = o.save_latents;
  req.save_frames = o.save_frames;

  // Everything that can be checked is checked before any weights are read.
  const engine::RunPolicy policy = make_run_policy(o.run);
  auto source = engine::open_model_source(req.model);
  const engine::ResolvedGenerate r = engine::resolve_generate(req, source->defaults());
  if (!o.run.quiet) {
    log_info("model: " + source->description());
    log_info("seed: " + std::to_string(r.seed) + (r.seed_was_drawn ? " (drawn at random; pass --seed to repeat)" : ""));
    log_info("video: " + std::to_string(r.width) + "x" + std::to_string(r.height) + ", " + std::to_string(r.frames) +
             " frames at " + std::to_string(r.fps) + " fps; " + std::to_string(r.steps) + " steps of " +
             engine::solver_name(r.solver) + ", guidance " + num(r.guidance) + ", shift " + num(r.shift) + "; " + (policy.dtype == at::kBFloat16 ? "bf16" : "fp32") + " on " +
             policy.device.str());
  }
  install_interrupt_handlers();
  TerminalProgress progress(o.run.quiet);
  const auto result = engine::generate_video(r, *source, policy, progress);
  for (const auto& path : result.written) std::cout << path.string() << "\n";
  return 0;
}

}  // namespace

void add_generate_command(CLI::App& app, Commands& commands) {
  auto o = std::make_shared<GenerateOptions>();
  CLI::App* cmd = app.add_subcommand("generate", "Text to video with a Wan2.1 T2V model (or the built-in tiny model)");
  cmd->add_option("--model", o->model, "Checkpoint folder or file, or 'tiny' for the built-in tiny model")->required();
  cmd->add_option("-p,--prompt", o->prompt, "What the video shows")->required();
  cmd->add_option("-n,--negative-prompt", o->negative_prompt,
                  "What to steer away from [default: the official Chinese negative prompt]")
      ->each([o](const std::string&) { o->negative_given = true; });
  cmd->add_option("--size", o->size,
                  "WIDTHxHEIGHT (or W*H), multiples of 16 [default: 832x480 for 1.3B, 1280x720 for 14B, 128x96 tiny]");
  cmd->add_option("--frames", o->frames, "Frames, of the form 4k+1 [default: 81; 17 tiny]");
  cmd->add_option("--steps", o->steps, "Denoising steps [default: 50; 4 tiny]");
  cmd->add_option("--guidance", o->guidance, "Classifier-free guidance scale [default: 5.0]");
  cmd->add_option("--shift", o->shift, "Flow-matching sigma shift [default: 5.0]");
  cmd->add_option("--solver", o->solver, "Sampler: unipc (official default), dpm++ or euler")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Random seed [default: drawn at random and printed]");
  cmd->add_option("--fps", o->fps, "Frames per second of the MP4 [default: 16]");
  cmd->add_option("--crf", o->crf, "H.264 quality, 0 (lossless) to 51 [default: 10, as the official code]");
  cmd->add_option("-o,--output", o->output, "MP4 file to write");
  cmd->add_option("--save-latents", o->save_latents,
                  "Also write the final latents (.safetensors, with the run's settings) before decoding");
  cmd->add_option("--save-frames", o->save_frames, "Also write every frame as a lossless PNG into this folder");
  add_run_options(*cmd, o->run);
  commands.add("generate", [o]() { return run_generate(*o); });
}

}  // namespace gallop::tools

// gallop decode: decodes latents saved by `generate --save-latents` into an MP4 and/or PNG frames
// with the checkpoint's VAE; size, frame count and fps come from the latents file.
#include <iostream>

#include "engine/core/atomic_file.h"
#include "engine/core/error.h"
#include "engine/core/log.h"
#include "engine/pipeline/decode.h"
#include "engine/pipeline/model_source.h"
#include "tools/gallop/commands.h"
#include "tools/gallop/options.h"
#include "tools/gallop/terminal_progress.h"

namespace gallop::tools {

namespace {

struct DecodeOptions {
  std::string model, latents, output, save_frames;
  std::optional<int> fps, crf;
  RunOptions run;
};

int run_decode(const DecodeOptions& o) {
  const engine::RunPolicy policy = make_run_policy(o.run);
  GALLOP_CHECK(!o.output.empty() || !o.save_frames.empty(), InvalidArgument,
               "no output: give -o OUT.mp4 and/or --save-frames DIR");
  if (!o.output.empty()) check_output_writable(o.output);
  if (!o.save_frames.empty() && !std::filesystem::is_directory(o.save_frames)) check_output_writable(o.save_frames);
  const engine::SavedLatents saved = engine::read_saved_latents(o.latents);
  auto source = engine::open_model_source(o.model);
  engine::DecodeOutputs outputs;
  outputs.video = o.output;
  outputs.frames = o.save_frames;
  outputs.fps = o.fps.value_or(saved.fps);
  outputs.crf = o.crf.value_or(10);
  GALLOP_CHECK(outputs.fps >= 1 && outputs.fps <= 240, InvalidArgument, "fps = ", outputs.fps, " must be 1..240");
  GALLOP_CHECK(outputs.crf >= 0 && outputs.crf <= 51, InvalidArgument, "crf = ", outputs.crf, " must be 0..51");
  if (!o.run.quiet)
    log_info("decoding " + std::to_string(saved.frames) + " frames of " + std::to_string(saved.width) + "x" +
             std::to_string(saved.height) + " at " + std::to_string(outputs.fps) + " fps with the VAE of " +
             source->description());
  install_interrupt_handlers();
  TerminalProgress progress(o.run.quiet);
  progress.stage_begin("decode", static_cast<int>(saved.latents.size(1)));
  auto vae = source->load_vae(policy.device);
  std::vector<std::filesystem::path> written;
  engine::decode_to_outputs(*vae, saved.latents.unsqueeze(0).to(policy.device), outputs, progress, &written);
  progress.stage_end("decode", 0);
  for (const auto& p : written) std::cout << p.string() << "\n";
  return 0;
}

}  // namespace

void add_decode_command(CLI::App& app, Commands& commands) {
  auto o = std::make_shared<DecodeOptions>();
  CLI::App* cmd = app.add_subcommand("decode", "Decode latents saved by generate --save-latents into a video");
  cmd->add_option("--model", o->model, "The checkpoint whose VAE decodes them (folder, or 'tiny')")->required();
  cmd->add_option("--latents", o->latents, "Latents file written by generate --save-latents")->required();
  cmd->add_option("-o,--output", o->output, "MP4 file to write");
  cmd->add_option("--save-frames", o->save_frames, "Also write every frame as a lossless PNG into this folder");
  cmd->add_option("--fps", o->fps, "Frames per second [default: the one saved with the latents]");
  cmd->add_option("--crf", o->crf, "H.264 quality, 0 (lossless) to 51 [default: 10]");
  add_run_options(*cmd, o->run, /*attention_option=*/false);
  commands.add("decode", [o]() { return run_decode(*o); });
}

}  // namespace gallop::tools

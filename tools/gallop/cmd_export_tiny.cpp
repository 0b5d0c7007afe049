// gallop export-tiny: writes the built-in tiny model to disk as a real checkpoint, in the official
// Wan2.1 folder layout, the Diffusers folder layout, or as a single .safetensors DiT file.
#include <iostream>

#include "engine/pipeline/tiny_model.h"
#include "tools/gallop/commands.h"

namespace gallop::tools {

void add_export_tiny_command(CLI::App& app, Commands& commands) {
  struct Options {
    std::string layout = "official";
    std::string output;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "export-tiny", "Write the built-in tiny model (random weights) as a checkpoint, to test loaders and tools");
  cmd->add_option("--layout", o->layout,
                  "official (Wan2.1 folder), diffusers (Diffusers folder) or single (one .safetensors DiT file)")
      ->capture_default_str();
  cmd->add_option("-o,--output", o->output, "New folder (official, diffusers) or .safetensors file (single)")
      ->required();
  commands.add("export-tiny", [o]() {
    engine::write_tiny_checkpoint(o->output, engine::parse_tiny_layout(o->layout));
    std::cout << o->output << "\n";
    return 0;
  });
}

}  // namespace gallop::tools

#include "tools/gallop/commands.h"

#include "engine/core/error.h"

namespace gallop::tools {

void register_commands(CLI::App& app, Commands& commands) {
  add_generate_command(app, commands);
  add_decode_command(app, commands);
  add_info_command(app, commands);
  add_export_tiny_command(app, commands);
  add_bench_command(app, commands);
  add_pending_commands(app, commands);
}

// Subcommands whose pipelines have not landed yet: they exist so that the command line has its
// final shape, say so in --help, and fail with a clear message.
void add_pending_commands(CLI::App& app, Commands& commands) {
  struct Pending {
    const char* name;
    const char* what;
  };
  static const Pending kPending[] = {
      {"animate", "Image to video (not available yet in this build: arrives with the image-to-video pipeline)"},
  };
  for (const auto& p : kPending) {
    app.add_subcommand(p.name, p.what)->allow_extras();
    std::string name = p.name;
    commands.add(name, [name]() -> int {
      fail(ErrorKind::Unsupported, "'gallop ", name, "' is not available in this build yet");
    });
  }
}

}  // namespace gallop::tools

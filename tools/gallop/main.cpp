// gallop: the command line. Subcommand dispatch and error-to-exit-status mapping only; each
// subcommand lives in its own cmd_*.cpp and calls into the engine.
//
// Exit status: 0 success, 1 runtime error, 2 usage error (bad options or request), 130 stopped
// by Ctrl-C.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <iostream>

#include "engine/core/error.h"
#include "engine/core/features.h"
#include "tools/gallop/commands.h"

namespace {

void print_version() {
  std::cout << "gallop " << gallop::version() << "\n";
  for (const auto& [name, value] : gallop::build_features()) std::cout << "  " << name << ": " << value << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gallop: text/image-to-video diffusion inference (Wan2.1)", "gallop"};
  app.require_subcommand(0, 1);
  bool show_version = false;
  app.add_flag("--version", show_version, "Print the version and this build's features, then exit");

  gallop::tools::Commands commands;
  gallop::tools::register_commands(app, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "gallop: " << e.what() << "\n(run 'gallop --help' for usage)\n";
    return 2;
  }
  if (show_version) {
    print_version();
    return 0;
  }
  if (app.get_subcommands().empty()) {
    std::cerr << app.help();
    return 2;
  }
  try {
    return commands.run(app.get_subcommands().front()->get_name());
  } catch (const gallop::Error& e) {
    std::cerr << "gallop: error: " << e.what() << "\n";
    if (e.kind() == gallop::ErrorKind::Cancelled) return 130;  // the shell's status for SIGINT
    return e.kind() == gallop::ErrorKind::InvalidArgument ? 2 : 1;
  } catch (const c10::Error& e) {
    std::cerr << "gallop: error: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "gallop: error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "gallop: error: " << e.what() << "\n";
    return 1;
  }
}

// The subcommands of gallop. Each cmd_*.cpp adds its options to the CLI::App and registers a
// runner; main() runs the chosen one and maps exceptions to exit statuses.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <string>

namespace gallop::tools {

class Commands {
 public:
  void add(const std::string& name, std::function<int()> run) { runners_[name] = std::move(run); }
  int run(const std::string& name) const { return runners_.at(name)(); }

 private:
  std::map<std::string, std::function<int()>> runners_;
};

void register_commands(CLI::App& app, Commands& commands);

// One registration function per subcommand (cmd_<name>.cpp).
void add_info_command(CLI::App& app, Commands& commands);
void add_generate_command(CLI::App& app, Commands& commands);
void add_export_tiny_command(CLI::App& app, Commands& commands);
void add_bench_command(CLI::App& app, Commands& commands);
void add_decode_command(CLI::App& app, Commands& commands);
void add_pending_commands(CLI::App& app, Commands& commands);

}  // namespace gallop::tools

// gallop info PATH: what a checkpoint file or folder holds.
#include <iostream>

#include "engine/core/error.h"
#include "engine/weights/safetensors.h"
#include "tools/gallop/commands.h"

namespace gallop::tools {

namespace {
struct InfoOptions {
  std::string path;
  bool tensors = false;
};
}  // namespace

void add_info_command(CLI::App& app, Commands& commands) {
  auto opts = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand("info", "Describe a checkpoint file (.safetensors) or folder");
  cmd->add_option("path", opts->path, "Checkpoint file or folder")->required();
  cmd->add_flag("--tensors", opts->tensors, "List every tensor with its dtype and shape");
  commands.add("info", [opts]() -> int {
    auto f = engine::SafetensorsFile::open(opts->path);
    int64_t params = 0;
    for (const auto& e : f->entries()) {
      int64_t n = 1;
      for (auto d : e.shape) n *= d;
      params += n;
    }
    std::cout << "file: " << opts->path << "\ntensors: " << f->entries().size() << "\nparameters: " << params << "\n";
    if (opts->tensors)
      for (const auto& e : f->entries())
        std::cout << "  " << e.name << "  " << engine::safetensors_dtype_name(e.dtype) << "  " << at::IntArrayRef(e.shape)
                  << "\n";
    return 0;
  });
}

}  // namespace gallop::tools

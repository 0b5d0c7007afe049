// gallop info PATH [--tensors]: what a checkpoint file or folder holds. Prints the layout, then
// per component its files, format, key dialect, config (config.json or inferred from shapes),
// tensor count, dtypes, parameter count and bytes; --tensors adds every tensor's name, dtype and
// shape. Everything goes to stdout; problems are thrown as gallop::Error for main() to report.
#include <cstdio>
#include <iostream>

#include "engine/core/error.h"
#include "engine/weights/checkpoint.h"
#include "tools/gallop/commands.h"

namespace gallop::tools {

namespace {

struct InfoOptions {
  std::string path;
  bool tensors = false;
};

std::string human_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.2f %s", v, units[u]);
  return buf;
}

void print_component(std::ostream& out, const engine::ComponentInfo& c, bool list_tensors) {
  out << engine::component_kind_name(c.kind) << ": " << (c.present ? "present" : "missing");
  if (!c.present) {
    out << " (" << c.missing_reason << ")\n";
    return;
  }
  if (c.kind == engine::ComponentKind::Unknown) out << " (the keys match no known Wan2.1 model)";
  out << "\n";
  for (const auto& f : c.files) out << "  file: " << f.string() << "\n";
  if (!c.source) return;  // the tokenizer: a file, no tensors
  const engine::TensorSource& s = *c.source;
  out << "  format: " << engine::source_format_name(s.format()) << "\n";
  out << "  dialect: " << engine::key_dialect_name(c.dialect) << "\n";
  if (!c.key_prefix.empty()) out << "  key prefix: " << c.key_prefix << "\n";
  if (!c.config.is_null()) {
    out << "  config";
    if (c.config_inferred)
      out << " (inferred from shapes)";
    else if (!c.config_path.empty())
      out << " (" << c.config_path.string() << ")";
    out << ": " << c.config.dump() << "\n";
  }
  out << "  tensors: " << s.keys().size() << "\n";
  out << "  dtypes:";
  for (const auto& [dtype, count] : s.dtype_histogram()) out << " " << engine::dtype_label(dtype) << " x " << count;
  out << "\n";
  out << "  parameters: " << s.parameter_count() << "\n";
  out << "  bytes: " << s.byte_size() << " (" << human_bytes(s.byte_size()) << ")\n";
  if (list_tensors) {
    for (const auto& name : s.keys()) {
      const auto& info = s.info(name);
      out << "    " << name << "  " << engine::dtype_label(info.dtype) << "  " << at::IntArrayRef(info.shape) << "\n";
    }
  }
}

}  // namespace

void add_info_command(CLI::App& app, Commands& commands) {
  auto opts = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "info", "Describe a checkpoint: a file (.safetensors, .safetensors.index.json, .pth) or a folder "
              "(official Wan2.1 or Diffusers layout)");
  cmd->add_option("path", opts->path, "Checkpoint file or folder")->required();
  cmd->add_flag("--tensors", opts->tensors, "Also list every tensor with its dtype and shape");
  commands.add("info", [opts]() -> int {
    const engine::CheckpointInfo info = engine::detect_checkpoint(opts->path);
    std::ostream& out = std::cout;
    out << "path: " << info.path.string() << "\n";
    out << "layout: " << engine::checkpoint_layout_name(info.layout) << "\n";
    if (!info.model_index.is_null() && info.model_index.contains("_class_name"))
      out << "pipeline: " << info.model_index["_class_name"].dump() << "\n";
    if (!info.scheduler_config.is_null()) out << "scheduler: " << info.scheduler_config.dump() << "\n";
    for (const auto& c : info.components) print_component(out, c, opts->tensors);
    out.flush();
    return 0;
  });
}

}  // namespace gallop::tools

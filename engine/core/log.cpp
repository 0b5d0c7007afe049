#include "engine/core/log.h"

#include <cstdio>

namespace gallop {
namespace {

LogLevel g_min_level = LogLevel::Info;
LogSink g_sink;

void default_sink(LogLevel level, const std::string& message) {
  const char* prefix = level == LogLevel::Warn ? "warning: " : level == LogLevel::Error ? "error: " : "";
  std::fprintf(stderr, "%s%s\n", prefix, message.c_str());
}

}  // namespace

void set_log_sink(LogSink sink) { g_sink = std::move(sink); }
void set_log_level(LogLevel min_level) { g_min_level = min_level; }

void log(LogLevel level, const std::string& message) {
  if (static_cast<int>(level) < static_cast<int>(g_min_level)) return;
  if (g_sink) {
    g_sink(level, message);
  } else {
    default_sink(level, message);
  }
}

}  // namespace gallop

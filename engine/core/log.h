// Logging: library code reports through log_info/log_warn; the sink (set by tools/) decides
// where it goes. The default sink writes to standard error.
#pragma once

#include <functional>
#include <string>

namespace gallop {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };

using LogSink = std::function<void(LogLevel, const std::string&)>;

// Replace the sink (nullptr restores the default stderr sink). Not thread-safe against
// concurrent logging; set it once at start-up.
void set_log_sink(LogSink sink);
void set_log_level(LogLevel min_level);
void log(LogLevel level, const std::string& message);
inline void log_debug(const std::string& m) { log(LogLevel::Debug, m); }
inline void log_info(const std::string& m) { log(LogLevel::Info, m); }
inline void log_warn(const std::string& m) { log(LogLevel::Warn, m); }

}  // namespace gallop

// printable(): a name read from a checkpoint, made safe to put in a one-line error message:
// control characters (newlines included) become '?', and long names are cut.
#pragma once

#include <string>
#include <string_view>

namespace gallop::engine {

inline std::string printable(std::string_view name) {
  constexpr size_t kMaxChars = 200;
  std::string out;
  for (char c : name.substr(0, kMaxChars)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? '?' : c);
  }
  if (name.size() > kMaxChars) out += "...";
  return out;
}

}  // namespace gallop::engine

// gallop::Error: the one exception type the library throws.
//
// Library code never prints and never exits; it throws an Error whose kind tells the command
// line tool which exit status to use (InvalidArgument -> 2 "usage error", everything else -> 1).
// The message is one line that names the problem and, where there is one, the file.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace gallop {

enum class ErrorKind {
  InvalidArgument,  // the request itself is wrong (bad size, unknown option value): exit 2
  NotFound,         // a file, tensor or component that must exist does not
  Format,           // a file exists but its contents are malformed or unsupported
  Io,               // reading or writing failed at the OS / library level
  Unsupported,      // valid, but not something this build or device can do
  OutOfMemory,      // an allocation failed
  Cancelled,        // the user stopped the run (Ctrl-C)
  Internal,         // a broken invariant inside gallop
};

const char* error_kind_name(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

namespace detail {
template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}
}  // namespace detail

template <typename... Args>
[[noreturn]] void fail(ErrorKind kind, Args&&... args) {
  throw Error(kind, detail::concat(std::forward<Args>(args)...));
}

}  // namespace gallop

// GALLOP_CHECK(cond, kind, message parts...): throw gallop::Error(kind, message) unless cond.
#define GALLOP_CHECK(cond, kind, ...)                              \
  do {                                                             \
    if (!(cond)) ::gallop::fail(::gallop::ErrorKind::kind, __VA_ARGS__); \
  } while (0)

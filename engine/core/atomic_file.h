// Outputs that appear whole or not at all: everything gallop writes goes to a temporary file
// beside the target and is renamed over it on success. A failure (or Ctrl-C, which unwinds
// through the destructor) removes the temporary file and leaves no half-written output.
#pragma once

#include <cstddef>
#include <cstdio>
#include <filesystem>

namespace gallop {

// Throws gallop::Error(InvalidArgument) naming the problem when `target` cannot be written:
// missing parent directory, a directory in its place, or no write permission. Meant to run
// before any heavy work.
void check_output_writable(const std::filesystem::path& target);

// Removes every temporary file of a PendingOutput that is still open. Async-signal-safe: meant
// for a signal handler that is about to _exit().
void remove_pending_outputs_signal_safe();

// A temporary path beside `target`; removed on destruction unless commit() renamed it.
class PendingOutput {
 public:
  explicit PendingOutput(std::filesystem::path target);
  ~PendingOutput();
  PendingOutput(const PendingOutput&) = delete;
  PendingOutput& operator=(const PendingOutput&) = delete;

  const std::filesystem::path& temp_path() const { return temp_; }
  const std::filesystem::path& target() const { return target_; }
  void commit();  // rename temp -> target; throws gallop::Error(Io)

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  bool committed_ = false;
  int slot_ = -1;  // registry slot for remove_pending_outputs_signal_safe()
};

// Buffered binary writer on top of PendingOutput.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::filesystem::path target);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t bytes);  // throws gallop::Error(Io)
  void commit();                               // flush, close, rename

 private:
  PendingOutput pending_;
  std::FILE* file_ = nullptr;
};

}  // namespace gallop

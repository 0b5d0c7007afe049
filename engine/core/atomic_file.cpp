#include "engine/core/atomic_file.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "engine/core/error.h"

namespace gallop {

namespace fs = std::filesystem;

namespace {

// Registry of open temporary files for remove_pending_outputs_signal_safe(): fixed slots of
// plain char buffers, claimed and released with atomics, so a signal handler can read them.
constexpr int kMaxPending = 32;
constexpr size_t kMaxPathBytes = 4096;
struct PendingSlot {
  std::atomic<int> state{0};  // 0 free, 1 being written, 2 holds a path
  char path[kMaxPathBytes];
};
PendingSlot g_pending[kMaxPending];

int register_pending(const fs::path& p) {
  const std::string s = p.string();
  if (s.size() + 1 > kMaxPathBytes) return -1;
  for (int i = 0; i < kMaxPending; ++i) {
    int expected = 0;
    if (g_pending[i].state.compare_exchange_strong(expected, 1)) {
      std::memcpy(g_pending[i].path, s.c_str(), s.size() + 1);
      g_pending[i].state.store(2);
      return i;
    }
  }
  return -1;
}

void unregister_pending(int slot) {
  if (slot >= 0) g_pending[slot].state.store(0);
}

}  // namespace

void remove_pending_outputs_signal_safe() {
  for (auto& slot : g_pending)
    if (slot.state.load() == 2) ::unlink(slot.path);
}

void check_output_writable(const fs::path& target) {
  const std::string name = target.string();
  GALLOP_CHECK(!name.empty(), InvalidArgument, "output path is empty");
  std::error_code ec;
  if (fs::is_directory(target, ec))
    fail(ErrorKind::InvalidArgument, name, ": output path is a directory");
  fs::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec))
    fail(ErrorKind::InvalidArgument, name, ": output directory '", dir.string(), "' does not exist");
  if (::access(dir.c_str(), W_OK) != 0)
    fail(ErrorKind::InvalidArgument, name, ": output directory '", dir.string(), "' is not writable");
  if (fs::exists(target, ec) && ::access(target.c_str(), W_OK) != 0)
    fail(ErrorKind::InvalidArgument, name, ": existing output file is not writable");
}

PendingOutput::PendingOutput(fs::path target) : target_(std::move(target)) {
  static std::atomic<unsigned> counter{0};
  fs::path dir = target_.parent_path();
  std::string tmp_name = "." + target_.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                         std::to_string(counter++);
  temp_ = dir.empty() ? fs::path(tmp_name) : dir / tmp_name;
  // Keep the extension last: FFmpeg picks the container from it.
  temp_ += target_.extension();
  slot_ = register_pending(temp_);
}

PendingOutput::~PendingOutput() {
  unregister_pending(slot_);
  if (!committed_) {
    std::error_code ec;
    fs::remove(temp_, ec);
  }
}

void PendingOutput::commit() {
  std::error_code ec;
  fs::rename(temp_, target_, ec);
  if (ec) fail(ErrorKind::Io, target_.string(), ": cannot move the finished file into place: ", ec.message());
  committed_ = true;
  unregister_pending(slot_);
  slot_ = -1;
}

AtomicFileWriter::AtomicFileWriter(fs::path target) : pending_(std::move(target)) {
  file_ = std::fopen(pending_.temp_path().c_str(), "wb");
  if (!file_)
    fail(ErrorKind::Io, pending_.target().string(), ": cannot create output file: ", std::strerror(errno));
}

AtomicFileWriter::~AtomicFileWriter() {
  if (file_) std::fclose(file_);
}

void AtomicFileWriter::write(const void* data, size_t bytes) {
  if (bytes == 0) return;
  if (std::fwrite(data, 1, bytes, file_) != bytes)
    fail(ErrorKind::Io, pending_.target().string(), ": write failed: ", std::strerror(errno));
}

void AtomicFileWriter::commit() {
  const bool ok = std::fflush(file_) == 0 && ::fsync(fileno(file_)) == 0;
  const int err = errno;
  std::fclose(file_);
  file_ = nullptr;
  if (!ok) fail(ErrorKind::Io, pending_.target().string(), ": write failed: ", std::strerror(err));
  pending_.commit();
}

}  // namespace gallop

#include "tools/gallop/terminal_progress.h"

#include <csignal>
#include <cstdio>
#include <unistd.h>

#include "engine/core/atomic_file.h"

namespace gallop::tools {

namespace {

std::atomic<int> g_interrupts{0};

void on_signal(int sig) {
  if (g_interrupts.fetch_add(1) >= 1) {
    remove_pending_outputs_signal_safe();
    _exit(128 + sig);
  }
  const char msg[] = "\ngallop: stopping after the current step (press Ctrl-C again to stop at once)\n";
  ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof(msg) - 1);
  (void)ignored;
}

std::string format_duration(double s) {
  if (s < 0) s = 0;
  int total = static_cast<int>(s + 0.5);
  char buf[32];
  if (total >= 3600)
    std::snprintf(buf, sizeof buf, "%d:%02d:%02d", total / 3600, (total / 60) % 60, total % 60);
  else
    std::snprintf(buf, sizeof buf, "%d:%02d", total / 60, total % 60);
  return buf;
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool interrupt_requested() { return g_interrupts.load() > 0; }

TerminalProgress::TerminalProgress(bool quiet) : quiet_(quiet), tty_(::isatty(STDERR_FILENO) == 1) {}

bool TerminalProgress::cancelled() const { return interrupt_requested(); }

void TerminalProgress::stage_begin(const std::string& stage, int total_steps) {
  stage_ = stage;
  stage_start_ = std::chrono::steady_clock::now();
  last_draw_ = {};
  if (quiet_) return;
  if (total_steps > 0) {
    draw(0, total_steps);
  } else {
    std::fprintf(stderr, tty_ ? "\r\033[K[%s] ..." : "[%s] ...\n", stage.c_str());
    std::fflush(stderr);
  }
}

void TerminalProgress::stage_step(int done, int total_steps) {
  if (!quiet_) draw(done, total_steps);
}

void TerminalProgress::draw(int done, int total) {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - stage_start_).count();
  // On a pipe, print only every 10% (and the end) so that logs stay readable.
  if (!tty_ && done != total && done != 0 && (done * 10 / total) == ((done - 1) * 10 / total)) return;
  constexpr int kWidth = 24;
  const int filled = total > 0 ? done * kWidth / total : 0;
  std::string bar(filled, '#');
  bar.resize(kWidth, '.');
  char rate[64] = "";
  if (done > 0) {
    const double per = elapsed / done;
    if (per >= 1.0 || per == 0.0)
      std::snprintf(rate, sizeof rate, ", %.2f s/step, ETA %s", per, format_duration(per * (total - done)).c_str());
    else
      std::snprintf(rate, sizeof rate, ", %.2f steps/s, ETA %s", 1.0 / per, format_duration(per * (total - done)).c_str());
  }
  std::fprintf(stderr, tty_ ? "\r\033[K[%s] %d/%d |%s| %s%s" : "[%s] %d/%d |%s| %s%s\n", stage_.c_str(), done, total,
               bar.c_str(), format_duration(elapsed).c_str(), rate);
  std::fflush(stderr);
  last_draw_ = now;
}

void TerminalProgress::stage_end(const std::string& stage, double seconds) {
  if (quiet_) return;
  std::fprintf(stderr, tty_ ? "\r\033[K[%s] done in %.1f s\n" : "[%s] done in %.1f s\n", stage.c_str(), seconds);
  std::fflush(stderr);
}

}  // namespace gallop::tools

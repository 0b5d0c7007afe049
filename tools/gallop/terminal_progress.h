// Progress on the terminal: stage names, step i/N, seconds per step and ETA, drawn on standard
// error (one updating line on a terminal, plain lines otherwise). Ctrl-C sets the cancellation
// flag that the engine polls between steps.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "engine/core/progress.h"

namespace gallop::tools {

class TerminalProgress : public Progress {
 public:
  explicit TerminalProgress(bool quiet);
  void stage_begin(const std::string& stage, int total_steps) override;
  void stage_step(int done, int total_steps) override;
  void stage_end(const std::string& stage, double seconds) override;
  bool cancelled() const override;

 private:
  void draw(int done, int total);
  bool quiet_;
  bool tty_;
  std::string stage_;
  std::chrono::steady_clock::time_point stage_start_;
  std::chrono::steady_clock::time_point last_draw_;
};

// Installs the SIGINT/SIGTERM handlers: the first signal asks the run to stop at the next step
// boundary (outputs are then removed by their owners); a second one removes any unfinished
// output files and exits at once with status 130.
void install_interrupt_handlers();
bool interrupt_requested();

}  // namespace gallop::tools

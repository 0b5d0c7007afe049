// Progress and cancellation for long-running work.
//
// Library code never draws anything: it reports stages and steps to a Progress object that the
// caller supplies (tools/ draws the terminal bar from it), and it polls cancelled() between units
// of work (denoising steps, decoded frame chunks), throwing Error(Cancelled) when it is set.
#pragma once

#include <string>

namespace gallop {

class Progress {
 public:
  virtual ~Progress() = default;
  // A named stage ("encode prompt", "denoise", "decode", "write video") with `total_steps` units
  // (0 when it has no steps).
  virtual void stage_begin(const std::string& stage, int total_steps) {}
  // `done` units of the current stage have finished (1..total_steps).
  virtual void stage_step(int done, int total_steps) {}
  virtual void stage_end(const std::string& stage, double seconds) {}
  // Polled between units of work; true stops the run with Error(Cancelled).
  virtual bool cancelled() const { return false; }
};

// A Progress that reports nothing and never cancels.
Progress& null_progress();

// Throws gallop::Error(Cancelled) when progress.cancelled().
void throw_if_cancelled(const Progress& progress);

}  // namespace gallop

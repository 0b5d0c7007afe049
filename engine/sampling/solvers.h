// Internal to engine/sampling: the concrete schedulers behind make_scheduler, and the one scalar
// formula they share.
#pragma once

#include <ATen/ATen.h>

#include <memory>

#include "engine/sampling/scheduler.h"

namespace gallop::engine::sampling_detail {

std::unique_ptr<Scheduler> make_unipc(int num_steps, double shift);
std::unique_ptr<Scheduler> make_dpmpp(int num_steps, double shift);
std::unique_ptr<Scheduler> make_euler(int num_steps, double shift);

// lambda(sigma) = log(1 - sigma) - log(sigma) on a 0-dim float32 CPU tensor, evaluated with the
// same ops as the reference (+inf at sigma = 0, -inf at sigma = 1).
inline at::Tensor log_snr(const at::Tensor& sigma) {
  const at::Tensor alpha = at::rsub(sigma, 1);  // 1 - sigma
  return at::log(alpha) - at::log(sigma);
}

}  // namespace gallop::engine::sampling_detail

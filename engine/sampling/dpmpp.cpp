// Official Wan2.1 DPM-Solver++ (FlowDPMSolverMultistepScheduler as the text-to-video loop uses it):
// multistep order 2 with the midpoint update, first order at the first and at the last step
// (final sigma 0), on the explicit grid sigma_i = shift(linspace(1, 0, N+1)[i]). See spec 6.4.
//
// sigma_0 = 1 makes lambda_0 = log(0) - log(1) = -inf. The reference relies on IEEE arithmetic
// there and so does this file: the first update becomes sigma_1 x + alpha_1 m_0 (exp(-inf) = 0),
// and at step 1 r0 = +inf, so the second-order term 1/r0 (m_1 - m_0) is exactly (signed) zero.
// Nothing here may be built with fast-math.
//
// As in unipc.cpp, each scalar factor is a 0-dim float32 CPU tensor and each op a separate ATen op
// in the reference's order, including `1.0 / r0`, which PyTorch evaluates as reciprocal(r0) * 1.0.
#include <algorithm>
#include <memory>
#include <utility>

#include "engine/sampling/sigma_schedule.h"
#include "engine/sampling/solvers.h"

namespace gallop::engine::sampling_detail {
namespace {

constexpr int kSolverOrder = 2;

class DPMppScheduler final : public Scheduler {
 public:
  DPMppScheduler(int num_steps, double shift, SigmaSchedule grid)
      : Scheduler(Solver::DPMpp, num_steps, shift, std::move(grid.timesteps), std::move(grid.sigmas)) {}

 protected:
  at::Tensor do_step(const at::Tensor& velocity, const at::Tensor& sample, int i) override {
    // velocity, sample: [B, C, F, H, W] float32
    const at::Tensor m = sample - sigma(i) * velocity;  // [B, C, F, H, W] x0 prediction m_i
    x0_prev_ = x0_cur_;
    x0_cur_ = m;
    const bool last_step = i == num_steps() - 1;  // lower order at the final sigma 0
    at::Tensor next = (lower_order_nums_ < 1 || last_step) ? first_order(sample, i) : second_order(sample, i);
    lower_order_nums_ = std::min(lower_order_nums_ + 1, kSolverOrder);
    return next;
  }

  void clear_history() override {
    x0_prev_ = at::Tensor();
    x0_cur_ = at::Tensor();
    lower_order_nums_ = 0;
  }

 private:
  // x_{i+1} = (sigma_t / sigma_s) x - alpha_t (e^{-h} - 1) m_i
  at::Tensor first_order(const at::Tensor& x, int i) const {
    const at::Tensor sigma_t = sigma(i + 1);
    const at::Tensor sigma_s = sigma(i);
    const at::Tensor alpha_t = at::rsub(sigma_t, 1);
    const at::Tensor h = log_snr(sigma_t) - log_snr(sigma_s);
    return (sigma_t / sigma_s) * x - (alpha_t * (at::exp(-h) - 1.0)) * x0_cur_;
  }

  // Midpoint: additionally - 0.5 alpha_t (e^{-h} - 1) D1 with D1 = (m_i - m_{i-1}) / r0.
  at::Tensor second_order(const at::Tensor& x, int i) const {
    const at::Tensor sigma_t = sigma(i + 1);
    const at::Tensor sigma_s0 = sigma(i);
    const at::Tensor sigma_s1 = sigma(i - 1);
    const at::Tensor alpha_t = at::rsub(sigma_t, 1);
    const at::Tensor lambda_t = log_snr(sigma_t);
    const at::Tensor lambda_s0 = log_snr(sigma_s0);
    const at::Tensor lambda_s1 = log_snr(sigma_s1);
    const at::Tensor h = lambda_t - lambda_s0;
    const at::Tensor h_0 = lambda_s0 - lambda_s1;
    const at::Tensor r0 = h_0 / h;
    const at::Tensor& m0 = x0_cur_;                                    // [B, C, F, H, W]
    const at::Tensor d1 = (at::reciprocal(r0) * 1.0) * (m0 - x0_prev_);  // [B, C, F, H, W]
    return (sigma_t / sigma_s0) * x - (alpha_t * (at::exp(-h) - 1.0)) * m0 -
           0.5 * (alpha_t * (at::exp(-h) - 1.0)) * d1;
  }

  at::Tensor x0_prev_;  // [B, C, F, H, W] m_{i-1}
  at::Tensor x0_cur_;   // [B, C, F, H, W] m_i
  int lower_order_nums_ = 0;
};

}  // namespace

std::unique_ptr<Scheduler> make_dpmpp(int num_steps, double shift) {
  return std::make_unique<DPMppScheduler>(num_steps, shift, dpmpp_schedule(num_steps, shift));
}

}  // namespace gallop::engine::sampling_detail

// Official Wan2.1 UniPC (FlowUniPCMultistepScheduler as the text-to-video loop configures it):
// solver order 2, B(h) = expm1(-h) ("bh2"), updates on the x0 prediction, lower order at the last
// step, UniC corrector at every step after the first, final sigma 0. See spec/wan21.md 6.3.
//
// Step i, with m_i = x_i - sigma_i v_i (x0 prediction) and lambda = log(1 - sigma) - log(sigma):
//   1. corrector (i > 0): re-estimates x_i from the sample before the previous predictor
//      (last_sample), m_{i-1}, m_{i-2} and the new m_i, with the order p chosen at step i-1;
//   2. order p_i = min(2, N - i, steps so far + 1): 1, then 2, and 1 again at the last step;
//   3. predictor: x_{i+1} from the (corrected) x_i, m_i and, for p = 2, m_{i-1}.
//
// Arithmetic follows the reference op by op: scalar factors are 0-dim float32 CPU tensors (so on
// CUDA they enter the kernels as CPU scalars, exactly as in PyTorch), every product, quotient and
// difference is its own ATen op, and the corrector's 2x2 system goes through at::linalg_solve on
// the sample's device: LAPACK on CPU, and on CUDA the same cuSOLVER/MAGMA path the reference takes
// for its CUDA latents (one tiny solve and a device sync per step; negligible next to the DiT).
// Contractions the reference writes as einsum over a length-1 axis are plain products here;
// einsum reduces them to that same product (the CPU goldens check it bit for bit, signed zeros
// included).
#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "engine/sampling/sigma_schedule.h"
#include "engine/sampling/solvers.h"

namespace gallop::engine::sampling_detail {
namespace {

constexpr int kSolverOrder = 2;

class UniPCScheduler final : public Scheduler {
 public:
  UniPCScheduler(int num_steps, double shift, SigmaSchedule grid)
      : Scheduler(Solver::UniPC, num_steps, shift, std::move(grid.timesteps), std::move(grid.sigmas)) {}

 protected:
  at::Tensor do_step(const at::Tensor& velocity, const at::Tensor& sample, int i) override {
    // velocity, sample: [B, C, F, H, W] float32
    const at::Tensor m = sample - sigma(i) * velocity;  // [B, C, F, H, W] x0 prediction m_i
    at::Tensor x = sample;                              // [B, C, F, H, W]
    if (i > 0 && last_sample_.defined()) x = correct(m, i);

    x0_prev_ = x0_cur_;
    x0_cur_ = m;
    order_ = std::min({kSolverOrder, num_steps() - i, lower_order_nums_ + 1});
    last_sample_ = x;
    at::Tensor next = predict(x, i, order_);  // [B, C, F, H, W]
    lower_order_nums_ = std::min(lower_order_nums_ + 1, kSolverOrder);
    return next;
  }

  void clear_history() override {
    x0_prev_ = at::Tensor();
    x0_cur_ = at::Tensor();
    last_sample_ = at::Tensor();
    order_ = 0;
    lower_order_nums_ = 0;
  }

 private:
  // UniP: x_i (corrected) -> x_{i+1}. Uses m_i (x0_cur_) and, for order 2, m_{i-1} (x0_prev_).
  at::Tensor predict(const at::Tensor& x, int i, int order) const {
    const at::Tensor& m0 = x0_cur_;  // [B, C, F, H, W]
    const at::Tensor sigma_t = sigma(i + 1);
    const at::Tensor sigma_s0 = sigma(i);
    const at::Tensor alpha_t = at::rsub(sigma_t, 1);
    const at::Tensor lambda_s0 = log_snr(sigma_s0);
    const at::Tensor h = log_snr(sigma_t) - lambda_s0;  // +inf at the last step (sigma_N = 0)
    const at::Tensor hh = -h;
    const at::Tensor h_phi_1 = at::expm1(hh);
    const at::Tensor b_h = at::expm1(hh);

    const at::Tensor x_t_ = sigma_t / sigma_s0 * x - alpha_t * h_phi_1 * m0;  // [B, C, F, H, W]
    if (order == 1) return x_t_ - alpha_t * b_h * 0;  // the reference subtracts a literal 0 term
    const at::Tensor rk = (log_snr(sigma(i - 1)) - lambda_s0) / h;
    const at::Tensor d1 = (x0_prev_ - m0) / rk;                      // [B, C, F, H, W]
    const at::Tensor rho_p = at::full({}, 0.5, x.options());         // fixed weight of order-2 UniP
    const at::Tensor pred_res = rho_p * d1;                          // [B, C, F, H, W]
    return x_t_ - alpha_t * b_h * pred_res;
  }

  // UniC: re-estimates x_i from last_sample_ (x_{i-1} after its own correction), m_{i-1}, m_{i-2}
  // and the new model output m_t = m_i, with the order chosen at step i-1.
  at::Tensor correct(const at::Tensor& m_t, int i) const {
    const int p = order_;
    const at::Tensor& m0 = x0_cur_;  // [B, C, F, H, W] m_{i-1}
    const at::Tensor& x = last_sample_;
    const at::Tensor sigma_t = sigma(i);
    const at::Tensor sigma_s0 = sigma(i - 1);
    const at::Tensor alpha_t = at::rsub(sigma_t, 1);
    const at::Tensor lambda_s0 = log_snr(sigma_s0);
    const at::Tensor h = log_snr(sigma_t) - lambda_s0;

    at::Tensor rk;  // 0-dim
    at::Tensor d1;  // [B, C, F, H, W]
    if (p == 2) {
      rk = (log_snr(sigma(i - 2)) - lambda_s0) / h;
      d1 = (x0_prev_ - m0) / rk;
    }

    const at::Tensor hh = -h;
    const at::Tensor h_phi_1 = at::expm1(hh);
    at::Tensor h_phi_k = h_phi_1 / hh - 1;
    const at::Tensor b_h = at::expm1(hh);
    std::vector<at::Tensor> b;  // p 0-dim entries
    int64_t factorial = 1;
    for (int k = 1; k <= p; ++k) {
      b.push_back(h_phi_k * factorial / b_h);
      factorial *= k + 1;
      h_phi_k = h_phi_k / hh - 1.0 / static_cast<double>(factorial);
    }

    at::Tensor rhos_c;  // [p] on the sample's device
    if (p == 1) {
      rhos_c = at::full({1}, 0.5, x.options());
    } else {
      // rks = [r_1, 1]; R = [rks^0, rks^1] = [[1, 1], [r_1, 1]]; solve R rho = b.
      const at::Tensor rks = at::stack({rk, at::ones({}, rk.options())}).to(x.device());  // [2]
      const at::Tensor r_mat = at::stack({at::pow(rks, 0), at::pow(rks, 1)});             // [2, 2]
      const at::Tensor b_vec = at::stack(b).to(x.device());                                // [2]
      rhos_c = at::linalg_solve(r_mat, b_vec).to(x.device()).to(x.scalar_type());
    }

    const at::Tensor x_t_ = sigma_t / sigma_s0 * x - alpha_t * h_phi_1 * m0;  // [B, C, F, H, W]
    const at::Tensor d1_t = m_t - m0;                                         // [B, C, F, H, W]
    const at::Tensor rho_last = rhos_c[p - 1];
    // With no history term the reference adds a literal 0 (which turns -0 into +0).
    const at::Tensor corr = p == 2 ? rhos_c[0] * d1 + rho_last * d1_t : at::add(rho_last * d1_t, 0);
    return x_t_ - alpha_t * b_h * corr;
  }

  at::Tensor x0_prev_;      // [B, C, F, H, W] m_{i-1} after step i's shift (undefined at first)
  at::Tensor x0_cur_;       // [B, C, F, H, W] m_i
  at::Tensor last_sample_;  // [B, C, F, H, W] sample the last predictor started from
  int order_ = 0;           // order used by the last predictor = order of the next corrector
  int lower_order_nums_ = 0;
};

}  // namespace

std::unique_ptr<Scheduler> make_unipc(int num_steps, double shift) {
  return std::make_unique<UniPCScheduler>(num_steps, shift, unipc_schedule(num_steps, shift));
}

}  // namespace gallop::engine::sampling_detail

#!/usr/bin/env python3
"""Writes the flow-matching sampler goldens that tests/engine/sampling/ read.

Reference: a Python emulation, written for gallop from spec/wan21.md section 6, of the two solvers of
the official Wan2.1 code (wan/utils/fm_solvers_unipc.py `FlowUniPCMultistepScheduler`, and
wan/utils/fm_solvers.py `FlowDPMSolverMultistepScheduler` + `get_sampling_sigmas`), as the official
text-to-video loop drives them: UniPC order 2 / bh2 / predict-x0 / lower-order-final with the UniC
corrector; DPM-Solver++ 2M midpoint with lower-order final step. The emulation keeps the official
arithmetic: schedules in float64 numpy (np.linspace, shift, int64 truncation, float32 sigmas), every
update in float32 torch ops with the scalar factors as 0-dim float32 CPU tensors, the same operation
order, torch.linalg.solve for the corrector's 2x2 system. Plain Euler (x + (s_next - s) v) runs on the
UniPC sigma grid. Each solver is also run through the matching diffusers scheduler fed the same
explicit sigmas, to show where diffusers agrees (printed, and stored next to the official samples):
  * UniPCMultistepScheduler(use_flow_sigmas=True, flow_shift=1, prediction_type='flow_prediction')
    + set_timesteps(sigmas=<official shifted sigmas>): diffusers does not nudge sigma_0 here (that
    happens only within 1e-6 of 1) and truncates the timesteps the same way;
  * DPMSolverMultistepScheduler(use_flow_sigmas=True, ...): its set_timesteps takes no sigma list and
    builds 1 - linspace(1, 1/1000) instead, so the official sigmas (sigma_0 = 1) are assigned to
    `.sigmas` / `.timesteps` after set_timesteps, and the run starts at index 0 (set_begin_index);
  * FlowMatchEulerDiscreteScheduler(shift=1) + set_timesteps(sigmas=...): its model timesteps are
    the float sigma*1000 (not truncated); the update itself does not use them.

The synthetic "model" is a fixed smooth function v(x, t) (a random linear map over the last axis,
tanh, and a t-dependent term), evaluated at the official integer timesteps.

Files written to tests/data/sampling/:
  schedules.safetensors  <name>.timesteps (int64 [N]) and <name>.sigmas (float32 [N+1]) for the
                         spec 6.7 schedules (unipc_n50_s5, unipc_n40_s5, unipc_n40_s3, dpmpp_n50_s5)
                         and for every per-step case below.
  steps.safetensors      per case <solver>_n<N>_s<shift>: .x (float32 [N+1, *LATENT]: x_0 the noise,
                         x_{i+1} the official emulation's output of step i), .v (float32 [N, *LATENT],
                         the velocity fed at step i), .diffusers (float32 [N, *LATENT]: the diffusers
                         scheduler's output of step i given the same inputs x_i, v_i).
  Metadata of both: package versions, seed, latent shape, case list (JSON).

Run by hand with the project venv (deterministic, fixed seed):
  .venv/bin/python tools/reference/sampling_golden.py
"""

import json
import os
import platform

import diffusers
import numpy as np
import safetensors
import safetensors.torch
import torch
from diffusers import DPMSolverMultistepScheduler, FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "sampling")
SEED = 20250301
LATENT = (1, 16, 2, 3, 4)  # [B, C, F, H, W]: the official loop passes latents[0].unsqueeze(0)
NUM_TRAIN_TIMESTEPS = 1000

# (solver, N, shift) runs recorded step by step.
CASES = [
    ("unipc", 6, 5.0),
    ("unipc", 10, 3.0),
    ("unipc", 3, 8.0),
    ("unipc", 2, 5.0),
    ("unipc", 1, 5.0),
    ("dpmpp", 6, 5.0),
    ("dpmpp", 10, 3.0),
    ("dpmpp", 2, 5.0),
    ("dpmpp", 1, 5.0),
    ("euler", 6, 5.0),
    ("euler", 10, 3.0),
]

# spec/wan21.md 6.7 test vectors.
SPEC_UNIPC = {
    (50, 5.0): [999, 995, 991, 987, 982, 978, 973, 968, 963, 957, 952, 946, 940, 934, 927, 920, 913, 906, 898,
                890, 882, 873, 863, 854, 843, 833, 821, 809, 796, 783, 768, 753, 737, 720, 701, 681, 660, 636,
                611, 584, 555, 522, 487, 448, 405, 356, 302, 241, 172, 92],
    (40, 5.0): [999, 994, 989, 983, 978, 972, 965, 959, 952, 944, 937, 929, 920, 911, 902, 892, 882, 870, 859,
                846, 833, 818, 803, 786, 768, 749, 728, 706, 681, 654, 624, 591, 555, 514, 468, 416, 356, 288,
                208, 113],
    (40, 3.0): [999, 991, 982, 973, 963, 954, 944, 933, 922, 911, 899, 887, 874, 861, 847, 832, 817, 801, 785,
                767, 749, 730, 710, 688, 666, 642, 617, 590, 562, 531, 499, 465, 428, 388, 345, 299, 249, 195,
                136, 71],
}
SPEC_UNIPC_N50_S5_SIGMAS = {0: 0.999800, 1: 0.995732, 2: 0.991530, 3: 0.987187, 49: 0.092507}
SPEC_DPMPP_N50_S5_HEAD = [1000, 995, 991, 987, 982, 978]
SPEC_DPMPP_N50_S5_LAST = 92


# ---- schedules (official arithmetic: float64 numpy, int64 truncation, float32 sigmas) -----------

def shift_sigmas(sigmas, shift):
    return shift * sigmas / (1 + (shift - 1) * sigmas)


def official_unipc_schedule(n, shift):
    """FlowUniPCMultistepScheduler(num_train_timesteps=1000, shift=1) then set_timesteps(n, shift=shift)."""
    train = 1.0 - np.linspace(1, 1 / NUM_TRAIN_TIMESTEPS, NUM_TRAIN_TIMESTEPS)[::-1].copy()
    train = torch.from_numpy(train).to(torch.float32)
    train = 1.0 * train / (1 + (1.0 - 1) * train)  # construction-time shift 1 (an identity in fp32)
    sigma_max, sigma_min = train[0].item(), train[-1].item()
    sigmas = np.linspace(sigma_max, sigma_min, n + 1).copy()[:-1]
    sigmas = shift_sigmas(sigmas, shift)
    timesteps = torch.from_numpy(sigmas * NUM_TRAIN_TIMESTEPS).to(torch.int64)
    sigmas = torch.from_numpy(np.concatenate([sigmas, [0]]).astype(np.float32))
    return timesteps, sigmas


def official_dpmpp_sigma_list(n, shift):
    """get_sampling_sigmas(n, shift): the explicit float64 list the official loop hands the DPM++ scheduler."""
    sigmas = np.linspace(1, 0, n + 1)[:n]
    return shift_sigmas(sigmas, shift)


def official_dpmpp_schedule(n, shift):
    """retrieve_timesteps(FlowDPMSolverMultistepScheduler(shift=1), sigmas=get_sampling_sigmas(n, shift))."""
    sigmas = np.asarray(official_dpmpp_sigma_list(n, shift))
    sigmas = shift_sigmas(sigmas, 1.0)  # the scheduler's own shift is 1: an exact identity
    timesteps = torch.from_numpy(sigmas * NUM_TRAIN_TIMESTEPS).to(torch.int64)
    sigmas = torch.from_numpy(np.concatenate([sigmas, [0]]).astype(np.float32))
    return timesteps, sigmas


def schedule(solver, n, shift):
    if solver == "dpmpp":
        return official_dpmpp_schedule(n, shift)
    return official_unipc_schedule(n, shift)  # UniPC and Euler share the grid


# ---- official solver emulations (float32; scalars are 0-dim float32 CPU tensors) -----------------

def log_snr(sigma):
    alpha = 1 - sigma
    return torch.log(alpha) - torch.log(sigma)


class OfficialUniPC:
    """UniPC-2, bh2, predict x0, lower-order final, UniC corrector, as the official scheduler runs it."""

    def __init__(self, n, shift):
        self.timesteps, self.sigmas = official_unipc_schedule(n, shift)
        self.n = n
        self.x0_preds = [None, None]  # [m_{i-1}, m_i] after the shift of step i
        self.last_sample = None
        self.this_order = None
        self.lower_order_nums = 0
        self.i = 0

    def step(self, v, x):
        i, sig = self.i, self.sigmas
        m = x - sig[i] * v
        if i > 0 and self.last_sample is not None:
            x = self._correct(m, x)
        self.x0_preds = [self.x0_preds[1], m]
        order = min(2, self.n - i)
        self.this_order = min(order, self.lower_order_nums + 1)
        self.last_sample = x
        out = self._predict(x, self.this_order)
        self.lower_order_nums = min(self.lower_order_nums + 1, 2)
        self.i += 1
        return out

    def _predict(self, x, order):
        i, sig = self.i, self.sigmas
        m0 = self.x0_preds[-1]
        sigma_t, sigma_s0 = sig[i + 1], sig[i]
        alpha_t = 1 - sigma_t
        h = log_snr(sigma_t) - log_snr(sigma_s0)
        d1 = None
        if order == 2:
            rk = (log_snr(sig[i - 1]) - log_snr(sigma_s0)) / h
            d1 = torch.stack([(self.x0_preds[-2] - m0) / rk], dim=1)  # [B, 1, C, ...]
        hh = -h
        h_phi_1 = torch.expm1(hh)
        b_h = torch.expm1(hh)
        x_t_ = sigma_t / sigma_s0 * x - alpha_t * h_phi_1 * m0
        if d1 is None:
            pred_res = 0
        else:
            rhos_p = torch.tensor([0.5], dtype=x.dtype, device=x.device)  # order 2 uses the fixed 0.5
            pred_res = torch.einsum("k,bkc...->bc...", rhos_p, d1)
        return x_t_ - alpha_t * b_h * pred_res

    def _correct(self, model_t, this_sample):
        i, sig, p = self.i, self.sigmas, self.this_order
        m0 = self.x0_preds[-1]
        x = self.last_sample
        sigma_t, sigma_s0 = sig[i], sig[i - 1]
        alpha_t = 1 - sigma_t
        lambda_s0 = log_snr(sigma_s0)
        h = log_snr(sigma_t) - lambda_s0
        rks, d1s = [], []
        if p == 2:
            rk = (log_snr(sig[i - 2]) - lambda_s0) / h
            rks.append(rk)
            d1s.append((self.x0_preds[-2] - m0) / rk)
        rks.append(1.0)
        rks = torch.tensor(rks, device=this_sample.device)
        hh = -h
        h_phi_1 = torch.expm1(hh)
        h_phi_k = h_phi_1 / hh - 1
        b_h = torch.expm1(hh)
        rows, b = [], []
        factorial = 1
        for k in range(1, p + 1):
            rows.append(torch.pow(rks, k - 1))
            b.append(h_phi_k * factorial / b_h)
            factorial *= k + 1
            h_phi_k = h_phi_k / hh - 1 / factorial
        if p == 1:
            rhos_c = torch.tensor([0.5], dtype=x.dtype, device=x.device)
        else:
            rhos_c = torch.linalg.solve(torch.stack(rows), torch.tensor(b, device=x.device)).to(x.dtype)
        x_t_ = sigma_t / sigma_s0 * x - alpha_t * h_phi_1 * m0
        corr_res = torch.einsum("k,bkc...->bc...", rhos_c[:-1], torch.stack(d1s, dim=1)) if d1s else 0
        d1_t = model_t - m0
        return x_t_ - alpha_t * b_h * (corr_res + rhos_c[-1] * d1_t)


class OfficialDPMpp:
    """DPM-Solver++ 2M (midpoint), lower-order final step, sigma_0 = 1, as the official scheduler runs it."""

    def __init__(self, n, shift):
        self.timesteps, self.sigmas = official_dpmpp_schedule(n, shift)
        self.n = n
        self.x0_preds = [None, None]
        self.lower_order_nums = 0
        self.i = 0

    def step(self, v, x):
        i, sig = self.i, self.sigmas
        m = x - sig[i] * v
        self.x0_preds = [self.x0_preds[1], m]
        x = x.to(torch.float32)
        if self.lower_order_nums < 1 or i == self.n - 1:
            out = self._first_order(m, x)
        else:
            out = self._second_order(x)
        self.lower_order_nums = min(self.lower_order_nums + 1, 2)
        self.i += 1
        return out.to(m.dtype)

    def _first_order(self, m0, x):
        i, sig = self.i, self.sigmas
        sigma_t, sigma_s = sig[i + 1], sig[i]
        alpha_t = 1 - sigma_t
        h = log_snr(sigma_t) - log_snr(sigma_s)  # +inf at sigma_s = 1 or sigma_t = 0 (IEEE)
        return (sigma_t / sigma_s) * x - (alpha_t * (torch.exp(-h) - 1.0)) * m0

    def _second_order(self, x):
        i, sig = self.i, self.sigmas
        sigma_t, sigma_s0, sigma_s1 = sig[i + 1], sig[i], sig[i - 1]
        alpha_t = 1 - sigma_t
        lambda_t, lambda_s0, lambda_s1 = log_snr(sigma_t), log_snr(sigma_s0), log_snr(sigma_s1)
        m0, m1 = self.x0_preds[-1], self.x0_preds[-2]
        h, h_0 = lambda_t - lambda_s0, lambda_s0 - lambda_s1
        r0 = h_0 / h
        d1 = (1.0 / r0) * (m0 - m1)
        return ((sigma_t / sigma_s0) * x - (alpha_t * (torch.exp(-h) - 1.0)) * m0
                - 0.5 * (alpha_t * (torch.exp(-h) - 1.0)) * d1)


class Euler:
    def __init__(self, n, shift):
        self.timesteps, self.sigmas = official_unipc_schedule(n, shift)
        self.i = 0

    def step(self, v, x):
        dt = self.sigmas[self.i + 1] - self.sigmas[self.i]
        self.i += 1
        return x + dt * v


OFFICIAL = {"unipc": OfficialUniPC, "dpmpp": OfficialDPMpp, "euler": Euler}


# ---- diffusers, fed the official sigmas --------------------------------------------------------

def diffusers_scheduler(solver, n, shift):
    timesteps, sigmas = schedule(solver, n, shift)
    if solver == "unipc":
        s = UniPCMultistepScheduler(num_train_timesteps=NUM_TRAIN_TIMESTEPS, solver_order=2,
                                    prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=1.0,
                                    predict_x0=True, solver_type="bh2", lower_order_final=True,
                                    final_sigmas_type="zero")
        grid = np.linspace(official_max_sigma(), 0.0, n + 1)[:-1]
        s.set_timesteps(sigmas=shift_sigmas(grid, shift))
    elif solver == "dpmpp":
        s = DPMSolverMultistepScheduler(num_train_timesteps=NUM_TRAIN_TIMESTEPS, solver_order=2,
                                        prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=1.0,
                                        algorithm_type="dpmsolver++", solver_type="midpoint",
                                        lower_order_final=True, euler_at_final=False, final_sigmas_type="zero")
        s.set_timesteps(num_inference_steps=n)
        s.sigmas = sigmas.clone()
        s.timesteps = timesteps.clone()
    else:
        s = FlowMatchEulerDiscreteScheduler(num_train_timesteps=NUM_TRAIN_TIMESTEPS, shift=1.0)
        s.set_timesteps(sigmas=[float(v) for v in sigmas[:-1]])
    assert torch.equal(s.sigmas.to(torch.float32), sigmas), f"{solver}: diffusers sigmas differ from official"
    if solver != "euler":
        assert torch.equal(s.timesteps, timesteps), f"{solver}: diffusers timesteps differ from official"
    s.set_begin_index(0)
    return s


def official_max_sigma():
    train = 1.0 - np.linspace(1, 1 / NUM_TRAIN_TIMESTEPS, NUM_TRAIN_TIMESTEPS)[::-1].copy()
    return torch.from_numpy(train).to(torch.float32)[0].item()


# ---- synthetic model ---------------------------------------------------------------------------

def make_model(gen):
    w = LATENT[-1]
    mat = torch.randn(w, w, generator=gen) / w ** 0.5
    phase = torch.rand(LATENT, generator=gen) * 6.2831853
    bias = torch.randn(LATENT, generator=gen) * 0.5

    def model(x, t):  # x [B, C, F, H, W], t int -> v [B, C, F, H, W]
        tau = t / NUM_TRAIN_TIMESTEPS
        return torch.tanh(x @ mat) * 1.3 + bias + 0.4 * torch.cos(phase + 3.0 * tau)

    return model


def run_case(solver, n, shift, model, noise):
    official = OFFICIAL[solver](n, shift)
    dif = diffusers_scheduler(solver, n, shift)
    xs, vs, ds = [noise], [], []
    for i in range(n):
        t = int(official.timesteps[i])
        x = xs[-1]
        v = model(x, t)
        vs.append(v)
        xs.append(official.step(v, x))
        ds.append(dif.step(v, dif.timesteps[i], x, return_dict=False)[0])
    x, v, d = torch.stack(xs), torch.stack(vs), torch.stack(ds)
    ref = x[1:].double()
    err = ((d.double() - ref).abs().max() / ref.abs().max()).item()
    bits = torch.equal(d.view(torch.int32), x[1:].view(torch.int32))
    return x, v, d, err, bits


# ---- spec check ----------------------------------------------------------------------------------

def check_spec_vectors():
    problems = []
    for (n, shift), want in SPEC_UNIPC.items():
        got = official_unipc_schedule(n, shift)[0].tolist()
        if got != want:
            problems.append(f"unipc N={n} shift={shift}: spec {want} vs emulation {got}")
    sig = official_unipc_schedule(50, 5.0)[1]
    for k, want in SPEC_UNIPC_N50_S5_SIGMAS.items():
        if abs(sig[k].item() - want) > 5e-7:
            problems.append(f"unipc N=50 shift 5 sigma[{k}]: spec {want} vs emulation {sig[k].item():.7f}")
    t, s = official_dpmpp_schedule(50, 5.0)
    if t[:6].tolist() != SPEC_DPMPP_N50_S5_HEAD or t[-1].item() != SPEC_DPMPP_N50_S5_LAST or s[0].item() != 1.0:
        problems.append(f"dpm++ N=50 shift 5: emulation {t.tolist()} sigma_0 {s[0].item()}")
    return problems


def first_duplicate_n(shift):
    """Smallest N whose official UniPC schedule repeats t_0 (the official step-index lookup then
    starts at index 1)."""
    for n in range(1, 5001):
        t = official_unipc_schedule(n, shift)[0]
        if n > 1 and t[0] == t[1]:
            return n
    return None


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(SEED)
    meta = {
        "generator": "tools/reference/sampling_golden.py",
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "numpy": np.__version__,
        "safetensors": safetensors.__version__,
        "python": platform.python_version(),
        "seed": str(SEED),
        "latent_shape": json.dumps(list(LATENT)),
    }

    problems = check_spec_vectors()
    for p in problems:
        print("SPEC DISAGREEMENT:", p)
    print("spec 6.7 vectors:", "all reproduced" if not problems else f"{len(problems)} disagreement(s)")
    for shift in (3.0, 5.0):
        print(f"UniPC shift {shift}: first N with t_0 == t_1: {first_duplicate_n(shift)}")

    sched = {}
    named = [("unipc", 50, 5.0), ("unipc", 40, 5.0), ("unipc", 40, 3.0), ("dpmpp", 50, 5.0)]
    for solver, n, shift in named + [c for c in CASES if c[0] != "euler"]:
        t, s = schedule(solver, n, shift)
        name = f"{solver}_n{n}_s{shift:g}"
        sched[f"{name}.timesteps"] = t
        sched[f"{name}.sigmas"] = s
    safetensors.torch.save_file(sched, os.path.join(OUT, "schedules.safetensors"),
                                metadata={**meta, "schedules": json.dumps(sorted({k.rsplit('.', 1)[0] for k in sched}))})

    gen = torch.Generator().manual_seed(SEED)
    model = make_model(gen)
    steps = {}
    for solver, n, shift in CASES:
        noise = torch.randn(LATENT, generator=gen)
        x, v, d, err, bits = run_case(solver, n, shift, model, noise)
        name = f"{solver}_n{n}_s{shift:g}"
        steps[f"{name}.x"] = x.contiguous()
        steps[f"{name}.v"] = v.contiguous()
        steps[f"{name}.diffusers"] = d.contiguous()
        print(f"{name}: diffusers vs official emulation: max rel err {err:.3e}, bit-identical {bits}; "
              f"|x_N| max {x[-1].abs().max().item():.3f}")
    cases = [{"solver": s, "steps": n, "shift": sh} for s, n, sh in CASES]
    safetensors.torch.save_file(steps, os.path.join(OUT, "steps.safetensors"),
                                metadata={**meta, "cases": json.dumps(cases)})
    for f in ("schedules.safetensors", "steps.safetensors"):
        os.chmod(os.path.join(OUT, f), 0o644)  # save_file creates 0600 files
        print(f, os.path.getsize(os.path.join(OUT, f)), "bytes")


if __name__ == "__main__":
    main()

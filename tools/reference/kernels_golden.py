#!/usr/bin/env python3
"""Writes the goldens that tests/kernels/ use to check gallop's ATen references of its kernels.

Each case runs the official Wan2.1 formula (spec/wan21.md, written out here in PyTorch from the spec,
op for op as the official wan/modules/model.py and wan/modules/attention.py apply them) on the CPU:
  * attention: softmax(q k^T * scale) v per batch and head with keys j >= k_lens[b] masked, computed
    in float64 and stored as float32 (q, k, v are float32);
  * rope table: the official rope_params(1024, d) concatenated over the [t | h | w] widths
    d - 4(d//6), 2(d//6), 2(d//6), here for max_pos 64 (the first 64 rows of the official table);
  * qk_norm_rope: WanRMSNorm (`_norm(x.float()).type_as(x) * weight`, eps 1e-6) on q and k, then
    the official rope_apply (float64 complex multiply, `.float()`), for per-sample grids with padded
    tokens; stored in float32 and as the bf16 the attention kernel reads;
  * layer_norm_modulate: `WanLayerNorm(x).float() * (1 + scale) + shift` (LN without affine, eps 1e-6,
    computed on x.float(), cast back with type_as(x));
  * gated_residual: `x + y * gate` (y bf16, gate and x float32).

Output: tests/data/kernels/kernels.safetensors (tensors named <case>.<name>; metadata: package versions,
seed, per-case parameters as JSON). Run by hand with the project venv (deterministic):
  .venv/bin/python tools/reference/kernels_golden.py
"""

import json
import os
import platform

import safetensors
import safetensors.torch
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "kernels")
SEED = 20261126
EPS = 1e-6


def attention_f64(q, k, v, k_lens, scale):
    """q [B, Lq, H, D], k/v [B, Lk, H, D] -> [B, Lq, H, D], in float64."""
    q, k, v = (t.double().transpose(1, 2) for t in (q, k, v))  # [B, H, L, D]
    logits = torch.matmul(q, k.transpose(-1, -2)) * scale
    keep = torch.arange(k.shape[2])[None, :] < k_lens[:, None]  # [B, Lk]
    logits = logits.masked_fill(~keep[:, None, None, :], float("-inf"))
    return torch.matmul(torch.softmax(logits, dim=-1), v).transpose(1, 2)


def rope_params(max_seq_len, dim, theta=10000):
    freqs = torch.outer(torch.arange(max_seq_len), 1.0 / torch.pow(theta, torch.arange(0, dim, 2).to(torch.float64).div(dim)))
    return torch.polar(torch.ones_like(freqs), freqs)


def rope_table(head_dim, max_pos):
    d = head_dim
    return torch.cat([rope_params(max_pos, d - 4 * (d // 6)), rope_params(max_pos, 2 * (d // 6)), rope_params(max_pos, 2 * (d // 6))], dim=1)


def rms_norm(x, weight):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(dim=-1, keepdim=True) + EPS)).type_as(x) * weight


def rope_apply(x, grid_sizes, freqs):
    n, c = x.size(2), x.size(3) // 2
    freqs = freqs.split([c - 2 * (c // 3), c // 3, c // 3], dim=1)
    output = []
    for i, (f, h, w) in enumerate(grid_sizes):
        seq_len = f * h * w
        x_i = torch.view_as_complex(x[i, :seq_len].to(torch.float64).reshape(seq_len, n, -1, 2))
        freqs_i = torch.cat([
            freqs[0][:f].view(f, 1, 1, -1).expand(f, h, w, -1),
            freqs[1][:h].view(1, h, 1, -1).expand(f, h, w, -1),
            freqs[2][:w].view(1, 1, w, -1).expand(f, h, w, -1),
        ], dim=-1).reshape(seq_len, 1, -1)
        x_i = torch.view_as_real(x_i * freqs_i).flatten(2)
        x_i = torch.cat([x_i, x[i, seq_len:]])
        output.append(x_i)
    return torch.stack(output).float()


def layer_norm_modulate(x, shift, scale):
    h = torch.nn.functional.layer_norm(x.float(), (x.shape[-1],), eps=EPS).type_as(x)
    return h.float() * (1 + scale[:, None, :]) + shift[:, None, :]


def main():
    torch.manual_seed(SEED)
    tensors, cases = {}, {}

    # attention, float32 in/out, padded keys in the second sample.
    q = torch.randn(2, 19, 3, 64)
    k = torch.randn(2, 23, 3, 64)
    v = torch.randn(2, 23, 3, 64)
    k_lens = torch.tensor([23, 9], dtype=torch.int64)
    scale = 64 ** -0.5
    tensors.update({"attention.q": q, "attention.k": k, "attention.v": v, "attention.k_lens": k_lens,
                    "attention.out": attention_f64(q, k, v, k_lens, scale).float().contiguous()})
    cases["attention"] = {"scale": scale}

    # rope tables for head dims 128 and 64 (first 64 positions).
    for hd in (128, 64):
        tensors[f"rope_table_hd{hd}.table"] = torch.view_as_real(rope_table(hd, 64)).contiguous()
    cases["rope_table"] = {"max_pos": 64, "theta": 10000}

    # qk_norm_rope: 2 heads of 64, bf16 q/k, per-sample grids with padding tokens.
    heads, hd = 2, 64
    grids = [(3, 4, 5), (2, 3, 5)]
    L = 63
    qn = (torch.randn(2, L, heads * hd) * 3).bfloat16()
    kn = (torch.randn(2, L, heads * hd) * 3).bfloat16()
    wq = torch.rand(heads * hd) + 0.5
    wk = torch.rand(heads * hd) + 0.5
    freqs = rope_table(hd, 64)
    outs = {}
    for name, x, w in (("q", qn, wq), ("k", kn, wk)):
        normed = rms_norm(x, w).view(2, L, heads, hd)
        outs[name] = rope_apply(normed, grids, freqs)
    tensors.update({"qk_norm_rope.q": qn, "qk_norm_rope.k": kn, "qk_norm_rope.weight_q": wq,
                    "qk_norm_rope.weight_k": wk, "qk_norm_rope.out_q_f32": outs["q"].contiguous(),
                    "qk_norm_rope.out_k_f32": outs["k"].contiguous(),
                    "qk_norm_rope.out_q_bf16": outs["q"].bfloat16().contiguous(),
                    "qk_norm_rope.out_k_bf16": outs["k"].bfloat16().contiguous()})
    cases["qk_norm_rope"] = {"heads": heads, "head_dim": hd, "grids": grids, "eps": EPS, "max_pos": 64}

    # layer_norm_modulate for bf16 and float32 x.
    for dt, name in ((torch.bfloat16, "bf16"), (torch.float32, "f32")):
        x = (torch.randn(2, 7, 64) * 2 + 0.5).to(dt)
        shift = torch.randn(2, 64) * 0.1
        scl = torch.randn(2, 64) * 0.1
        tensors.update({f"ln_modulate_{name}.x": x, f"ln_modulate_{name}.shift": shift,
                        f"ln_modulate_{name}.scale": scl,
                        f"ln_modulate_{name}.out": layer_norm_modulate(x, shift, scl).contiguous()})
    cases["ln_modulate"] = {"eps": EPS}

    # gated residual.
    x = torch.randn(2, 7, 64)
    y = torch.randn(2, 7, 64).bfloat16()
    gate = torch.randn(2, 64)
    tensors.update({"gated_residual.x": x, "gated_residual.y": y, "gated_residual.gate": gate,
                    "gated_residual.out": (x + y * gate[:, None, :]).contiguous()})

    metadata = {
        "generator": "tools/reference/kernels_golden.py",
        "seed": str(SEED),
        "torch": torch.__version__,
        "safetensors": safetensors.__version__,
        "python": platform.python_version(),
        "cases": json.dumps(cases),
    }
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "kernels.safetensors")
    safetensors.torch.save_file(tensors, path, metadata=metadata)
    print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(tensors)} tensors)")


if __name__ == "__main__":
    main()

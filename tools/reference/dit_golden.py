#!/usr/bin/env python3
"""Writes the Wan DiT goldens that tests/models/dit/ read.

Reference: diffusers `WanTransformer3DModel` with tiny configs and random weights, run on the CPU.
In fp32 it computes the official Wan2.1 `WanModel` math (spec section 2) except for two details,
both handled here:
  * the timestep sinusoid: diffusers builds it in float32 (`Timesteps`), the official code in
    float64 (spec 2.3). At t = 999 the float32 angles are off by up to ~6e-5 rad, which moves the
    DiT output by ~1e-5 relative: too close to the 1e-4 parity bound to leave alone. The script
    swaps in the official float64 sinusoid (`OfficialSinusoid` below) for every reference run and
    records in the metadata how far the stock diffusers output is from it ("stock_sinusoid_rel").
  * RoPE: diffusers rotates in float32 with float32 cos/sin tables, the official code in complex128
    (spec 2.5); that changes the output at the 1e-7 level, far below the bound, so it is kept.
Two bf16 references are saved. The first is diffusers' own bf16 policy (weights bf16 except
`_keep_in_fp32_modules`: rope, time_embedder, scale_shift_table, norm1/2/3; residual stream cast
back to bf16 after every sub-layer). It is NOT the official dtype map (spec 2.8 / 10); the tests
use it only as the "plain bf16" baseline: gallop's bf16 path (the official map) must stay within a
small multiple of its error against the fp32 reference. The second, `official_forward`, restates
the official dtype map (spec 2.8) in Python under CPU autocast; on the host that made the goldens,
gallop's bf16 path reproduces it bit for bit (the C++ test checks this where the host matches).

Files written to tests/data/dit/:
  t2v_tiny.safetensors, i2v_tiny.safetensors, flf2v_tiny.safetensors
      the tiny model's weights under the OFFICIAL keys (stored bf16: the random weights are rounded
      to bf16 first, so the fp32 reference uses exactly these values), and per case <c>:
        <c>.x [B,16,T,h,w], <c>.t [B] int64, <c>.context.<i> [L_i, text_dim] (trimmed; the test
        pads them to 512), i2v/flf2v: <c>.y [B,20,T,h,w], <c>.clip_fea [B,257|514,image_dim];
        <c>.out_fp32 (reference fp32 run), <c>.out_bf16 (diffusers bf16 run, stored as fp32),
        <c>.out_bf16_official (the official dtype map, emulated here under CPU autocast: see
        `official_forward`; stored as fp32).
      Metadata: package versions, the tiny diffusers config (JSON), seeds, measured differences,
      and the host (torch version, CPU model) on which the bf16 emulation ran.
  diffusers_keys.json
      for the real 1.3B / 14B / I2V-14B / FLF2V-14B configs (built on the meta device): the
      diffusers config.json content and every state-dict key with its shape (name-map and
      config-parsing tests).

Run by hand with the project venv (deterministic, fixed seeds: a rerun gives the same tensors and
metadata, though safetensors may order the header's metadata differently):
  .venv/bin/python tools/reference/dit_golden.py [output folder, default tests/data/dit]
"""

import copy
import json
import os
import platform
import sys

import diffusers
import safetensors
import safetensors.torch
import torch
import torch.nn.functional as F
from diffusers import WanTransformer3DModel

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "dit")
if len(sys.argv) > 1:  # another output folder (e.g. to check that a rerun reproduces the files)
    OUT = sys.argv[1]

TINY = dict(
    patch_size=(1, 2, 2),
    num_attention_heads=2,
    attention_head_dim=32,  # RoPE split 12/10/10 real channels (6/5/5 pairs), same formula as 128
    in_channels=16,
    out_channels=16,
    text_dim=32,
    freq_dim=256,
    ffn_dim=128,
    num_layers=2,
    cross_attn_norm=True,
    qk_norm="rms_norm_across_heads",
    eps=1e-6,
    rope_max_seq_len=1024,
)
TINY_I2V = dict(TINY, in_channels=36, image_dim=32, added_kv_proj_dim=64)
TINY_FLF2V = dict(TINY_I2V, pos_embed_seq_len=514)

COMMON_REAL = dict(patch_size=(1, 2, 2), attention_head_dim=128, out_channels=16, text_dim=4096, freq_dim=256,
                   cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024)
REAL = {
    "t2v_1_3b": dict(COMMON_REAL, num_attention_heads=12, in_channels=16, ffn_dim=8960, num_layers=30),
    "t2v_14b": dict(COMMON_REAL, num_attention_heads=40, in_channels=16, ffn_dim=13824, num_layers=40),
    "i2v_14b": dict(COMMON_REAL, num_attention_heads=40, in_channels=36, ffn_dim=13824, num_layers=40,
                    image_dim=1280, added_kv_proj_dim=5120),
    "flf2v_14b": dict(COMMON_REAL, num_attention_heads=40, in_channels=36, ffn_dim=13824, num_layers=40,
                      image_dim=1280, added_kv_proj_dim=5120, pos_embed_seq_len=514),
}
TEXT_LEN = 512


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def versions():
    return {
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "safetensors": safetensors.__version__,
        "python": platform.python_version(),
    }


# ---- official key names (spec 7.3: official -> diffusers, ordered substring rules) --------------

OFFICIAL_TO_DIFFUSERS = [
    ("time_embedding.0", "condition_embedder.time_embedder.linear_1"),
    ("time_embedding.2", "condition_embedder.time_embedder.linear_2"),
    ("text_embedding.0", "condition_embedder.text_embedder.linear_1"),
    ("text_embedding.2", "condition_embedder.text_embedder.linear_2"),
    ("time_projection.1", "condition_embedder.time_proj"),
    ("head.modulation", "scale_shift_table"),
    ("head.head", "proj_out"),
    ("modulation", "scale_shift_table"),
    ("ffn.0", "ffn.net.0.proj"),
    ("ffn.2", "ffn.net.2"),
    ("norm2", "__tmp__"),
    ("norm3", "norm2"),
    ("__tmp__", "norm3"),
    ("img_emb.proj.0", "condition_embedder.image_embedder.norm1"),
    ("img_emb.proj.1", "condition_embedder.image_embedder.ff.net.0.proj"),
    ("img_emb.proj.3", "condition_embedder.image_embedder.ff.net.2"),
    ("img_emb.proj.4", "condition_embedder.image_embedder.norm2"),
    ("img_emb.emb_pos", "condition_embedder.image_embedder.pos_embed"),
    ("self_attn.q", "attn1.to_q"),
    ("self_attn.k", "attn1.to_k"),
    ("self_attn.v", "attn1.to_v"),
    ("self_attn.o", "attn1.to_out.0"),
    ("self_attn.norm_q", "attn1.norm_q"),
    ("self_attn.norm_k", "attn1.norm_k"),
    ("cross_attn.q", "attn2.to_q"),
    ("cross_attn.k", "attn2.to_k"),
    ("cross_attn.v", "attn2.to_v"),
    ("cross_attn.o", "attn2.to_out.0"),
    ("cross_attn.norm_q", "attn2.norm_q"),
    ("cross_attn.norm_k", "attn2.norm_k"),
    ("attn2.to_k_img", "attn2.add_k_proj"),
    ("attn2.to_v_img", "attn2.add_v_proj"),
    ("attn2.norm_k_img", "attn2.norm_added_k"),
]


def official_to_diffusers(key):
    for a, b in OFFICIAL_TO_DIFFUSERS:
        key = key.replace(a, b)
    return key


def official_keys(cfg):
    """The official WanModel state-dict keys for a diffusers-style tiny config (spec 7.2)."""
    keys = ["patch_embedding.weight", "patch_embedding.bias"]
    for m in ("text_embedding.0", "text_embedding.2", "time_embedding.0", "time_embedding.2", "time_projection.1"):
        keys += [m + ".weight", m + ".bias"]
    if cfg.get("image_dim") is not None:
        for m in ("img_emb.proj.0", "img_emb.proj.1", "img_emb.proj.3", "img_emb.proj.4"):
            keys += [m + ".weight", m + ".bias"]
        if cfg.get("pos_embed_seq_len") is not None:
            keys.append("img_emb.emb_pos")
    for i in range(cfg["num_layers"]):
        p = f"blocks.{i}."
        keys.append(p + "modulation")
        for a in ("self_attn", "cross_attn"):
            for m in ("q", "k", "v", "o"):
                keys += [f"{p}{a}.{m}.weight", f"{p}{a}.{m}.bias"]
            keys += [f"{p}{a}.norm_q.weight", f"{p}{a}.norm_k.weight"]
        if cfg.get("added_kv_proj_dim") is not None:
            keys += [p + "cross_attn.k_img.weight", p + "cross_attn.k_img.bias", p + "cross_attn.v_img.weight",
                     p + "cross_attn.v_img.bias", p + "cross_attn.norm_k_img.weight"]
        keys += [p + "norm3.weight", p + "norm3.bias"]
        keys += [p + "ffn.0.weight", p + "ffn.0.bias", p + "ffn.2.weight", p + "ffn.2.bias"]
    keys += ["head.modulation", "head.head.weight", "head.head.bias"]
    return keys


def official_state_dict(model, cfg):
    """The model's weights under official names; checks that the renaming is one-to-one."""
    sd = model.state_dict()
    out = {}
    for k in official_keys(cfg):
        d = official_to_diffusers(k)
        assert d in sd, f"{k} -> {d} not in the diffusers model"
        out[k] = sd[d]
    assert len(out) == len(sd), sorted(set(sd) - {official_to_diffusers(k) for k in out})
    return out


# ---- the official float64 timestep sinusoid (spec 2.3) ------------------------------------------

class OfficialSinusoid(torch.nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, t):
        half = self.dim // 2
        exponents = -torch.arange(half, dtype=torch.float64) / half
        angles = torch.outer(t.to(torch.float64), torch.pow(10000.0, exponents))  # [B, half]
        return torch.cat([angles.cos(), angles.sin()], dim=1).float()  # cos half first


# ---- tiny models ---------------------------------------------------------------------------------

def init_weights(model, dim, seed):
    """Random weights that keep activations O(1); every value rounded to bf16."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("scale_shift_table"):
                v = torch.randn(p.shape, generator=g) / dim ** 0.5  # the official init
            elif name.endswith("pos_embed"):
                v = 0.5 * torch.randn(p.shape, generator=g)
            elif "norm" in name and name.endswith("weight"):
                v = 1.0 + 0.2 * torch.randn(p.shape, generator=g)
            elif name.endswith("bias"):
                v = 0.1 * torch.randn(p.shape, generator=g)
            else:  # Linear / Conv3d weights: unit-variance outputs for unit-variance inputs
                fan_in = p[0].numel()
                v = torch.randn(p.shape, generator=g) / fan_in ** 0.5
            p.copy_(v.to(torch.bfloat16).float())


def make_model(cfg, seed):
    torch.manual_seed(0)
    model = WanTransformer3DModel(**cfg).eval()
    init_weights(model, cfg["num_attention_heads"] * cfg["attention_head_dim"], seed)
    return model


def with_official_sinusoid(model):
    m = copy.deepcopy(model)
    m.condition_embedder.timesteps_proj = OfficialSinusoid(m.config.freq_dim)
    return m


def diffusers_bf16(model):
    """diffusers' own bf16 policy: what from_pretrained(torch_dtype=bf16) gives."""
    m = copy.deepcopy(model)
    keep = set(WanTransformer3DModel._keep_in_fp32_modules)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if not keep.intersection(name.split(".")):
                p.data = p.data.to(torch.bfloat16)
    return m


def pad_context(ctxs):
    out = torch.zeros(len(ctxs), TEXT_LEN, ctxs[0].shape[1])
    for i, c in enumerate(ctxs):
        out[i, : c.shape[0]] = c
    return out


def run(model, x, t, context, clip=None, dtype=torch.float32):
    kwargs = {}
    if clip is not None:
        if model.config.pos_embed_seq_len is not None:
            clip = clip.reshape(-1, clip.shape[1] // 2, clip.shape[2])  # [2B, 257, d], as diffusers wants
        kwargs["encoder_hidden_states_image"] = clip.to(dtype)
    with torch.no_grad():
        out = model(x.to(dtype), t, context.to(dtype), return_dict=False, **kwargs)[0]
    return out.float()


def rel(a, b):
    return ((a.double() - b.double()).abs().max() / b.double().abs().max()).item()


# ---- the official dtype map, emulated on the CPU (spec 2.8) ---------------------------------------
#
# The official forward written out from spec section 2 on the official key names and run under CPU
# autocast (bf16), with fp32 regions where the official code re-enters autocast(float32). CUDA
# autocast also runs layer_norm in fp32 whatever its input; CPU autocast does not, so the one
# LayerNorm that sees a bf16 input (img_emb.proj.4) is given fp32 explicitly. Attention follows the
# official flash_attention wrapper: q, k, v cast to bf16, fp32 softmax, result in bf16, returned in
# q's dtype. This is a second, independent statement of the dtype map that gallop implements by
# hand; both run on the same ATen CPU kernels, so they can be compared tightly.

def _ln(x, w=None, b=None, eps=1e-6):
    with torch.autocast("cpu", enabled=False):
        return F.layer_norm(x.float(), (x.shape[-1],), w, b, eps)


def _rms(x, w, eps):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(dim=-1, keepdim=True) + eps)).type_as(x) * w


def _attention(q, k, v):  # [B, L, H, D] each
    out_dtype = q.dtype
    q, k, v = (u.to(torch.bfloat16) for u in (q, k, v))
    with torch.autocast("cpu", enabled=False):
        logits = torch.matmul(q.float().transpose(1, 2), k.float().transpose(1, 2).transpose(-1, -2))
        # the softmax scale multiplies the logits (flash-attention's softmax_scale, D^-0.5); ATen
        # rounds a division by a scalar differently in the tails of its vectorized loops
        p = torch.softmax(logits * (1.0 / q.shape[-1] ** 0.5), dim=-1)
        out = torch.matmul(p, v.float().transpose(1, 2)).transpose(1, 2).to(torch.bfloat16)
    return out.to(out_dtype)


def _rope(x, grid, hd):  # x [B, L, H, D]
    with torch.autocast("cpu", enabled=False):
        hw = 2 * (hd // 6)
        bands = []
        for axis, width in enumerate((hd - 2 * hw, hw, hw)):
            inv = 1.0 / torch.pow(10000.0, torch.arange(0, width, 2, dtype=torch.float64) / width)
            ang = torch.outer(torch.arange(grid[axis], dtype=torch.float64), inv)  # [n, width/2]
            shape = [1, 1, 1, ang.shape[1]]
            shape[axis] = grid[axis]
            bands.append(ang.view(shape).expand(*grid, ang.shape[1]))
        ang = torch.cat(bands, -1).reshape(-1, 1, hd // 2)
        mult = torch.polar(torch.ones_like(ang), ang)
        B, L, H, D = x.shape
        xc = torch.view_as_complex(x.to(torch.float64).reshape(B, L, H, D // 2, 2))
        return torch.view_as_real(xc * mult).flatten(3).float()


def official_forward(W, cfg, x, t, context, clip=None, y=None):
    """fp32 inputs; W: official key -> fp32 tensor. Returns fp32 [B, out, T, h, w]."""
    dim = cfg["num_attention_heads"] * cfg["attention_head_dim"]
    heads, hd, eps = cfg["num_attention_heads"], cfg["attention_head_dim"], cfg["eps"]
    pt, ph, pw = cfg["patch_size"]

    def lin(u, name):
        return F.linear(u, W[name + ".weight"], W[name + ".bias"])

    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        if y is not None:
            x = torch.cat([x, y], dim=1)
        u = F.conv3d(x, W["patch_embedding.weight"], W["patch_embedding.bias"], stride=(pt, ph, pw))
        assert u.dtype == torch.bfloat16
        B, _, f, gh, gw = u.shape
        u = u.flatten(2).transpose(1, 2)  # [B, L, dim] bf16
        with torch.autocast("cpu", enabled=False):
            e = lin(F.silu(lin(OfficialSinusoid(cfg["freq_dim"])(t), "time_embedding.0")), "time_embedding.2")
            e0 = lin(F.silu(e), "time_projection.1").unflatten(1, (6, dim))
        ctx = lin(F.gelu(lin(context, "text_embedding.0"), approximate="tanh"), "text_embedding.2")  # bf16
        if clip is not None:
            c = clip + W["img_emb.emb_pos"] if "img_emb.emb_pos" in W else clip
            c = _ln(c, W["img_emb.proj.0.weight"], W["img_emb.proj.0.bias"], 1e-5)
            c = lin(F.gelu(lin(c, "img_emb.proj.1")), "img_emb.proj.3")
            c = _ln(c, W["img_emb.proj.4.weight"], W["img_emb.proj.4.bias"], 1e-5)  # fp32
            ctx = torch.cat([c, ctx], dim=1)  # fp32
        for i in range(cfg["num_layers"]):
            p = f"blocks.{i}."
            m = (W[p + "modulation"] + e0).chunk(6, dim=1)
            h = _ln(u, eps=eps).type_as(u).float() * (1 + m[1]) + m[0]
            q = _rms(lin(h, p + "self_attn.q"), W[p + "self_attn.norm_q.weight"], eps).view(B, -1, heads, hd)
            k = _rms(lin(h, p + "self_attn.k"), W[p + "self_attn.norm_k.weight"], eps).view(B, -1, heads, hd)
            v = lin(h, p + "self_attn.v").view(B, -1, heads, hd)
            a = _attention(_rope(q, (f, gh, gw), hd), _rope(k, (f, gh, gw), hd), v)
            u = u + lin(a.flatten(2), p + "self_attn.o") * m[2]
            assert u.dtype == torch.float32
            h = _ln(u, W[p + "norm3.weight"], W[p + "norm3.bias"], eps)
            n_img = ctx.shape[1] - TEXT_LEN
            txt, img = ctx[:, n_img:], ctx[:, :n_img]
            q = _rms(lin(h, p + "cross_attn.q"), W[p + "cross_attn.norm_q.weight"], eps).view(B, -1, heads, hd)
            k = _rms(lin(txt, p + "cross_attn.k"), W[p + "cross_attn.norm_k.weight"], eps).view(B, -1, heads, hd)
            v = lin(txt, p + "cross_attn.v").view(B, -1, heads, hd)
            a = _attention(q, k, v).flatten(2)
            if n_img > 0:
                ki = _rms(lin(img, p + "cross_attn.k_img"), W[p + "cross_attn.norm_k_img.weight"], eps)
                vi = lin(img, p + "cross_attn.v_img")
                a = a + _attention(q, ki.view(B, -1, heads, hd), vi.view(B, -1, heads, hd)).flatten(2)
            u = u + lin(a, p + "cross_attn.o")
            h = _ln(u, eps=eps).type_as(u).float() * (1 + m[4]) + m[3]
            u = u + lin(F.gelu(lin(h, p + "ffn.0"), approximate="tanh"), p + "ffn.2") * m[5]
        with torch.autocast("cpu", enabled=False):
            m = (W["head.modulation"] + e.unsqueeze(1)).chunk(2, dim=1)
            out = lin(_ln(u, eps=eps).type_as(u) * (1 + m[1]) + m[0], "head.head")
    out = out.view(B, f, gh, gw, pt, ph, pw, -1).permute(0, 7, 1, 4, 2, 5, 3, 6)
    return out.reshape(B, out.shape[1], f * pt, gh * ph, gw * pw).float()


def write_model_file(name, cfg, seed, cases):
    torch.manual_seed(seed)
    model = make_model(cfg, seed)
    ref = with_official_sinusoid(model)
    low = diffusers_bf16(ref)
    weights32 = official_state_dict(model, cfg)
    tensors = {k: v.to(torch.bfloat16).contiguous() for k, v in weights32.items()}
    meta = {"script": "tools/reference/dit_golden.py", "seed": str(seed), "diffusers_config": json.dumps(cfg),
            "cases": ",".join(c["name"] for c in cases), **versions(),
            # where out_bf16_official was computed: same host + torch => bit-identical ATen CPU kernels
            "golden_host": json.dumps({"torch": torch.__version__.split("+")[0], "cpu_model": cpu_model()})}
    g = torch.Generator().manual_seed(seed + 100)
    for case in cases:
        c = case["name"]
        B, T, h, w = case["grid"]
        x = torch.randn(B, 16, T, h, w, generator=g)
        t = torch.tensor(case["t"], dtype=torch.int64)
        ctxs = [torch.randn(n, cfg["text_dim"], generator=g) for n in case["text_lens"]]
        context = pad_context(ctxs)
        inp = x
        clip = None
        if cfg["in_channels"] == 36:
            y = torch.randn(B, 20, T, h, w, generator=g)
            n_img = 514 if cfg.get("pos_embed_seq_len") else 257
            clip = torch.randn(B, n_img, cfg["image_dim"], generator=g)
            inp = torch.cat([x, y], dim=1)
            tensors[c + ".y"] = y
            tensors[c + ".clip_fea"] = clip
        out32 = run(ref, inp, t, context, clip)
        out16 = run(low, inp, t, context, clip, torch.bfloat16)
        stock = run(model, inp, t, context, clip)
        official16 = official_forward(weights32, cfg, x, t, context, clip, tensors.get(c + ".y"))
        meta[c + ".official_bf16_rel"] = f"{rel(official16, out32):.3e}"
        meta[c + ".stock_sinusoid_rel"] = f"{rel(stock, out32):.3e}"
        meta[c + ".diffusers_bf16_rel"] = f"{rel(out16, out32):.3e}"
        print(f"{name}/{c}: |out|max {out32.abs().max():.3f}, stock-diffusers sinusoid rel {rel(stock, out32):.2e}, "
              f"diffusers bf16 rel {rel(out16, out32):.2e}, official-map bf16 rel {rel(official16, out32):.2e}")
        tensors[c + ".x"] = x
        tensors[c + ".t"] = t
        for i, ctx in enumerate(ctxs):
            tensors[f"{c}.context.{i}"] = ctx
        tensors[c + ".out_fp32"] = out32
        tensors[c + ".out_bf16"] = out16
        tensors[c + ".out_bf16_official"] = official16
    path = os.path.join(OUT, name)
    safetensors.torch.save_file({k: v.contiguous() for k, v in tensors.items()}, path, metadata=meta)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def write_keys():
    result = {"versions": versions()}
    for name, cfg in REAL.items():
        with torch.device("meta"):
            model = WanTransformer3DModel(**cfg)
        sd = model.state_dict()
        config = {k: v for k, v in dict(model.config).items() if not k.startswith("_")}
        config["patch_size"] = list(config["patch_size"])
        result[name] = {"config": config, "keys": [[k, list(v.shape)] for k, v in sd.items()],
                        "num_params": sum(v.numel() for v in sd.values())}
        # the spec 7.3 rules map the official names onto exactly these keys
        mapped = {official_to_diffusers(k) for k in official_keys(cfg)}
        assert mapped == set(sd), sorted(mapped ^ set(sd))[:10]
        print(f"{name}: {len(sd)} keys, {result[name]['num_params']} parameters")
    path = os.path.join(OUT, "diffusers_keys.json")
    with open(path, "w") as f:
        json.dump(result, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)  # deterministic reductions
    write_model_file("t2v_tiny.safetensors", TINY, 1, [
        dict(name="grid_2x4x6", grid=(2, 2, 4, 6), t=[999, 500], text_lens=[7, 20]),
        dict(name="grid_3x6x10", grid=(1, 3, 6, 10), t=[500], text_lens=[11]),
    ])
    write_model_file("i2v_tiny.safetensors", TINY_I2V, 2, [
        dict(name="grid_3x6x10", grid=(1, 3, 6, 10), t=[999], text_lens=[9]),
    ])
    write_model_file("flf2v_tiny.safetensors", TINY_FLF2V, 3, [
        dict(name="grid_2x4x6", grid=(1, 2, 4, 6), t=[700], text_lens=[5]),
    ])
    write_keys()


if __name__ == "__main__":
    main()

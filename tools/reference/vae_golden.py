#!/usr/bin/env python3
"""Writes the Wan2.1 VAE goldens that tests/models/vae/ read.

Reference: diffusers `AutoencoderKLWan`. Its chunked causal encode/decode is the official Wan2.1
algorithm (wan/modules/vae.py, spec §5.4), step for step: the same per-conv feature cache with
CACHE_T = 2 (prepending the previous last frame when a chunk has one frame), the `downsample3d`
first-chunk skip, the `upsample3d` "Rep" sentinel, encode chunks [0], [1..4], [5..8], ..., decode
one latent frame at a time after post_quant_conv (= official conv2) over the whole latent. The
differences are outside the network: diffusers' `decode` takes de-normalized latents and its
`encode` returns the raw moments (the pipeline normalizes), where the official WanVAE_ applies
`z / inv_std + mean` and `(mu - mean) * inv_std` inside; here both are done in fp32 exactly as the
official code (inv_std = 1.0 / std as an fp32 tensor). diffusers' optional tiling is off (the
default); its `first_chunk` flag only affects the Wan2.2 residual up-blocks (is_residual=True).

Files written to tests/data/vae/:
  tiny_weights.safetensors  tiny config (base_dim 6, same structure as the real VAE) weights under
                            the OFFICIAL keys. The random weights are rounded to bf16 and stored as
                            bf16, so the fp32 reference uses exactly these values.
  tiny_io.safetensors       decode.z [1,16,3,4,6] (normalized latent), decode.out_fp32 / out_bf16
                            [1,3,9,32,48]; encode.video [1,3,9,32,48] (bf16-exact values in [-1,1],
                            stored bf16), encode.out_fp32 / out_bf16 [1,16,3,4,6] (normalized mu).
  real_io.safetensors       the REAL architecture (base_dim 96) with deterministic weights (below):
                            decode.z [1,16,2,2,2] -> decode.out_fp32 / out_bf16 [1,3,5,16,16];
                            encode.video [1,3,5,16,16] -> encode.out_fp32 / out_bf16 [1,16,2,2,2];
                            weight_probe [194,3]: the first 3 values of every official key, keys in
                            sorted order (checks the C++ reproduction of the weights bit for bit).
  wan21_vae_diffusers_keys.json   every state-dict key and shape of the real-size AutoencoderKLWan
                            (meta device) and the official key each maps to (the mapping is checked
                            here against diffusers' own converter, convert_wan_vae_to_diffusers).
  wan21_vae_diffusers_config.json the diffusers config.json of the real-size VAE.
"out_bf16" = the same model cast with .to(torch.bfloat16) run on bf16 inputs (the de-normalized
latent / the video rounded to bf16); its output is cast back to fp32 (and normalized in fp32).

Deterministic weights (reproduced in C++ by tests/models/vae/vae_test_weights.cpp):
  for i, key in enumerate(sorted(official keys)):
      g = torch.Generator().manual_seed(SEED + i);  t = torch.randn(shape, generator=g)  (fp32, CPU)
      *.gamma  -> t * 0.1 + 1.0
      *.bias   -> t * 0.05
      *.weight -> t * (1.0 / math.sqrt(fan_in)),  fan_in = prod(shape[1:])
  SEED = 7000 for the real architecture, 1000 for the tiny one (then rounded to bf16).

Run by hand with the project venv (deterministic, CPU, ~1 minute):
  .venv/bin/python tools/reference/vae_golden.py
"""

import copy
import json
import math
import os
import platform
import re

import diffusers
import safetensors
import safetensors.torch
import torch
from diffusers import AutoencoderKLWan
from diffusers.loaders.single_file_utils import convert_wan_vae_to_diffusers

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "vae")
REAL_SEED = 7000
TINY_SEED = 1000
INPUT_SEED = 99
TINY_BASE_DIM = 6
NUM_RES_BLOCKS = 2

LATENTS_MEAN = [-0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508,
                0.4134, -0.0715, 0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921]
LATENTS_STD = [2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
               3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160]


def versions():
    return {
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "safetensors": safetensors.__version__,
        "python": platform.python_version(),
        "script": "tools/reference/vae_golden.py",
    }


# ---- diffusers -> official key names (spec §7.5) ------------------------------------------------
RES_PARTS = [("norm1.", "residual.0."), ("conv1.", "residual.2."), ("norm2.", "residual.3."),
             ("conv2.", "residual.6."), ("conv_shortcut.", "shortcut.")]


def residual_part(rest):
    for a, b in RES_PARTS:
        if rest.startswith(a):
            return b + rest[len(a):]
    raise KeyError(rest)


def official_key(key):
    if key.startswith("quant_conv."):
        return "conv1." + key[len("quant_conv."):]
    if key.startswith("post_quant_conv."):
        return "conv2." + key[len("post_quant_conv."):]
    side, rest = key.split(".", 1)
    if rest.startswith("conv_in."):
        return f"{side}.conv1." + rest[len("conv_in."):]
    if rest.startswith("norm_out."):
        return f"{side}.head.0." + rest[len("norm_out."):]
    if rest.startswith("conv_out."):
        return f"{side}.head.2." + rest[len("conv_out."):]
    m = re.match(r"mid_block\.resnets\.(\d+)\.(.*)", rest)
    if m:
        return f"{side}.middle.{0 if m[1] == '0' else 2}." + residual_part(m[2])
    if rest.startswith("mid_block.attentions.0."):
        return f"{side}.middle.1." + rest[len("mid_block.attentions.0."):]
    m = re.match(r"down_blocks\.(\d+)\.(.*)", rest)
    if m:
        tail = m[2] if m[2].startswith(("resample.", "time_conv.")) else residual_part(m[2])
        return f"{side}.downsamples.{m[1]}.{tail}"
    m = re.match(r"up_blocks\.(\d+)\.resnets\.(\d+)\.(.*)", rest)
    if m:
        return f"{side}.upsamples.{int(m[1]) * (NUM_RES_BLOCKS + 2) + int(m[2])}." + residual_part(m[3])
    m = re.match(r"up_blocks\.(\d+)\.upsamplers\.0\.(.*)", rest)
    if m:
        return f"{side}.upsamples.{int(m[1]) * (NUM_RES_BLOCKS + 2) + NUM_RES_BLOCKS + 1}.{m[2]}"
    raise KeyError(key)


def to_official(state_dict):
    out = {official_key(k): v for k, v in state_dict.items()}
    assert len(out) == len(state_dict)
    # Cross-check with diffusers' own official -> diffusers converter.
    back = convert_wan_vae_to_diffusers(dict(out))
    assert set(back) == set(state_dict), sorted(set(back) ^ set(state_dict))
    for k, v in back.items():
        assert v is state_dict[k], k
    return out


# ---- weights --------------------------------------------------------------------------------------
def deterministic_weights(official_shapes, seed):
    """The documented procedure (see the module docstring)."""
    out = {}
    for i, key in enumerate(sorted(official_shapes)):
        shape = official_shapes[key]
        g = torch.Generator().manual_seed(seed + i)
        t = torch.randn(shape, generator=g, dtype=torch.float32)
        if key.endswith(".gamma"):
            t = t * 0.1 + 1.0
        elif key.endswith(".bias"):
            t = t * 0.05
        else:
            fan_in = 1
            for s in shape[1:]:
                fan_in *= s
            t = t * (1.0 / math.sqrt(fan_in))
        out[key] = t
    return out


def build(base_dim, seed, round_bf16):
    vae = AutoencoderKLWan(base_dim=base_dim).eval()
    official = to_official(vae.state_dict())
    weights = deterministic_weights({k: tuple(v.shape) for k, v in official.items()}, seed)
    if round_bf16:
        weights = {k: v.to(torch.bfloat16).to(torch.float32) for k, v in weights.items()}
    name_of = {official_key(k): k for k in vae.state_dict()}
    vae.load_state_dict({name_of[k]: v for k, v in weights.items()})
    return vae, weights


# ---- runs -----------------------------------------------------------------------------------------
def stats():
    mean = torch.tensor(LATENTS_MEAN, dtype=torch.float32).view(1, 16, 1, 1, 1)
    inv_std = (1.0 / torch.tensor(LATENTS_STD, dtype=torch.float32)).view(1, 16, 1, 1, 1)
    return mean, inv_std


@torch.no_grad()
def decode(vae, z, dtype):
    mean, inv_std = stats()
    raw = z / inv_std + mean  # official de-normalization, fp32
    return vae.decode(raw.to(dtype)).sample.float()


@torch.no_grad()
def encode(vae, video, dtype):
    mean, inv_std = stats()
    mu = vae.encode(video.to(dtype)).latent_dist.mean.float()
    return (mu - mean) * inv_std  # official normalization, fp32


def inputs(latent_shape, seed):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(latent_shape, generator=g)
    b, _, t, h, w = latent_shape
    video = (torch.rand((b, 3, 1 + 4 * (t - 1), 8 * h, 8 * w), generator=g) * 2 - 1).to(torch.bfloat16)
    return z, video


def run_case(vae, latent_shape, seed):
    z, video = inputs(latent_shape, seed)
    tensors = {"decode.z": z, "encode.video": video}
    vae_bf16 = copy.deepcopy(vae).to(torch.bfloat16)  # every weight in bf16 (no fp32 modules)
    for model, dtype, tag in ((vae, torch.float32, "fp32"), (vae_bf16, torch.bfloat16, "bf16")):
        tensors[f"decode.out_{tag}"] = decode(model, z, dtype)
        tensors[f"encode.out_{tag}"] = encode(model, video.float(), dtype)
    d32, d16 = tensors["decode.out_fp32"], tensors["decode.out_bf16"]
    e32, e16 = tensors["encode.out_fp32"], tensors["encode.out_bf16"]
    print(f"  decode {tuple(d32.shape)}: clamped fraction {(d32.abs() >= 1).float().mean():.3f}, "
          f"std {d32.std():.3f}, bf16 max err {(d16 - d32).abs().max():.4f}")
    print(f"  encode {tuple(e32.shape)}: std {e32.std():.3f}, bf16 max err {(e16 - e32).abs().max():.4f}")
    return tensors


def save(name, tensors, meta):
    path = os.path.join(OUT, name)
    safetensors.torch.save_file({k: v.contiguous() for k, v in tensors.items()}, path, metadata=meta)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def main():
    diffusers.utils.logging.set_verbosity_error()  # the bf16 cast warns that nothing stays fp32
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(2)
    os.makedirs(OUT, exist_ok=True)
    meta = versions()

    # (a) tiny config, weights committed.
    print("tiny config")
    tiny, tiny_w = build(TINY_BASE_DIM, TINY_SEED, round_bf16=True)
    save("tiny_weights.safetensors", {k: v.to(torch.bfloat16) for k, v in tiny_w.items()},
         {**meta, "diffusers_config": json.dumps(dict(tiny.config)),
          "seed": str(TINY_SEED)})
    save("tiny_io.safetensors", run_case(tiny, (1, 16, 3, 4, 6), INPUT_SEED),
         {**meta, "base_dim": str(TINY_BASE_DIM), "input_seed": str(INPUT_SEED)})

    # (b) real architecture, deterministic weights (not committed).
    print("real architecture")
    real, real_w = build(96, REAL_SEED, round_bf16=False)
    assert sum(p.numel() for p in real.parameters()) == 126_892_531
    tensors = run_case(real, (1, 16, 2, 2, 2), INPUT_SEED + 1)
    tensors["weight_probe"] = torch.stack([real_w[k].flatten()[:3] for k in sorted(real_w)])
    save("real_io.safetensors", tensors,
         {**meta, "base_dim": "96", "weight_seed": str(REAL_SEED), "input_seed": str(INPUT_SEED + 1)})

    # Key list of the real-size diffusers model, built on the meta device.
    with torch.device("meta"):
        meta_vae = AutoencoderKLWan()
    sd = meta_vae.state_dict()
    keys = {
        "model": "diffusers.AutoencoderKLWan (default = Wan2.1 config, meta device)",
        "versions": meta,
        "state_dict": {k: list(v.shape) for k, v in sd.items()},
        "official": {k: official_key(k) for k in sd},
    }
    to_official({k: torch.empty(0) for k in sd})  # mapping verified against diffusers' converter
    with open(os.path.join(OUT, "wan21_vae_diffusers_keys.json"), "w") as f:
        json.dump(keys, f, indent=1, sort_keys=True)
        f.write("\n")
    with open(os.path.join(OUT, "wan21_vae_diffusers_config.json"), "w") as f:
        f.write(meta_vae.to_json_string())
    print("wrote key list and config")


if __name__ == "__main__":
    main()

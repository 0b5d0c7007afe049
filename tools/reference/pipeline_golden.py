#!/usr/bin/env python3
"""Golden for the whole tiny text-to-video pipeline against diffusers' WanPipeline.

Usage (after building gallop):
    build/gallop export-tiny --layout diffusers -o /tmp/tiny-diffusers
    .venv/bin/python tools/reference/pipeline_golden.py /tmp/tiny-diffusers

Runs diffusers' WanPipeline on the built-in tiny model as `gallop export-tiny` writes it (same
weights), with everything set the way the official Wan2.1 code runs:
  * prompts cleaned as the official code does (ftfy + html unescape twice + whitespace), token ids
    from SentencePiece with the tiny model (EOS appended, padded to 512), embeddings from
    transformers' UMT5EncoderModel trimmed to the real length and zero-padded to 512 (exactly what
    WanPipeline.encode_prompt does; passed in as prompt_embeds so that the token ids are
    SentencePiece's, which gallop uses);
  * the official Chinese negative prompt;
  * UniPC on the official sigma grid (diffusers' own grid differs, spec §10):
    UniPCMultistepScheduler(use_flow_sigmas=True, flow_shift=1, prediction_type='flow_prediction')
    with set_timesteps(sigmas=<official shifted sigmas>);
  * noise from torch.Generator('cpu').manual_seed(seed), fp32 on the CPU;
  * the official float64 timestep sinusoid swapped into the transformer (diffusers computes it in
    float32; the difference is ~1e-6 relative and would blur the comparison).
Stores the final latents (before the VAE) in tests/data/pipeline/tiny_t2v.safetensors with the
settings and package versions in the metadata. The C++ test runs gallop's pipeline with the same
settings and compares the latents within 1e-4 relative error.
"""
import html
import json
import math
import os
import sys

import diffusers
import ftfy
import numpy as np
import regex
import safetensors.torch
import sentencepiece
import torch
import transformers
from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel
from transformers import UMT5EncoderModel

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "data", "pipeline", "tiny_t2v.safetensors")
SPIECE = os.path.join(ROOT, "tokenizer", "assets", "tiny_spiece.model")

PROMPT = "a red car drifting through rain at night"
NEGATIVE = (
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，JPEG压缩残留，"
    "丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，手指融合，"
    "静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走"
)
SEED, WIDTH, HEIGHT, FRAMES, STEPS, GUIDANCE, SHIFT = 7, 64, 48, 9, 4, 5.0, 5.0
TEXT_LEN = 512


def clean(text):
    text = ftfy.fix_text(text)
    text = html.unescape(html.unescape(text)).strip()
    return regex.sub(r"\s+", " ", text).strip()


def embed(text, sp, encoder):
    ids = sp.encode(clean(text))[: TEXT_LEN - 1] + [1]
    n = len(ids)
    ids = torch.tensor([ids + [0] * (TEXT_LEN - n)])
    mask = torch.tensor([[1] * n + [0] * (TEXT_LEN - n)])
    with torch.no_grad():
        out = encoder(input_ids=ids, attention_mask=mask).last_hidden_state[0, :n]
    padded = torch.zeros(1, TEXT_LEN, out.shape[-1])
    padded[0, :n] = out
    return padded


def official_sigmas(n, shift):
    train = 1.0 - np.linspace(1, 1 / 1000, 1000)[::-1].copy()
    train = torch.from_numpy(train).to(torch.float32)
    sigma_max, sigma_min = train[0].item(), train[-1].item()
    sigmas = np.linspace(sigma_max, sigma_min, n + 1).copy()[:-1]
    return shift * sigmas / (1 + (shift - 1) * sigmas)


def official_sinusoid(dim, position):
    # spec §2.3: float64, cos half first, then cast to fp32.
    half = dim // 2
    position = position.to(torch.float64)
    freqs = torch.pow(10000, -torch.arange(half, dtype=torch.float64).div(half))
    x = torch.outer(position, freqs)
    return torch.cat([torch.cos(x), torch.sin(x)], dim=1).float()


def main():
    folder = sys.argv[1]
    torch.manual_seed(0)
    transformer = WanTransformer3DModel.from_pretrained(os.path.join(folder, "transformer")).float().eval()
    vae = AutoencoderKLWan.from_pretrained(os.path.join(folder, "vae")).float().eval()
    encoder = UMT5EncoderModel.from_pretrained(os.path.join(folder, "text_encoder")).float().eval()
    # The official sinusoid instead of diffusers' float32 one.
    transformer.condition_embedder.timesteps_proj.forward = lambda t: official_sinusoid(
        transformer.config.freq_dim, t)

    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=1.0,
                                        num_train_timesteps=1000, solver_order=2, solver_type="bh2",
                                        predict_x0=True, lower_order_final=True, final_sigmas_type="zero")
    original = scheduler.set_timesteps
    scheduler.set_timesteps = lambda n, device=None, **kw: original(
        sigmas=official_sigmas(n, SHIFT), device=device)

    pipe = WanPipeline(tokenizer=None, text_encoder=None, transformer=transformer, vae=vae, scheduler=scheduler)
    sp = sentencepiece.SentencePieceProcessor(model_file=SPIECE)
    cond = embed(PROMPT, sp, encoder)
    uncond = embed(NEGATIVE, sp, encoder)
    generator = torch.Generator("cpu").manual_seed(SEED)
    with torch.no_grad():
        latents = pipe(prompt_embeds=cond, negative_prompt_embeds=uncond, height=HEIGHT, width=WIDTH,
                       num_frames=FRAMES, num_inference_steps=STEPS, guidance_scale=GUIDANCE, generator=generator,
                       output_type="latent").frames
    print("timesteps", scheduler.timesteps.tolist())
    latents = latents[0].float().contiguous()  # [16, T, h, w]
    metadata = {
        "prompt": PROMPT, "negative_prompt": NEGATIVE, "seed": str(SEED), "width": str(WIDTH),
        "height": str(HEIGHT), "frames": str(FRAMES), "steps": str(STEPS), "guidance": str(GUIDANCE),
        "shift": str(SHIFT), "solver": "unipc", "timesteps": json.dumps(scheduler.timesteps.tolist()),
        "torch": torch.__version__, "diffusers": diffusers.__version__, "transformers": transformers.__version__,
        "sentencepiece": sentencepiece.__version__, "ftfy": ftfy.__version__,
        "made_by": "tools/reference/pipeline_golden.py",
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    safetensors.torch.save_file({"latents": latents}, OUT, metadata=metadata)
    print("wrote", OUT, tuple(latents.shape), "max|x|", latents.abs().max().item())


if __name__ == "__main__":
    main()

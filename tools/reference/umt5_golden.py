#!/usr/bin/env python3
"""Writes the umT5 encoder goldens that tests/models/text_encoder/ read.

Reference: Hugging Face `transformers.UMT5EncoderModel` (eager attention), which for the encoder is
numerically the official Wan2.1 `wan/modules/t5.py` encoder when both run with all weights in one
dtype: same unscaled attention, per-layer relative position bias, T5 RMSNorm, tanh GELU written
with the same operations in the same order. Where the two differ and what gallop follows:
  * padding mask: HF adds a finfo.min tensor to the scores, the official code fills the bias with
    finfo.min before adding it; both give weight 0 to padded keys (identical at real keys);
  * RMSNorm: both round the normalized fp32 value to the weight dtype only when the weight is half
    precision, then multiply by the weight: the same; gelu_new is the official tanh GELU with the
    same operations in the same order; HF softmaxes the bf16 scores directly (ATen upcasts
    internally) where the official code upcasts explicitly: the same bits on CPU (checked with an
    attention patched to the official sequence while writing this script);
  * HF's `from_pretrained(torch_dtype=bf16)` keeps `wo` (= official `ffn.fc2`) in fp32
    (`_keep_in_fp32_modules`), which makes its residual stream fp32 after the first FFN; the
    official model is bf16 throughout. Here the bf16 reference is made with `.to(torch.bfloat16)`,
    which casts every weight, i.e. the official behaviour (asserted below).

Files written to tests/data/text_encoder/:
  tiny_umt5.safetensors  the tiny model's weights under the OFFICIAL keys (bf16: the random weights
                         are rounded to bf16 first, so the fp32 reference uses exactly these values),
                         and for the cases "short" (B=2, L=64, lengths 23 and 41) and "long"
                         (B=2, L=200, lengths 200 and 167, so distances reach the >= 91 buckets
                         both ways): <case>.ids, <case>.mask (int64), <case>.out_fp32 (fp32 run),
                         <case>.out_bf16 (bf16 run). Metadata: package versions, the tiny HF config
                         (key "hf_config", JSON), seed.
  umt5_xxl_hf_keys.json  every state-dict key and shape of the real-size UMT5EncoderModel (built on
                         the meta device), for the name-map test.
  umt5_xxl_hf_config.json  the HF config.json of the real-size encoder (what transformers writes).

Run by hand with the project venv (deterministic, fixed seed):
  .venv/bin/python tools/reference/umt5_golden.py
"""

import json
import os
import platform

import safetensors
import safetensors.torch
import torch
import transformers
from transformers import UMT5Config, UMT5EncoderModel

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "text_encoder")
SEED = 1234

TINY = dict(
    vocab_size=4096,
    d_model=64,
    d_kv=16,
    num_heads=4,
    d_ff=128,
    num_layers=2,
    relative_attention_num_buckets=32,
    relative_attention_max_distance=128,
    layer_norm_epsilon=1e-6,
    feed_forward_proj="gated-gelu",
    dropout_rate=0.0,
)

XXL = dict(
    vocab_size=256384,
    d_model=4096,
    d_kv=64,
    num_heads=64,
    d_ff=10240,
    num_layers=24,
    relative_attention_num_buckets=32,
    relative_attention_max_distance=128,
    layer_norm_epsilon=1e-6,
    feed_forward_proj="gated-gelu",
    scalable_attention=True,
    tie_word_embeddings=False,
)


def versions():
    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "safetensors": safetensors.__version__,
        "python": platform.python_version(),
    }


def official_key(hf_key):
    """HF UMT5EncoderModel key -> official Wan2.1 key (spec section 7.6)."""
    if hf_key == "shared.weight":
        return "token_embedding.weight"
    if hf_key == "encoder.final_layer_norm.weight":
        return "norm.weight"
    parts = hf_key.split(".")
    assert parts[:2] == ["encoder", "block"], hf_key
    i, rest = parts[2], ".".join(parts[3:])
    table = {
        "layer.0.layer_norm.weight": "norm1.weight",
        "layer.0.SelfAttention.q.weight": "attn.q.weight",
        "layer.0.SelfAttention.k.weight": "attn.k.weight",
        "layer.0.SelfAttention.v.weight": "attn.v.weight",
        "layer.0.SelfAttention.o.weight": "attn.o.weight",
        "layer.0.SelfAttention.relative_attention_bias.weight": "pos_embedding.embedding.weight",
        "layer.1.layer_norm.weight": "norm2.weight",
        "layer.1.DenseReluDense.wi_0.weight": "ffn.gate.0.weight",
        "layer.1.DenseReluDense.wi_1.weight": "ffn.fc1.weight",
        "layer.1.DenseReluDense.wo.weight": "ffn.fc2.weight",
    }
    return f"blocks.{i}.{table[rest]}"


def fill_random(model, cfg, gen):
    """Random weights that keep activations O(1) and make the position bias matter."""
    d, dff, inner = cfg.d_model, cfg.d_ff, cfg.num_heads * cfg.d_kv

    def randn(shape, std):
        return torch.randn(shape, generator=gen) * std

    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("layer_norm.weight"):
                v = 1.0 + randn(p.shape, 0.1)
            elif name == "shared.weight":
                v = randn(p.shape, 1.0)
            elif name.endswith("relative_attention_bias.weight"):
                v = randn(p.shape, 1.0)
            elif name.endswith((".q.weight", ".k.weight", ".v.weight", "wi_0.weight", "wi_1.weight")):
                v = randn(p.shape, d**-0.5)
            elif name.endswith(".o.weight"):
                v = randn(p.shape, inner**-0.5)
            elif name.endswith("wo.weight"):
                v = randn(p.shape, dff**-0.5)
            else:
                raise AssertionError(f"unexpected parameter {name}")
            # bf16-representable values: the bf16 run then sees exactly the fp32 run's weights.
            p.copy_(v.to(torch.bfloat16).to(torch.float32))


def make_case(gen, vocab, batch_lengths, seq_len):
    ids = torch.zeros(len(batch_lengths), seq_len, dtype=torch.int64)
    mask = torch.zeros(len(batch_lengths), seq_len, dtype=torch.int64)
    for b, n in enumerate(batch_lengths):
        ids[b, : n - 1] = torch.randint(3, vocab, (n - 1,), generator=gen)
        ids[b, n - 1] = 1  # EOS, as the tokenizer appends it; pads stay 0
        mask[b, :n] = 1
    return ids, mask


def tiny_goldens():
    cfg = UMT5Config(**TINY)
    cfg._attn_implementation = "eager"
    gen = torch.Generator().manual_seed(SEED)
    model = UMT5EncoderModel(cfg).eval()
    fill_random(model, cfg, gen)

    model_bf16 = UMT5EncoderModel(cfg).eval()
    model_bf16.load_state_dict(model.state_dict())
    model_bf16 = model_bf16.to(torch.bfloat16)
    assert all(p.dtype == torch.bfloat16 for p in model_bf16.parameters())

    tensors = {}
    for name, p in model.named_parameters():
        tensors[official_key(name)] = p.detach().to(torch.bfloat16).contiguous()

    cases = {"short": ([23, 41], 64), "long": ([200, 167], 200)}
    with torch.no_grad():
        for case, (lengths, seq_len) in cases.items():
            ids, mask = make_case(gen, cfg.vocab_size, lengths, seq_len)
            out32 = model(input_ids=ids, attention_mask=mask).last_hidden_state
            out16 = model_bf16(input_ids=ids, attention_mask=mask).last_hidden_state
            assert out32.dtype == torch.float32 and out16.dtype == torch.bfloat16
            tensors[f"{case}.ids"] = ids
            tensors[f"{case}.mask"] = mask
            tensors[f"{case}.out_fp32"] = out32.contiguous()
            tensors[f"{case}.out_bf16"] = out16.contiguous()
            err = (out16.float() - out32).abs().max().item() / out32.abs().max().item()
            print(f"{case}: out {tuple(out32.shape)}, bf16 vs fp32 relative error {err:.3e}")

    hf_config = {k: v for k, v in cfg.to_dict().items() if k in TINY or k == "model_type"}
    meta = {"versions": json.dumps(versions()), "hf_config": json.dumps(hf_config), "seed": str(SEED),
            "script": "tools/reference/umt5_golden.py"}
    path = os.path.join(OUT, "tiny_umt5.safetensors")
    safetensors.torch.save_file(tensors, path, metadata=meta)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def xxl_keys():
    cfg = UMT5Config(**XXL)
    with torch.device("meta"):
        model = UMT5EncoderModel(cfg)
    keys = {k: list(v.shape) for k, v in model.state_dict().items()}
    doc = {"versions": versions(), "model": "transformers.UMT5EncoderModel (umt5-xxl config, meta device)",
           "state_dict": keys}
    path = os.path.join(OUT, "umt5_xxl_hf_keys.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {path} ({len(keys)} keys)")

    cfg_path = os.path.join(OUT, "umt5_xxl_hf_config.json")
    cfg_dict = cfg.to_dict()
    cfg_dict["architectures"] = ["UMT5EncoderModel"]
    with open(cfg_path, "w") as f:
        json.dump(cfg_dict, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"wrote {cfg_path}")


def main():
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT, exist_ok=True)
    tiny_goldens()
    xxl_keys()


if __name__ == "__main__":
    main()

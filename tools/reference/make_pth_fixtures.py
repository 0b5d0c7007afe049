#!/usr/bin/env python3
"""Writes the tiny torch.save fixtures under tests/data/weights/ that the .pth reader's tests use
(tests/engine/weights/pth_test.cpp and others).

The official Wan2.1 VAE and umT5 checkpoints are zip-format torch.save pickles of a state dict;
gallop reads the archive with LibTorch's zip reader and data.pkl with its own restricted
unpickler (engine/weights/pickle_reader.h). These files exercise that reader:

  good.pth                 OrderedDict of fp32 / bf16 / fp16 / int64 tensors (with the _metadata
                           attribute that state_dict() adds), including two views that do not
                           own their storage (a transpose sharing storage with another entry,
                           and a strided slice of an unsaved tensor)
  good_expected.safetensors  the same tensors, made contiguous: what the reader must return
  wrapped.pth              {"state_dict": <the same dict>, "epoch": 7} (a training-checkpoint wrapper)
  bad_list.pth             a pickled list of tensors (not a dict)
  bad_int_value.pth        a dict whose second value is an int
  bad_module.pth           a whole pickled nn.Linear (needs Python classes to rebuild)
  bad_truncated.pth        good.pth cut in half
  bad_legacy.pth           the pre-1.6 non-zip format (_use_new_zipfile_serialization=False)

Run by hand with the project venv. Tensor values are fixed by the seed; re-running rewrites the
.pth files byte for byte except bad_legacy.pth (the legacy format keys storages by object id),
and good_expected.safetensors may order its metadata differently (the safetensors package
hashes it). pth_fixtures.json records the package versions.

  .venv/bin/python tools/reference/make_pth_fixtures.py
"""

import collections
import io
import json
import os

import safetensors
import safetensors.torch
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "weights")


def state_dict():
    g = torch.Generator().manual_seed(20240601)
    base = torch.randn(4, 3, generator=g)
    unsaved = torch.randn(5, 6, generator=g)
    sd = collections.OrderedDict()
    sd["linear.weight"] = base  # fp32, owns its storage
    sd["linear.weight_t"] = base.t()  # shares storage with linear.weight, strides (1, 3)
    sd["norm.weight"] = torch.randn(5, generator=g).to(torch.bfloat16)
    sd["conv.weight"] = torch.randn(2, 3, 1, 1, generator=g).to(torch.float16)
    sd["position_ids"] = torch.arange(7, dtype=torch.int64) * 3 - 4
    sd["slice"] = unsaved[1:4, ::2]  # storage offset 6, strides (6, 2)
    sd["scalar"] = torch.tensor(0.25)
    sd["empty"] = torch.empty(0, 4)
    # What nn.Module.state_dict() attaches (pickled as the OrderedDict's state).
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("linear", {"version": 1})])
    return sd


def save(obj, name, **kwargs):
    path = os.path.join(OUT, name)
    torch.save(obj, path, **kwargs)
    return path


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    sd = state_dict()
    assert not sd["linear.weight_t"].is_contiguous() and not sd["slice"].is_contiguous()

    good = save(sd, "good.pth")
    versions = {"torch": torch.__version__, "safetensors": safetensors.__version__,
                "generator": "tools/reference/make_pth_fixtures.py"}
    safetensors.torch.save_file({k: v.contiguous() for k, v in sd.items()},
                                os.path.join(OUT, "good_expected.safetensors"), metadata=versions)
    save({"state_dict": sd, "epoch": 7}, "wrapped.pth")

    save([sd["linear.weight"], sd["norm.weight"]], "bad_list.pth")
    save(collections.OrderedDict([("linear.weight", sd["linear.weight"]), ("num_steps", 3)]), "bad_int_value.pth")
    torch.manual_seed(1)
    save(torch.nn.Linear(2, 2), "bad_module.pth")
    with open(good, "rb") as f:
        data = f.read()
    with open(os.path.join(OUT, "bad_truncated.pth"), "wb") as f:
        f.write(data[: len(data) // 2])
    buf = io.BytesIO()
    torch.save(sd, buf, _use_new_zipfile_serialization=False)
    with open(os.path.join(OUT, "bad_legacy.pth"), "wb") as f:
        f.write(buf.getvalue())

    with open(os.path.join(OUT, "pth_fixtures.json"), "w") as f:
        files = ["good.pth", "good_expected.safetensors", "wrapped.pth", "bad_list.pth", "bad_int_value.pth",
                 "bad_module.pth", "bad_truncated.pth", "bad_legacy.pth"]
        json.dump({"versions": versions, "files": files}, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes the tiny image fixtures that tests/engine/io/ read, with the pixels the reference
decodes from them.

The official image-to-video code opens its input with PIL and calls `.convert("RGB")`; these
fixtures pin gallop's image reader (FFmpeg decoders) to what PIL returns for the same files.

Files written to tests/data/io/ (all images 32x24 except jpeg_420_odd and jpeg_422, 23x17):
  png_rgb.png, png_rgba.png (alpha varies, including 0 over non-zero colour), png_gray.png,
  png_gray_alpha.png, png_palette.png (adaptive palette with a transparent entry),
  jpeg_420.jpg (quality 90, 4:2:0), jpeg_420_odd.jpg (4:2:0, odd size), jpeg_422.jpg (4:2:2,
  odd size), jpeg_444.jpg (4:4:4),
  jpeg_gray.jpg, webp_lossless.webp, webp_lossy.webp (quality 90)
  expected_rgb.safetensors: for each file, key "<file name>" = PIL's Image.open(f).convert("RGB")
      as uint8 [H, W, 3]; metadata: package versions and the script name.

Run by hand with the project venv (deterministic: no randomness beyond a fixed seed):
  .venv/bin/python tools/reference/io_fixtures.py
"""

import os
import platform

import numpy as np
import PIL
from PIL import Image, features
from safetensors.numpy import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "io")


def pattern(w, h, seed):
    """Smooth colour gradients, a soft disc and a few sharp edges and dots (detail that JPEG and
    chroma subsampling have to deal with)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255 * x / max(w - 1, 1)
    g = 255 * y / max(h - 1, 1)
    b = 128 + 100 * np.sin(x / 3.0) * np.cos(y / 4.0)
    disc = np.exp(-(((x - w * 0.6) ** 2 + (y - h * 0.4) ** 2) / (2 * (w / 6.0) ** 2)))
    img = np.stack([r, g, b], axis=-1) * (1 - disc[..., None]) + disc[..., None] * np.array([250, 40, 90])
    img[h // 2 : h // 2 + 2, :, :] = [10, 200, 30]  # a sharp green bar
    for _ in range(6):
        img[rng.integers(0, h), rng.integers(0, w)] = rng.integers(0, 256, size=3)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def main():
    os.makedirs(OUT, exist_ok=True)
    rgb = pattern(32, 24, seed=1)
    odd = pattern(23, 17, seed=2)
    alpha = np.tile(np.linspace(0, 255, 32).round().astype(np.uint8), (24, 1))
    alpha[:4, :] = 0  # fully transparent rows keep their colour in the file

    images = {
        "png_rgb.png": (Image.fromarray(rgb, "RGB"), {}),
        "png_rgba.png": (Image.fromarray(np.dstack([rgb, alpha]), "RGBA"), {}),
        "png_gray.png": (Image.fromarray(rgb[..., 1], "L"), {}),
        "png_gray_alpha.png": (Image.fromarray(np.dstack([rgb[..., 0], alpha]), "LA"), {}),
        "png_palette.png": (Image.fromarray(rgb, "RGB").quantize(colors=16, method=Image.Quantize.MEDIANCUT),
                            {"transparency": 3}),
        "jpeg_420.jpg": (Image.fromarray(rgb, "RGB"), {"quality": 90, "subsampling": 2}),
        "jpeg_420_odd.jpg": (Image.fromarray(odd, "RGB"), {"quality": 90, "subsampling": 2}),
        "jpeg_422.jpg": (Image.fromarray(odd, "RGB"), {"quality": 90, "subsampling": 1}),
        "jpeg_444.jpg": (Image.fromarray(rgb, "RGB"), {"quality": 90, "subsampling": 0}),
        "jpeg_gray.jpg": (Image.fromarray(rgb[..., 2], "L"), {"quality": 90}),
        "webp_lossless.webp": (Image.fromarray(rgb, "RGB"), {"lossless": True}),
        "webp_lossy.webp": (Image.fromarray(rgb, "RGB"), {"quality": 90}),
    }
    expected = {}
    for name, (img, kwargs) in images.items():
        path = os.path.join(OUT, name)
        img.save(path, **kwargs)
        expected[name] = np.ascontiguousarray(np.asarray(Image.open(path).convert("RGB")))

    metadata = {
        "script": "tools/reference/io_fixtures.py",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pillow": PIL.__version__,
        "libjpeg": str(features.version("jpg")),
        "libwebp": str(features.version("webp")),
        "zlib": str(features.version("zlib")),
    }
    save_file(expected, os.path.join(OUT, "expected_rgb.safetensors"), metadata=metadata)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {len(images)} images + expected_rgb.safetensors to {OUT} ({total} bytes)")


if __name__ == "__main__":
    main()

"""Real images for the simulator's CDN: procedural 2x2 grids (four visibly different quadrants,
the prompt's --ar respected), upscales of a quadrant, variations of a quadrant, blends of inputs,
low-resolution WebP previews. Deterministic from a seed string, so a test can recompute them."""

from __future__ import annotations

import hashlib
import io
import random

from PIL import Image, ImageDraw, ImageFilter

GRID_LONG_SIDE = 512


def _rng(seed: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big"))


def grid_size(aspect: tuple[int, int]) -> tuple[int, int]:
    w, h = aspect
    if w >= h:
        return GRID_LONG_SIDE, max(64, round(GRID_LONG_SIDE * h / w) // 2 * 2)
    return max(64, round(GRID_LONG_SIDE * w / h) // 2 * 2), GRID_LONG_SIDE


def _tile(seed: str, size: tuple[int, int], base: Image.Image | None = None) -> Image.Image:
    rng = _rng(seed)
    hue = rng.randrange(256)
    bg = (hue, rng.randrange(40, 220), (hue * 7) % 256)
    img = Image.new("RGB", size, bg)
    if base is not None:
        img = Image.blend(img, base.convert("RGB").resize(size), 0.6)
    draw = ImageDraw.Draw(img)
    w, h = size
    for _ in range(6):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = x0 + rng.randrange(8, w // 2 + 9), y0 + rng.randrange(8, h // 2 + 9)
        color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=color)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=color)
    return img


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def open_image(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img.convert("RGB")


def grid(seed: str, aspect: tuple[int, int], references: list[bytes] | None = None) -> bytes:
    """A 2x2 grid; reference images (imagine image prompts, blend inputs) show through."""
    w, h = grid_size(aspect)
    out = Image.new("RGB", (w, h))
    refs = [open_image(r) for r in references or []]
    for i in range(4):
        base = refs[i % len(refs)] if refs else None
        tile = _tile(f"{seed}:{i}", (w // 2, h // 2), base)
        out.paste(tile, ((i % 2) * (w // 2), (i // 2) * (h // 2)))
    return png(out)


def quadrant(grid_png: bytes, index: int) -> Image.Image:
    img = open_image(grid_png)
    w, h = img.size
    col, row = (index - 1) % 2, (index - 1) // 2
    return img.crop((col * w // 2, row * h // 2, (col + 1) * w // 2, (row + 1) * h // 2))


def upscale(grid_png: bytes, index: int) -> bytes:
    q = quadrant(grid_png, index)
    return png(q.resize((q.width * 2, q.height * 2), Image.Resampling.LANCZOS))


def resample(png_bytes: bytes, factor: int) -> bytes:
    """An HD upscale: the same picture, `factor` times the width and height."""
    img = open_image(png_bytes)
    return png(img.resize((img.width * factor, img.height * factor), Image.Resampling.LANCZOS))


def variation(grid_png: bytes, index: int, seed: str) -> bytes:
    """Four variations of one quadrant: the quadrant, shifted and re-decorated per tile."""
    q = quadrant(grid_png, index)
    w, h = q.width * 2, q.height * 2
    out = Image.new("RGB", (w, h))
    for i in range(4):
        tile = Image.blend(q, _tile(f"{seed}:{i}", q.size), 0.35)
        out.paste(tile, ((i % 2) * q.width, (i // 2) * q.height))
    return png(out)


def preview(final_png: bytes, percent: int) -> bytes:
    """What a running job shows: a small, blurred WebP, sharper as it progresses."""
    img = open_image(final_png)
    img = img.resize((max(1, img.width // 4), max(1, img.height // 4)))
    img = img.filter(ImageFilter.GaussianBlur(max(0.0, (100 - percent) / 20)))
    buf = io.BytesIO()
    img.save(buf, format="WEBP", quality=60)
    return buf.getvalue()


def dominant_color(data: bytes) -> tuple[int, int, int]:
    img = open_image(data).resize((1, 1))
    r, g, b = img.getpixel((0, 0))
    return int(r), int(g), int(b)


def size_of(data: bytes) -> tuple[int, int]:
    img = Image.open(io.BytesIO(data))
    return img.size

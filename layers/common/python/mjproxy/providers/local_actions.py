"""Procedural follow-ups for the `local` provider (plus-api.md §2.1.1): pan and zoom out really
extend the canvas with newly drawn surroundings in the source's colours, Vary (Region) redraws
only the masked area, HD upscales really resample. Pure functions, bytes in, bytes out, and
deterministic for the same arguments; like local_art.py, nothing here is AI.

The generated parts are local_art scenes of the same prompt, colour-matched to the source and
blended in with a feathered seam, so the result reads as one picture.
"""

from __future__ import annotations

import random

from PIL import Image, ImageChops, ImageFilter, ImageOps, ImageStat

from .canvas import PAN_EXTEND, region_mask
from .local_art import _fractal, _grid, _open, _png, render_scene, sub_seed, upscale

# Pans and zooms work on the source at most this large (long side): a pan of a 1024 px upscale
# gives 1152 px wide candidates, and the grid stays quick to draw, encode and split.
WORK_LONG_SIDE = 768
FEATHER = 0.06  # seam width as a share of the source's short side
DIRECTIONS = ("left", "right", "up", "down")


def _work(src: Image.Image) -> Image.Image:
    f = min(1.0, WORK_LONG_SIDE / max(src.size))
    if f >= 1.0:
        return src
    return src.resize((round(src.width * f), round(src.height * f)), Image.Resampling.LANCZOS)


def _match_colours(img: Image.Image, ref: Image.Image) -> Image.Image:
    """Shift `img`'s per-channel mean and spread to `ref`'s, so new areas share the source's
    palette and light."""
    a, b = ImageStat.Stat(img), ImageStat.Stat(ref)
    bands = []
    for i, band in enumerate(img.split()):
        scale = (b.stddev[i] + 1) / (a.stddev[i] + 1)
        scale = max(0.5, min(1.6, scale))
        offset = b.mean[i] - a.mean[i] * scale
        bands.append(band.point([max(0, min(255, round(v * scale + offset))) for v in range(256)]))
    return Image.merge("RGB", bands)


def _feathered(size: tuple[int, int], feather: int) -> Image.Image:
    """An opaque box of `size` whose border fades out over `feather` px (the seam)."""
    mask = Image.new("L", size, 0)
    inner = Image.new("L", (max(1, size[0] - 2 * feather), max(1, size[1] - 2 * feather)), 255)
    mask.paste(inner, (feather, feather))
    return mask.filter(ImageFilter.GaussianBlur(max(1, feather / 2))) if feather else mask


def _surroundings(
    prompt: str, seed: int, index: int, src: Image.Image, base: Image.Image
) -> Image.Image:
    """New content for a canvas the size of `base`: the prompt's scene in the source's colours,
    mixed with `base` (the source carried on past its edges) so the horizon and light continue.
    Each candidate `index` mixes differently."""
    scene = _match_colours(render_scene(prompt, seed, index, base.size), src)
    rng = random.Random(sub_seed(seed, "mix", index))
    echo = base.filter(ImageFilter.GaussianBlur(max(base.size) * rng.uniform(0.004, 0.02)))
    return Image.blend(scene, echo, rng.uniform(0.45, 0.7))


def _mirrored(src: Image.Image, size: tuple[int, int], box: tuple[int, int]) -> Image.Image:
    """A canvas of `size` with `src` at `box` and its mirror image past each new edge."""
    canvas = src.resize(size, Image.Resampling.BILINEAR)
    w, h = src.size
    x, y = box
    if x > 0:  # new area on the left
        canvas.paste(ImageOps.mirror(src).crop((w - x, 0, w, h)), (0, y))
    if size[0] - x - w > 0:  # on the right
        canvas.paste(ImageOps.mirror(src).crop((0, 0, size[0] - x - w, h)), (x + w, y))
    if y > 0:  # above
        canvas.paste(ImageOps.flip(src).crop((0, h - y, w, h)), (x, 0))
    if size[1] - y - h > 0:  # below
        canvas.paste(ImageOps.flip(src).crop((0, 0, w, size[1] - y - h)), (x, y + h))
    canvas.paste(src, box)
    return canvas


def _place(canvas: Image.Image, src: Image.Image, box: tuple[int, int], edges: str) -> Image.Image:
    """Paste `src` at `box` with feathered seams on the sides named in `edges` (l, r, t, b)."""
    feather = max(2, round(min(src.size) * FEATHER))
    mask = Image.new("L", src.size, 255)
    soft = _feathered(src.size, feather)
    w, h = src.size
    # Keep the hard edge where the source meets the canvas border (nothing to blend with).
    regions = {
        "l": (0, 0, feather * 2, h),
        "r": (w - feather * 2, 0, w, h),
        "t": (0, 0, w, feather * 2),
        "b": (0, h - feather * 2, w, h),
    }
    for side in edges:
        box_ = regions[side]
        mask.paste(ImageChops.darker(mask.crop(box_), soft.crop(box_)), box_[:2])
    out = canvas.copy()
    out.paste(src, box, mask)
    return out


def _grid_png(quads: list[Image.Image], description: str) -> bytes:
    return _png(_grid(quads), description)


def pan(png: bytes, direction: str, prompt: str, seed: int) -> bytes:
    """Pan ⬅➡⬆⬇: a 2x2 grid of four candidates, each the source with half its size of new
    surroundings added on that side (a pan left is wider than its source)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown pan direction {direction!r}")
    src = _work(_open(png))
    w, h = src.size
    if direction in ("left", "right"):
        size = (w + round(w * PAN_EXTEND), h)
        box = (size[0] - w, 0) if direction == "left" else (0, 0)
        edges = "l" if direction == "left" else "r"
    else:
        size = (w, h + round(h * PAN_EXTEND))
        box = (0, size[1] - h) if direction == "up" else (0, 0)
        edges = "t" if direction == "up" else "b"
    base = _mirrored(src, size, box)
    quads = [
        _place(_surroundings(prompt, sub_seed(seed, "pan"), i, src, base), src, box, edges)
        for i in range(4)
    ]
    return _grid_png(quads, f"pan {direction} --seed {seed}")


def zoom_out(png: bytes, factor: float, prompt: str, seed: int) -> bytes:
    """Zoom Out 2x / 1.5x / Custom Zoom: four candidates of the source's size showing it
    `factor` times smaller in the centre of newly drawn surroundings."""
    factor = max(1.0, min(2.0, float(factor)))
    src = _work(_open(png))
    w, h = src.size
    small = src.resize(
        (max(1, round(w / factor)), max(1, round(h / factor))), Image.Resampling.LANCZOS
    )
    box = ((w - small.width) // 2, (h - small.height) // 2)
    # Mirrors meet at the corners: soften them so only the carried-on light and colour remain.
    base = _mirrored(small, (w, h), box).filter(ImageFilter.GaussianBlur(w * 0.03))
    quads = [
        _place(_surroundings(prompt, sub_seed(seed, "zoom"), i, src, base), small, box, "lrtb")
        if factor > 1.0
        else src.copy()
        for i in range(4)
    ]
    return _grid_png(quads, f"zoom out {factor:g}x --seed {seed}")


def vary_region(png: bytes, mask_png: bytes, prompt: str, seed: int) -> bytes:
    """Vary (Region): four candidates in which only the masked area is drawn anew (from the
    modal's prompt); everything outside it stays the source's pixels."""
    src = _work(_open(png))
    area = region_mask(mask_png, src.size)
    if area.getbbox() is None:
        raise ValueError("the mask selects no area to vary")
    soft = area.filter(ImageFilter.GaussianBlur(max(1, min(src.size) * FEATHER / 3)))
    # Pixels outside the selection stay exactly as they were (the blur only widens inward).
    soft = ImageChops.multiply(soft, area.filter(ImageFilter.MaxFilter(3)))
    quads = []
    for i in range(4):
        new = _surroundings(prompt, sub_seed(seed, "region"), i, src, src)
        quads.append(Image.composite(new, src, soft))
    return _grid_png(quads, f"vary region --seed {seed}")


def upscale_hd(png: bytes, factor: int, creative: bool, seed: int) -> bytes:
    """Upscale (Subtle) / (2x) / (4x): resampled `factor` times larger, sharpened. (Creative)
    also adds fine procedural detail (grain that follows the image's light)."""
    big = upscale(png, factor)
    if not creative:
        return big
    img = _open(big)
    rng = random.Random(sub_seed(seed, "detail"))
    grain = _fractal(rng, img.size, (max(2, img.width // 48), max(2, img.height // 48)), 4)
    detail = ImageChops.overlay(img, Image.merge("RGB", (grain, grain, grain)))
    img = Image.blend(img, detail, 0.18).filter(
        ImageFilter.UnsharpMask(radius=1, percent=80, threshold=1)
    )
    return _png(img, f"upscaled {factor}x creative --seed {seed}")

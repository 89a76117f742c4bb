"""The local image editor (procedural, like the local generator; no AI). Both return a 2x2 grid of
four variants, as Midjourney's editor does, so U1–U4 / V1–V4 work on the result.

- EDIT: the prompt's procedural picture (local_art, with the image as reference palette) painted
  into the image where the mask is white (`maskBase64`), or over the whole image, half-blended,
  when there is no mask. Outside the mask the image is kept exactly.
- RETEXTURE: the image's structure (its luminance: shapes, edges, shading) kept, its colours and
  surface replaced by the prompt's palette and texture.
"""

from __future__ import annotations

import io

from PIL import Image, ImageFilter, ImageOps

from ..providers import local_art

QUADRANT_SIDE = 384


def _open(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def _size(img: Image.Image, long_side: int) -> tuple[int, int]:
    scale = long_side / max(img.size)
    return max(1, round(img.width * scale)), max(1, round(img.height * scale))


def _generated(prompt: str, seed: int, image: bytes, size: tuple[int, int]) -> list[Image.Image]:
    grid = local_art.render_grid_image(
        prompt, seed, aspect=size, refs=[image], size=max(size)
    ).convert("RGB")
    w, h = grid.width // 2, grid.height // 2
    return [grid.crop((x, y, x + w, y + h)).resize(size) for y in (0, h) for x in (0, w)]


def _grid(quads: list[Image.Image]) -> bytes:
    w, h = quads[0].size
    out = Image.new("RGB", (w * 2, h * 2))
    for i, q in enumerate(quads):
        out.paste(q, ((i % 2) * w, (i // 2) * h))
    buf = io.BytesIO()
    out.save(buf, format="PNG")
    return buf.getvalue()


def edit(image: bytes, prompt: str, seed: int, mask: bytes | None = None) -> bytes:
    src = _open(image).convert("RGB")
    size = _size(src, QUADRANT_SIDE)
    base = src.resize(size, Image.LANCZOS)
    if mask is not None:
        alpha = _open(mask).convert("L").resize(size).point(lambda v: 255 if v >= 128 else 0)
        alpha = alpha.filter(ImageFilter.GaussianBlur(1))  # a soft seam, not a hard cut-out
    else:
        alpha = Image.new("L", size, 140)
    return _grid([Image.composite(g, base, alpha) for g in _generated(prompt, seed, image, size)])


def retexture(image: bytes, prompt: str, seed: int) -> bytes:
    src = _open(image).convert("RGB")
    size = _size(src, QUADRANT_SIDE)
    shape = ImageOps.autocontrast(src.resize(size, Image.LANCZOS).convert("L"))
    quads = []
    for g in _generated(prompt, seed, image, size):
        colours = [c for c, _share in local_art.dominant_colours(g, 3)] or [(0, 0, 0)]
        dark, light = min(colours, key=sum), max(colours, key=sum)
        mid = colours[len(colours) // 2]
        tinted = ImageOps.colorize(shape, black=dark, white=light, mid=mid)
        # The new surface: a little of the generated texture over the recoloured structure.
        quads.append(Image.blend(tinted, g, 0.2))
    return _grid(quads)

"""Geometry and masks for the buttons of an upscaled image, shared by the providers: how far a
pan or zoom extends the canvas, and the Vary (Region) mask in each generator's convention."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from PIL import Image, ImageOps

if TYPE_CHECKING:
    from ..actions import ActionSpec

PAN_EXTEND = 0.5  # a pan adds half the source's size in its direction (Midjourney's pan step)


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def margins(size: tuple[int, int], spec: ActionSpec, prompt: str | None) -> tuple[int, ...]:
    """(left, right, up, down) pixels of new canvas around an image of `size`: half its width or
    height on a pan's side; (factor - 1) / 2 of it on every side for a zoom out."""
    w, h = size
    direction = spec.pan_direction
    if direction:
        dx, dy = round(w * PAN_EXTEND), round(h * PAN_EXTEND)
        return {
            "left": (dx, 0, 0, 0),
            "right": (0, dx, 0, 0),
            "up": (0, 0, dy, 0),
            "down": (0, 0, 0, dy),
        }[direction]
    f = spec.zoom_factor(prompt)
    dx, dy = round(w * (f - 1) / 2), round(h * (f - 1) / 2)
    return (dx, dx, dy, dy)


def region_mask(mask_png: bytes, size: tuple[int, int]) -> Image.Image:
    """The area to repaint as an L image of `size` (255 = repaint). A mask with transparency
    marks it transparent (OpenAI's convention); an opaque one marks it white (trueai / web UIs,
    Stability's convention)."""
    with Image.open(io.BytesIO(mask_png)) as img:
        img.load()
        area = img.convert("L")
        if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
            alpha = img.convert("RGBA").getchannel("A")
            if alpha.getextrema()[0] < 255:
                area = ImageOps.invert(alpha)
    area = area.resize(size, Image.Resampling.BILINEAR)
    return area.point(lambda v: 255 if v >= 128 else 0)


def white_mask(mask_png: bytes, size: tuple[int, int]) -> bytes:
    """Stability's inpaint mask: white = repaint, black = keep."""
    return _png(region_mask(mask_png, size))


def transparent_mask(mask_png: bytes, size: tuple[int, int]) -> bytes:
    """OpenAI's edit mask: transparent = repaint, opaque = keep."""
    alpha = ImageOps.invert(region_mask(mask_png, size))
    out = Image.new("RGBA", size, (0, 0, 0, 255))
    out.putalpha(alpha)
    return _png(out)


def extended(
    source_png: bytes, pads: tuple[int, ...], size: tuple[int, int] | None = None
) -> tuple[bytes, bytes]:
    """(image, mask) for an edit that paints the new canvas around the source: the source on a
    larger transparent canvas (`pads` = left, right, up, down), optionally scaled to `size`;
    the mask is transparent exactly where there is no source."""
    with Image.open(io.BytesIO(source_png)) as src:
        src = src.convert("RGBA")
    left, right, up, down = pads
    canvas = Image.new("RGBA", (src.width + left + right, src.height + up + down), (0, 0, 0, 0))
    canvas.paste(src, (left, up))
    if size and canvas.size != size:
        canvas = canvas.resize(size, Image.Resampling.LANCZOS)
    mask = Image.new("RGBA", canvas.size, (0, 0, 0, 255))
    mask.putalpha(canvas.getchannel("A").point(lambda v: 255 if v >= 250 else 0))
    return _png(canvas), _png(mask)

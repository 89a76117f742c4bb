"""The local video generator: a short procedural clip from a still — a slow pan and zoom across
the image (faster with motion "high"), optionally cross-fading into an end image and coming back
to the first frame for a loop — encoded as H.264 in MP4 by PyAV (its wheel ships FFmpeg and
libx264, so nothing is downloaded at run time). Deterministic: the same inputs give the same
frames. No AI: like the local images, it stands in for a real video model."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

FPS = 24
SECONDS = 2
LONG_SIDE = 480  # vid_1.1_i2v_480, the default videoType


@dataclass(frozen=True)
class Clip:
    mp4: bytes
    width: int
    height: int
    frames: int


def _even(n: int) -> int:
    return max(2, n - n % 2)


def _fit(img: Image.Image, long_side: int) -> tuple[int, int]:
    w, h = img.size
    scale = long_side / max(w, h)
    return _even(round(w * scale)), _even(round(h * scale))


def _ease(t: float) -> float:
    return t * t * (3 - 2 * t)  # smoothstep: no jolt at the start or end


def render(
    image: bytes,
    *,
    motion: str = "low",
    end_image: bytes | None = None,
    loop: bool = False,
    seconds: int = SECONDS,
    long_side: int = LONG_SIDE,
) -> Clip:
    import av  # imported here: only the worker renders videos

    src = Image.open(io.BytesIO(image)).convert("RGB")
    size = _fit(src, long_side)
    end = Image.open(io.BytesIO(end_image)).convert("RGB").resize(size) if end_image else None
    # Work on a larger copy so the pan/zoom crops stay sharp.
    big = src.resize((size[0] * 5 // 4, size[1] * 5 // 4), Image.LANCZOS)
    zoom_to = 1.25 if motion == "high" else 1.1
    count = max(2, seconds * FPS)
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "26", "preset": "veryfast"}
        for i in range(count):
            t = i / (count - 1)
            if loop:  # there and back again: the last frame equals the first
                t = 1 - abs(1 - 2 * t)
            e = _ease(t)
            frame = _frame(big, size, 1.0 + (zoom_to - 1.0) * e, e)
            if end is not None and not loop:
                frame = Image.blend(frame, end, _ease(max(0.0, (t - 0.5) * 2)))
            for packet in stream.encode(av.VideoFrame.from_image(frame)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return Clip(buf.getvalue(), size[0], size[1], count)


def _frame(big: Image.Image, size: tuple[int, int], zoom: float, pan: float) -> Image.Image:
    """The crop of `big` at `zoom` (1 = the whole picture), panned left to right by `pan` 0..1."""
    bw, bh = big.size
    cw, ch = bw / zoom, bh / zoom
    x = (bw - cw) * pan
    y = (bh - ch) * 0.5
    return big.resize(size, Image.BICUBIC, box=(x, y, x + cw, y + ch))


def first_frame_png(image: bytes, long_side: int = LONG_SIDE) -> bytes:
    """The still a client shows before the video plays (the task's imageUrl)."""
    src = Image.open(io.BytesIO(image)).convert("RGB")
    out = io.BytesIO()
    src.resize(_fit(src, long_side), Image.LANCZOS).save(out, format="PNG")
    return out.getvalue()


def last_frame_png(mp4: bytes) -> bytes:
    """The last frame of a clip (where an `extend` continues from)."""
    import av

    last = None
    with av.open(io.BytesIO(mp4)) as container:
        for frame in container.decode(video=0):
            last = frame
    if last is None:
        raise ValueError("the video has no frames")
    out = io.BytesIO()
    last.to_image().save(out, format="PNG")
    return out.getvalue()

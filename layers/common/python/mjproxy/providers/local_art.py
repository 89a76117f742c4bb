"""Procedural art for the offline `local` provider.

Nothing here is AI: every image is drawn with Pillow from the prompt's words and a seed
(layered mountains, seascapes, forests, skylines, soft abstract colour fields, Bauhaus-style
geometry), so the whole system runs without any generator behind it. Every PNG carries a
`Software` text chunk saying so.

All functions are pure (bytes in, bytes out), deterministic for the same arguments, and import
nothing from AWS:

- render_grid(prompt, seed, aspect, refs) -> 2x2 grid PNG (IMAGINE / REROLL)
- upscale(png) -> the image 2x larger, sharpened (UPSCALE)
- variations(png, seed) -> 2x2 grid of four variants of one image (VARIATION)
- blend(images, aspect, seed) -> 2x2 grid mixing 2..5 images (BLEND)
- describe(png) -> four numbered Midjourney-style prompts derived from the image (DESCRIBE)
- preview(png, pct) -> a small blurred PNG for progress updates
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter, ImageOps, ImageStat
from PIL.PngImagePlugin import PngInfo

from ..domain.prompts import parse_prompt

RGB = tuple[int, int, int]

QUADRANT_LONG_SIDE = 512
SOFTWARE = "mjproxy local provider: procedural art drawn with Pillow (not AI-generated)"
KEYCAPS = ("1\ufe0f\u20e3", "2\ufe0f\u20e3", "3\ufe0f\u20e3", "4\ufe0f\u20e3")
UPSCALE_MAX_SIDE = 4096

_WORD_RE = re.compile(r"[a-z]+")
_RADIAL = Image.radial_gradient("L")  # 0 at the centre, 181 at the inscribed circle, 255 corners
_RADIAL_EDGE = 181.0


# ---- small helpers --------------------------------------------------------------------------
def sub_seed(seed: int, *parts: object) -> int:
    """A 64-bit seed derived from `seed` and a label (stable across processes and versions)."""
    text = ":".join([str(seed), *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def text_seed(text: str) -> int:
    """A 32-bit seed from text (Midjourney seeds are 0..4294967295)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def _clamp(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return lo if x < lo else hi if x > hi else x


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def _hsv(c: RGB) -> tuple[float, float, float]:
    return colorsys.rgb_to_hsv(c[0] / 255, c[1] / 255, c[2] / 255)


def _from_hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, _clamp(s), _clamp(v))
    return (round(r * 255), round(g * 255), round(b * 255))


def _tone(
    c: RGB,
    *,
    s: float | None = None,
    v: float | None = None,
    smul: float = 1.0,
    vmul: float = 1.0,
    dh: float = 0.0,
) -> RGB:
    h, s0, v0 = _hsv(c)
    return _from_hsv(h + dh, (s0 if s is None else s) * smul, (v0 if v is None else v) * vmul)


def _luma(c: RGB) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def _open(data: bytes, max_side: int | None = None) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    if max_side and img.format == "JPEG":
        img.draft("RGB", (max_side, max_side))
    img.load()
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        bg = Image.new("RGB", rgba.size, (255, 255, 255))
        bg.paste(rgba, mask=rgba.getchannel("A"))
        img = bg
    else:
        img = img.convert("RGB")
    if max_side and max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return img


def _png(img: Image.Image, description: str | None = None) -> bytes:
    info = PngInfo()
    info.add_text("Software", SOFTWARE)
    if description:
        info.add_itxt("Description", description[:2000])
    buf = io.BytesIO()
    img.save(buf, format="PNG", pnginfo=info, compress_level=2)
    return buf.getvalue()


def reduce_ratio(w: int, h: int) -> tuple[int, int]:
    """W:H in lowest terms; awkward sizes (e.g. 1023x767) snap to the nearest simple ratio."""
    g = math.gcd(w, h) or 1
    rw, rh = w // g, h // g
    if max(rw, rh) <= 32:
        return rw, rh
    frac = Fraction(w, h)
    best = min(
        (Fraction(a, b) for b in range(1, 33) for a in range(1, 33)),
        key=lambda f: (abs(math.log(f / frac)), f.denominator),
    )
    return best.numerator, best.denominator


def quadrant_size(aspect: tuple[int, int], long_side: int = QUADRANT_LONG_SIDE) -> tuple[int, int]:
    """One quadrant's size for W:H with its long side about `long_side` (exact ratio if it can)."""
    w, h = max(1, aspect[0]), max(1, aspect[1])
    g = math.gcd(w, h)
    w, h = w // g, h // g
    k = max(1, round(long_side / max(w, h)))
    if 0.9 * long_side <= k * max(w, h) <= 1.1 * long_side:
        return w * k, h * k
    if w >= h:
        return long_side, max(1, round(long_side * h / w))
    return max(1, round(long_side * w / h)), long_side


def _grid(quads: Sequence[Image.Image]) -> Image.Image:
    w, h = quads[0].size
    out = Image.new("RGB", (w * 2, h * 2))
    for i, q in enumerate(quads):
        out.paste(q.resize((w, h)) if q.size != (w, h) else q, ((i % 2) * w, (i // 2) * h))
    return out


def _vgradient(size: tuple[int, int], stops: Sequence[tuple[float, RGB]]) -> Image.Image:
    w, h = size
    n = max(2, min(h, 512))
    col = Image.new("RGB", (1, n))
    col.putdata([_interp(stops, i / (n - 1)) for i in range(n)])
    return col.resize((w, h), Image.Resampling.BILINEAR)


def _interp(stops: Sequence[tuple[float, RGB]], t: float) -> RGB:
    if t <= stops[0][0]:
        return stops[0][1]
    for (p0, c0), (p1, c1) in zip(stops, stops[1:], strict=False):
        if t <= p1:
            return _mix(c0, c1, (t - p0) / (p1 - p0) if p1 > p0 else 1.0)
    return stops[-1][1]


def _band_mask(size: tuple[int, int], y0: float, y1: float, a0: float, a1: float) -> Image.Image:
    """An L mask: a0 above y0, a1 below y1, linear in between (values 0..1)."""
    w, h = size
    span = (y1 - y0) or 1e-6
    col = Image.new("L", (1, h))
    col.putdata([round(255 * (a0 + (a1 - a0) * _clamp((y - y0) / span))) for y in range(h)])
    return col.resize((w, h))


def _radial_mask(
    size: tuple[int, int], cx: float, cy: float, r: float, strength: float = 1.0, power: float = 2.0
) -> Image.Image:
    """A round soft spot of radius r: `strength` in the middle fading to 0 at r."""
    mask = Image.new("L", size, 0)
    d = max(2, round(2 * r))
    lut = [round(255 * strength * (1 - min(1.0, v / _RADIAL_EDGE)) ** power) for v in range(256)]
    spot = _RADIAL.resize((d, d), Image.Resampling.BILINEAR).point(lut)
    mask.paste(spot, (round(cx - d / 2), round(cy - d / 2)))
    return mask


def _screen_glow(img: Image.Image, colour: RGB, mask: Image.Image) -> Image.Image:
    layer = Image.composite(Image.new("RGB", img.size, colour), Image.new("RGB", img.size), mask)
    return ImageChops.screen(img, layer)


def _noise(rng: random.Random, size: tuple[int, int], cells: tuple[int, int]) -> Image.Image:
    cw, ch = max(2, cells[0]), max(2, cells[1])
    small = Image.frombytes("L", (cw, ch), rng.randbytes(cw * ch))
    return small.resize(size, Image.Resampling.BICUBIC)


def _fractal(
    rng: random.Random, size: tuple[int, int], cells: tuple[int, int], octaves: int = 3
) -> Image.Image:
    """Smooth value noise with `octaves` layers of detail (computed small, then enlarged)."""
    f = max(1, min(size) // 128)
    small = (max(2, size[0] // f), max(2, size[1] // f))
    img = _noise(rng, small, cells)
    for o in range(1, octaves):
        k = 2**o
        img = Image.blend(img, _noise(rng, small, (cells[0] * k, cells[1] * k)), 0.5 / (o + 0.6))
    img = ImageOps.autocontrast(img)
    return img.resize(size, Image.Resampling.BICUBIC) if small != size else img


def _ridge(rng: random.Random, n: int, roughness: float) -> list[float]:
    """1-D midpoint displacement: n+1 heights normalised to 0..1 (n a power of two)."""
    vals = [0.0] * (n + 1)
    vals[0], vals[n] = rng.random(), rng.random()
    step, scale = n, 1.0
    while step > 1:
        half = step // 2
        for i in range(half, n, step):
            vals[i] = (vals[i - half] + vals[i + half]) / 2 + rng.uniform(-scale, scale)
        step, scale = half, scale * roughness
    lo, hi = min(vals), max(vals)
    return [(v - lo) / (hi - lo or 1) for v in vals]


def _waves(rng: random.Random, n: int, bumps: float) -> list[float]:
    """Smooth rolling heights (sum of sines) normalised to 0..1."""
    parts = [
        (rng.uniform(0.6, 1.4) * bumps * (k + 1), rng.uniform(0, 6.283), 1 / (k + 1) ** 1.3)
        for k in range(3)
    ]
    vals = [sum(a * math.sin(f * 6.283 * i / n + p) for f, p, a in parts) for i in range(n + 1)]
    lo, hi = min(vals), max(vals)
    return [(v - lo) / (hi - lo or 1) for v in vals]


def _vignette(img: Image.Image, strength: float = 0.35) -> Image.Image:
    lut = [round(255 * (1 - strength * _clamp((v - 100) / 155) ** 1.5)) for v in range(256)]
    m = _RADIAL.resize(img.size, Image.Resampling.BILINEAR).point(lut)
    return ImageChops.multiply(img, Image.merge("RGB", (m, m, m)))


def _recolour(img: Image.Image, degrees: float, sat: float = 1.0, gain: float = 1.0) -> Image.Image:
    """Rotate hues by `degrees`, scale saturation and brightness: one colour-matrix pass."""
    c, sn = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    hue = [
        [
            0.299 + 0.701 * c + 0.168 * sn,
            0.587 - 0.587 * c + 0.330 * sn,
            0.114 - 0.114 * c - 0.497 * sn,
        ],
        [
            0.299 - 0.299 * c - 0.328 * sn,
            0.587 + 0.413 * c + 0.035 * sn,
            0.114 - 0.114 * c + 0.292 * sn,
        ],
        [
            0.299 - 0.300 * c + 1.250 * sn,
            0.587 - 0.588 * c - 1.050 * sn,
            0.114 + 0.886 * c - 0.203 * sn,
        ],
    ]
    luma = (0.299, 0.587, 0.114)
    satm = [[luma[j] * (1 - sat) + (sat if i == j else 0) for j in range(3)] for i in range(3)]
    m = [[gain * sum(satm[i][k] * hue[k][j] for k in range(3)) for j in range(3)] for i in range(3)]
    return img.convert("RGB", (*m[0], 0.0, *m[1], 0.0, *m[2], 0.0))


def dominant_colours(img: Image.Image, n: int = 5) -> list[tuple[RGB, float]]:
    """The image's main colours, most common first, with their share of the pixels."""
    small = img.convert("RGB")
    small.thumbnail((64, 64))
    q = small.quantize(colors=n, method=Image.Quantize.MEDIANCUT)
    pal = q.getpalette() or []
    counts = sorted(q.getcolors() or [], reverse=True)
    total = sum(c for c, _ in counts) or 1
    return [((pal[3 * i], pal[3 * i + 1], pal[3 * i + 2]), c / total) for c, i in counts]


# ---- reading the prompt -----------------------------------------------------------------
_COLOUR_WORDS: dict[str, tuple[RGB, ...]] = {
    "red": ((205, 45, 55),),
    "crimson": ((165, 25, 55),),
    "scarlet": ((230, 50, 40),),
    "ruby": ((180, 20, 60),),
    "orange": ((245, 140, 40),),
    "amber": ((255, 180, 60),),
    "gold": ((235, 185, 70),),
    "golden": ((235, 185, 70),),
    "yellow": ((250, 215, 70),),
    "lemon": ((250, 235, 100),),
    "green": ((60, 160, 80),),
    "emerald": ((20, 140, 100),),
    "jade": ((60, 160, 120),),
    "lime": ((150, 210, 70),),
    "olive": ((120, 130, 60),),
    "mint": ((150, 225, 190),),
    "teal": ((20, 130, 140),),
    "cyan": ((60, 200, 220),),
    "turquoise": ((60, 210, 200),),
    "aqua": ((80, 220, 220),),
    "blue": ((50, 90, 200),),
    "azure": ((70, 150, 240),),
    "cobalt": ((0, 70, 170),),
    "sapphire": ((20, 60, 160),),
    "navy": ((20, 30, 80),),
    "indigo": ((60, 40, 130),),
    "purple": ((120, 60, 170),),
    "violet": ((150, 90, 210),),
    "lavender": ((190, 170, 230),),
    "lilac": ((200, 160, 220),),
    "magenta": ((210, 40, 160),),
    "pink": ((240, 140, 180),),
    "rose": ((225, 110, 140),),
    "coral": ((250, 125, 100),),
    "peach": ((255, 190, 150),),
    "white": ((240, 240, 245),),
    "black": ((15, 15, 20),),
    "gray": ((128, 128, 135),),
    "grey": ((128, 128, 135),),
    "silver": ((190, 195, 205),),
    "brown": ((120, 80, 50),),
    "sepia": ((150, 110, 70),),
    "beige": ((220, 200, 170),),
    "cream": ((245, 235, 210),),
    # words that bring a colour scheme with them
    "snow": ((235, 240, 250), (170, 195, 230)),
    "snowy": ((235, 240, 250), (170, 195, 230)),
    "winter": ((200, 215, 235), (110, 140, 190)),
    "ice": ((190, 225, 245), (90, 150, 200)),
    "icy": ((190, 225, 245), (90, 150, 200)),
    "frozen": ((190, 225, 245), (90, 150, 200)),
    "night": ((25, 35, 90), (70, 80, 150)),
    "midnight": ((15, 20, 60), (50, 60, 130)),
    "moon": ((40, 50, 110), (200, 210, 230)),
    "moonlight": ((40, 50, 110), (200, 210, 230)),
    "starry": ((20, 30, 80), (90, 90, 170)),
    "galaxy": ((40, 20, 90), (200, 60, 170)),
    "space": ((15, 15, 50), (100, 60, 160)),
    "sunset": ((250, 140, 60), (225, 80, 110), (90, 50, 130)),
    "sunrise": ((255, 170, 90), (240, 120, 130), (110, 110, 180)),
    "dawn": ((255, 190, 140), (200, 140, 190), (110, 130, 200)),
    "dusk": ((240, 120, 90), (150, 70, 140), (50, 40, 100)),
    "twilight": ((190, 110, 160), (80, 60, 140), (30, 30, 80)),
    "fire": ((255, 120, 30), (200, 30, 20), (255, 210, 80)),
    "flame": ((255, 120, 30), (200, 30, 20), (255, 210, 80)),
    "lava": ((255, 90, 20), (120, 20, 10), (40, 20, 20)),
    "volcano": ((230, 80, 20), (60, 30, 30), (120, 40, 30)),
    "ocean": ((20, 100, 170), (40, 170, 190)),
    "sea": ((20, 100, 170), (40, 170, 190)),
    "lake": ((50, 120, 160), (120, 180, 200)),
    "river": ((50, 130, 150), (110, 170, 120)),
    "beach": ((90, 190, 210), (240, 215, 160)),
    "forest": ((40, 110, 60), (20, 70, 50)),
    "jungle": ((30, 130, 60), (120, 180, 60)),
    "meadow": ((110, 180, 80), (230, 220, 120)),
    "grass": ((90, 170, 70),),
    "desert": ((230, 180, 110), (200, 120, 70)),
    "sand": ((235, 205, 150),),
    "dune": ((225, 165, 100), (180, 110, 70)),
    "autumn": ((220, 110, 40), (180, 50, 30), (240, 180, 60)),
    "fall": ((220, 110, 40), (180, 50, 30)),
    "spring": ((150, 210, 110), (250, 180, 200)),
    "summer": ((80, 180, 230), (250, 210, 80)),
    "cherry": ((245, 170, 195), (200, 80, 120)),
    "blossom": ((245, 180, 205), (255, 230, 235)),
    "neon": ((255, 40, 180), (40, 230, 255)),
    "cyberpunk": ((255, 40, 160), (30, 220, 255), (60, 20, 110)),
    "synthwave": ((255, 60, 170), (255, 150, 50), (60, 20, 120)),
    "vaporwave": ((255, 120, 210), (100, 220, 240), (150, 120, 240)),
    "storm": ((70, 80, 100), (140, 150, 165)),
    "fog": ((190, 195, 200), (140, 150, 160)),
    "mist": ((195, 205, 210), (150, 165, 175)),
}

_NIGHT = {
    "night",
    "midnight",
    "moon",
    "moonlight",
    "starry",
    "stars",
    "galaxy",
    "space",
    "nocturnal",
    "noir",
    "cyberpunk",
    "dark",
}
_SUNSET = {"sunset", "sunrise", "dawn", "dusk", "twilight", "golden", "synthwave", "evening"}
_WATER = {
    "ocean",
    "sea",
    "lake",
    "river",
    "beach",
    "water",
    "reflection",
    "coast",
    "shore",
    "bay",
    "pond",
    "harbor",
    "harbour",
    "island",
    "waves",
    "boat",
}
_FOREST = {
    "forest",
    "tree",
    "trees",
    "woods",
    "jungle",
    "pine",
    "pines",
    "taiga",
    "woodland",
    "park",
    "garden",
}
_CITY = {
    "city",
    "town",
    "skyline",
    "building",
    "buildings",
    "street",
    "cyberpunk",
    "tower",
    "towers",
    "metropolis",
    "downtown",
    "urban",
    "village",
    "castle",
}
_MOUNTAIN = {
    "mountain",
    "mountains",
    "valley",
    "landscape",
    "hills",
    "hill",
    "peak",
    "peaks",
    "alps",
    "canyon",
    "cliff",
    "cliffs",
    "volcano",
    "desert",
    "dune",
    "dunes",
}
_ABSTRACT = {
    "abstract",
    "texture",
    "fractal",
    "nebula",
    "galaxy",
    "space",
    "dream",
    "dreamy",
    "fluid",
    "ink",
    "smoke",
    "aurora",
    "gradient",
    "wallpaper",
    "psychedelic",
    "vaporwave",
}
_GEOMETRIC = {
    "geometric",
    "bauhaus",
    "pattern",
    "tiles",
    "mosaic",
    "minimal",
    "minimalist",
    "poster",
    "shapes",
    "cubism",
    "cubist",
    "logo",
    "icon",
    "flat",
}
_DARKER = {"dark", "moody", "gloomy", "noir", "sinister", "gothic", "shadow", "shadows", "horror"}
_LIGHTER = {"pastel", "soft", "light", "bright", "airy", "dreamy", "ethereal", "sunny"}
_VIVID = {"vivid", "vibrant", "saturated", "colorful", "colourful", "neon", "psychedelic", "bold"}
_MUTED = {"muted", "vintage", "faded", "retro", "washed", "dusty", "film", "analog"}
_MONO = {"monochrome", "grayscale", "greyscale", "bw"}
_SNOW = {"snow", "snowy", "winter", "ice", "icy", "frozen", "arctic", "glacier"}

STYLES = ("landscape", "seascape", "forest", "city", "abstract", "geometric")


@dataclass(frozen=True)
class Scene:
    """What the renderer understood from the prompt."""

    style: str
    time: str  # "day" | "sunset" | "night"
    colours: tuple[RGB, ...]
    snow: bool = False
    darker: float = 0.0
    lighter: float = 0.0
    saturation: float = 1.0


def _prompt_words(prompt: str) -> tuple[list[str], str]:
    """(the prompt's latin words minus those of its --no parameter, its text without links)."""
    parsed = parse_prompt(prompt or "")
    text = " ".join(t for t in parsed.text.split() if not t.startswith(("http", "<")))
    words = _WORD_RE.findall(text.lower())
    negative = set(_WORD_RE.findall((parsed.negative or "").lower()))
    if "black and white" in text.lower() or "b&w" in text.lower():
        words.append("monochrome")
    return [w for w in words if w not in negative], text.strip().lower()


def read_prompt(prompt: str, ref_colours: Sequence[RGB] = ()) -> Scene:
    """Palette, style, time of day and mood from the prompt's words (and reference colours)."""
    words, text = _prompt_words(prompt)
    ws = set(words)
    colours: list[RGB] = list(ref_colours)
    for w in words:
        for c in _COLOUR_WORDS.get(w, ()):
            if c not in colours:
                colours.append(c)
    key = text_seed(" ".join(words) or text)  # non-latin prompts still get their own palette
    # a harmonious scheme from the hash of the words fills the palette up to five colours
    h0 = (key % 360) / 360
    if colours:
        h0 = _hsv(colours[0])[0]
    scheme = [(0, 1 / 12, -1 / 12), (0, 0.5, 1 / 15), (0, 1 / 3, 2 / 3), (0, 1 / 8, 0.58)][key % 4]
    for i, dh in enumerate(scheme * 2):
        if len(colours) >= 5:
            break
        colours.append(
            _from_hsv(
                h0 + dh, 0.45 + 0.1 * ((key >> (i + 3)) % 4), 0.55 + 0.1 * ((key >> (i + 7)) % 4)
            )
        )

    time = "night" if ws & _NIGHT else "sunset" if ws & _SUNSET else "day"
    if ws & _CITY:
        style = "city"
    elif ws & _GEOMETRIC:
        style = "geometric"
    elif ws & _ABSTRACT:
        style = "abstract"
    elif ws & _FOREST:
        style = "forest"
    elif ws & _WATER:
        style = "seascape"
    elif ws & _MOUNTAIN or ws & _SNOW:
        style = "landscape"
    else:
        style = ("landscape", "seascape", "abstract", "forest", "landscape", "geometric")[
            (key >> 12) % 6
        ]
    sat = 1.0
    if ws & _VIVID:
        sat *= 1.35
    if ws & _MUTED:
        sat *= 0.6
    if ws & _MONO:
        sat = 0.0
    return Scene(
        style=style,
        time=time,
        colours=tuple(colours),
        snow=bool(ws & _SNOW),
        darker=0.35 if ws & _DARKER else 0.0,
        lighter=0.3 if ws & _LIGHTER else 0.0,
        saturation=sat,
    )


# ---- palettes -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Palette:
    top: RGB
    mid: RGB
    horizon: RGB
    sun: RGB
    far: RGB
    near: RGB
    accent: RGB
    colours: tuple[RGB, ...]


def _palette(scene: Scene, rng: random.Random) -> Palette:
    cols = list(scene.colours)
    # each quadrant leans on a different part of the palette and nudges the hues a little
    k = rng.randrange(len(cols))
    if rng.random() < 0.5:
        cols = cols[k:] + cols[:k] if k < 3 else cols
    dh = rng.uniform(-0.03, 0.03)
    c1, c2, c3 = (_tone(c, dh=dh) for c in cols[:3])
    if scene.time == "night":
        top = _mix(_tone(c1, s=min(0.8, _hsv(c1)[1] + 0.2), v=0.14), (8, 10, 30), 0.4)
        mid = _tone(c1, v=0.26)
        horizon = _tone(c2, v=0.45, smul=0.8)
        sun = _mix((235, 235, 220), c2, 0.12)
        near = _tone(c1, v=0.06)
        far = _mix(_tone(c3, v=0.2), horizon, 0.5)
        accent = _tone(c2, s=0.5, v=1.0) if _hsv(c2)[1] > 0.3 else (255, 210, 120)
    elif scene.time == "sunset":
        warm = [c for c in cols if _hsv(c)[0] < 0.12 or _hsv(c)[0] > 0.9] or [(250, 150, 70)]
        hw = warm[rng.randrange(len(warm))]
        top = _tone(c3, v=0.38, s=0.6)
        mid = _tone(c2, v=0.8, s=0.6)
        horizon = _tone(hw, v=1.0, s=0.55)
        sun = (255, 235, 190)
        near = _tone(c3, v=0.1, s=0.6)
        far = _mix(_tone(c2, v=0.45, s=0.5), horizon, 0.45)
        accent = _tone(hw, v=1.0, s=0.7)
    else:
        top = _tone(c1, s=0.45 * rng.uniform(0.8, 1.3), v=0.82)
        mid = _mix(_tone(c1, s=0.3, v=0.92), (255, 255, 255), 0.2)
        horizon = _mix(_tone(c2, s=0.25, v=0.97), (255, 250, 240), 0.45)
        sun = (255, 250, 230)
        near = _tone(c3, v=0.32, s=min(1.0, _hsv(c3)[1] + 0.15))
        far = _mix(_tone(c2, v=0.55), horizon, 0.55)
        accent = _tone(c2, s=0.7, v=0.95)
    if scene.snow:
        far = _mix(far, (235, 242, 252), 0.55)
        near = _mix(near, (200, 215, 235), 0.45 if scene.time == "day" else 0.2)
    pal = Palette(top, mid, horizon, sun, far, near, accent, tuple(cols))
    return _adjust(pal, scene)


def _adjust(pal: Palette, scene: Scene) -> Palette:
    def fix(c: RGB) -> RGB:
        h, s, v = _hsv(c)
        v = v * (1 - scene.darker)
        v = v + (1 - v) * scene.lighter
        s = s * scene.saturation * (1 - 0.4 * scene.lighter)
        return _from_hsv(h, s, v)

    return Palette(
        *(fix(c) for c in (pal.top, pal.mid, pal.horizon, pal.sun, pal.far, pal.near, pal.accent)),
        colours=tuple(fix(c) for c in pal.colours),
    )


# ---- scene renderers (each draws one quadrant at a small internal size) ---------------------
def _sky(
    size: tuple[int, int],
    pal: Palette,
    hy: float,
    rng: random.Random,
    scene: Scene,
    ref: Image.Image | None,
) -> Image.Image:
    w, h = size
    f = hy / h
    img = _vgradient(
        size, [(0.0, pal.top), (f * 0.6, pal.mid), (f, pal.horizon), (1.0, pal.horizon)]
    )
    if ref is not None:
        img = Image.blend(img, ref, 0.5)
    if scene.time == "night":
        draw = ImageDraw.Draw(img)
        for _ in range(int(w * h / 300)):
            x, y = rng.uniform(0, w), rng.uniform(0, hy)
            if rng.random() > 1 - y / hy * 0.8:
                continue
            b = rng.random()
            fill = _mix(pal.top, (255, 255, 240), 0.35 + 0.65 * b)
            if b > 0.93:
                draw.ellipse((x - 1.2, y - 1.2, x + 1.2, y + 1.2), fill=fill)
            else:
                draw.point((x, y), fill=fill)
    elif rng.random() < 0.8:
        cells = (rng.randint(2, 3), rng.randint(4, 7))  # wider than tall, like clouds
        cloud = _fractal(rng, size, cells, 4)
        cut = rng.randint(125, 165)
        cloud = cloud.point([round(255 * _clamp((v - cut) / 60)) for v in range(256)])
        cloud = ImageChops.multiply(cloud, _band_mask(size, hy * 0.25, hy * 0.95, 0.85, 0.0))
        tint = (
            _mix(pal.horizon, (255, 255, 255), 0.5)
            if scene.time == "day"
            else _mix(pal.accent, pal.mid, 0.4)
        )
        img = Image.composite(Image.new("RGB", size, tint), img, cloud)
    return img


def _sun(
    img: Image.Image, pal: Palette, rng: random.Random, hy: float, scene: Scene
) -> tuple[float, float]:
    w, h = img.size
    m = min(w, h)
    cx = rng.uniform(0.18, 0.82) * w
    cy = (
        hy - rng.uniform(0.12, 0.55) * hy
        if scene.time != "sunset"
        else hy - rng.uniform(0.0, 0.2) * hy
    )
    r = rng.uniform(0.045, 0.085) * m * (1.3 if scene.time == "sunset" else 1.0)
    glow = _radial_mask(img.size, cx, cy, r * rng.uniform(5, 8), 0.55, 2.2)
    img.paste(_screen_glow(img, pal.accent if scene.time != "day" else pal.sun, glow))
    img.paste(pal.sun, _disc_box(cx, cy, r), _disc(r))
    if scene.time == "night":
        draw = ImageDraw.Draw(img)
        for _ in range(3):
            a = rng.uniform(0, 6.283)
            d = rng.uniform(0.1, 0.55) * r
            cr = rng.uniform(0.12, 0.3) * r
            x, y = cx + d * math.cos(a), cy + d * math.sin(a)
            draw.ellipse((x - cr, y - cr, x + cr, y + cr), fill=_mix(pal.sun, pal.mid, 0.18))
    return cx, cy


def _disc(r: float) -> Image.Image:
    """An antialiased disc mask of radius r (size 2*ceil(r)+2), centred in its box."""
    n = 2 * math.ceil(r) + 2
    big = Image.new("L", (n * 4, n * 4), 0)
    c = n * 2
    ImageDraw.Draw(big).ellipse((c - r * 4, c - r * 4, c + r * 4, c + r * 4), fill=255)
    return big.reduce(4)


def _disc_box(cx: float, cy: float, r: float) -> tuple[int, int]:
    n = 2 * math.ceil(r) + 2
    return round(cx - n / 2), round(cy - n / 2)


def _layer_colour(pal: Palette, t: float) -> RGB:
    return _mix(pal.far, pal.near, t)


def _mist(img: Image.Image, colour: RGB, y0: float, y1: float, alpha: float) -> Image.Image:
    mask = _band_mask(img.size, y0, y1, 0.0, alpha)
    return Image.composite(Image.new("RGB", img.size, colour), img, mask)


def _ridge_points(
    heights: Sequence[float], w: int, base: float, amp: float
) -> list[tuple[float, float]]:
    n = len(heights) - 1
    return [(i * w / n, base - v * amp) for i, v in enumerate(heights)]


def _trees(
    draw: ImageDraw.ImageDraw,
    rng: random.Random,
    pts: Sequence[tuple[float, float]],
    w: int,
    height: float,
    colour: RGB,
    density: float,
) -> None:
    n = len(pts) - 1
    x = rng.uniform(0, height * 0.4)
    while x < w:
        i = min(n, max(0, round(x / w * n)))
        y = pts[i][1] + height * 0.15
        th = height * rng.uniform(0.6, 1.25)
        tw = th * rng.uniform(0.26, 0.36)
        for k in range(3):
            top = y - th + k * th * 0.22
            bottom = y - th * (0.45 - 0.22 * k) if k < 2 else y
            half = tw * (0.55 + 0.25 * k)
            draw.polygon([(x, top), (x - half, bottom), (x + half, bottom)], fill=colour)
        draw.line([(x, y - th * 0.2), (x, y + th * 0.08)], fill=colour, width=max(1, round(tw / 6)))
        x += tw * rng.uniform(0.5, 1.4) / density


def _landscape(size, rng, pal, scene, ref, style):
    w, h = size
    hy = h * rng.uniform(0.52, 0.66) if style != "seascape" else h * rng.uniform(0.5, 0.62)
    img = _sky(size, pal, hy, rng, scene, ref)
    sun_x, _ = _sun(img, pal, rng, hy, scene) if rng.random() < 0.85 else (w / 2, 0)
    draw = ImageDraw.Draw(img)
    n = 1 << max(5, math.ceil(math.log2(max(8, w // 2))))
    if style == "seascape":
        layers = rng.randint(1, 2)
        for k in range(layers):
            t = k / 2
            amp = h * rng.uniform(0.08, 0.2) * (1 - 0.3 * k)
            heights = _ridge(rng, n, rng.uniform(0.45, 0.6))
            # mountains only over part of the horizon: a soft window
            c0 = rng.uniform(-0.2, 0.8)
            span = rng.uniform(0.5, 1.1)
            heights = [
                v * _clamp(1 - abs(i / n - c0 - span / 2) / (span / 2)) ** 0.7
                for i, v in enumerate(heights)
            ]
            pts = _ridge_points(heights, w, hy + 1, amp)
            draw.polygon(pts + [(w, h), (0, h)], fill=_layer_colour(pal, 0.25 + t))
            img = _mist(img, pal.horizon, hy - amp * 0.6, hy + 1, 0.35)
            draw = ImageDraw.Draw(img)
        top = round(hy)
        hh = h - top
        src_h = min(top, hh)
        refl = img.crop((0, top - src_h, w, top)).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
        refl = refl.resize((w // 2, hh // 2)).resize((w, hh), Image.Resampling.BILINEAR)
        water = _tone(pal.colours[1], v=0.35 if scene.time == "night" else 0.55, smul=0.9)
        refl = Image.blend(refl, Image.new("RGB", refl.size, water), 0.38)
        refl = Image.composite(
            Image.new("RGB", refl.size, _mix(water, pal.near, 0.5)),
            refl,
            _band_mask(refl.size, 0, hh, 0.0, 0.55),
        )
        # ripples: rows shifted sideways, then glints along the light path
        band = max(2, h // 128)
        for y in range(band, hh, band * 2):
            off = round(math.sin(y / band * 0.9 + rng.uniform(0, 0.5)) * band * (0.5 + y / hh))
            if off:
                refl.paste(refl.crop((0, y, w, y + band)), (off, y))
        img.paste(refl, (0, top))
        draw = ImageDraw.Draw(img)
        glint = _mix(pal.sun, pal.horizon, 0.3)
        for _ in range(int(w * 0.6)):
            y = top + hh * rng.random() ** 1.6
            spread = (y - top) / hh * 0.35 + 0.06
            x = sun_x + rng.gauss(0, spread * w)
            ln = rng.uniform(0.01, 0.05) * w * (0.5 + (y - top) / hh)
            draw.line(
                [(x - ln / 2, y), (x + ln / 2, y)],
                fill=_mix(glint, _mix(water, pal.horizon, 0.5), rng.uniform(0.2, 0.8)),
            )
        if rng.random() < 0.6:  # a shore in one corner
            heights = _waves(rng, n, 1.0)
            left = rng.random() < 0.5
            pts = []
            for i, v in enumerate(heights):
                x = i * w / n
                d = x / w if left else 1 - x / w
                pts.append((x, h - (0.12 + 0.25 * v) * h * _clamp(1.2 - 1.6 * d)))
            draw.polygon(pts + [(w, h), (0, h)], fill=pal.near)
        return img
    layers = rng.randint(3, 5)
    base_top = hy
    for k in range(layers):
        t = k / (layers - 1)
        base = base_top + (h * 0.97 - base_top) * t * 0.8
        if style == "forest":
            amp = h * rng.uniform(0.05, 0.12)
            heights = _waves(rng, n, rng.uniform(0.8, 2.0))
        else:
            amp = h * rng.uniform(0.14, 0.28) * (1 - 0.45 * t)
            heights = _ridge(rng, n, rng.uniform(0.48, 0.62) - 0.1 * t)
        pts = _ridge_points(heights, w, base, amp)
        colour = _layer_colour(pal, t)
        draw.polygon(pts + [(w, h), (0, h)], fill=colour)
        if style == "forest" and k >= 1:
            _trees(draw, rng, pts, w, h * (0.05 + 0.13 * t), colour, 1.3 - 0.4 * t)
        if scene.snow and style != "forest" and k < layers - 1:
            cap = _mix(colour, (250, 252, 255), 0.7 if scene.time == "day" else 0.3)
            line = rng.uniform(0.35, 0.6)
            snow = [
                (x, y + amp * max(0.0, v - line) * rng.uniform(0.8, 1.2) * 1.1)
                for (x, y), v in zip(pts, heights, strict=True)
            ]
            draw.polygon(pts + snow[::-1], fill=cap)
        if k < layers - 1:
            img = _mist(
                img,
                pal.horizon,
                base - amp * 0.5,
                base + (h - base) * 0.4,
                0.45 if scene.time != "night" else 0.3,
            )
            draw = ImageDraw.Draw(img)
    return img


def _city(size, rng, pal, scene, ref):
    w, h = size
    hy = h * rng.uniform(0.6, 0.75)
    img = _sky(size, pal, hy, rng, scene, ref)
    if rng.random() < 0.7:
        _sun(img, pal, rng, hy * 0.8, scene)
    draw = ImageDraw.Draw(img)
    layers = 3
    lit = scene.time != "day"
    for k in range(layers):
        t = k / (layers - 1)
        base = h
        colour = _layer_colour(pal, 0.2 + 0.8 * t)
        x = -rng.uniform(0, 10)
        while x < w:
            bw = w * rng.uniform(0.04, 0.1) * (1 + 0.5 * t)
            bh = (h - hy) * rng.uniform(0.6, 1.6) + h * 0.3 * (1 - t) * rng.random()
            top = base - bh * (0.75 + 0.25 * (1 - t))
            draw.rectangle((x, top, x + bw, base), fill=colour)
            if rng.random() < 0.15:
                draw.line([(x + bw / 2, top), (x + bw / 2, top - bh * 0.12)], fill=colour)
            if k >= 1:
                win = (
                    _mix(pal.accent, (255, 220, 140), 0.5)
                    if lit
                    else _mix(colour, pal.horizon, 0.3)
                )
                step = max(3.0, bw / 4)
                yy = top + step
                while yy < base - step:
                    xx = x + step * 0.6
                    while xx < x + bw - step * 0.5:
                        if rng.random() < (0.45 if lit else 0.8):
                            draw.rectangle((xx, yy, xx + step * 0.4, yy + step * 0.3), fill=win)
                        xx += step
                    yy += step * 1.3
            x += bw + rng.uniform(0, 0.02) * w
        if k < layers - 1:
            img = _mist(img, pal.horizon, hy, h, 0.35 if lit else 0.5)
            draw = ImageDraw.Draw(img)
    if lit:
        glow = _band_mask(size, h * 0.55, h, 0.0, 0.35)
        img = _screen_glow(img, pal.accent, glow)
    return img


def _abstract(size, rng, pal, scene, ref):
    w, h = size
    cols = list(pal.colours)
    bg_a, bg_b = rng.sample(cols, 2)
    if scene.time == "night":
        bg_a, bg_b = _tone(bg_a, vmul=0.35), _tone(bg_b, vmul=0.2)
    img = _vgradient(size, [(0.0, bg_a), (1.0, bg_b)])
    if rng.random() < 0.5:
        img = img.transpose(Image.Transpose.ROTATE_180)
    if ref is not None:
        img = Image.blend(img, ref, 0.5)
    m = min(w, h)
    layer = Image.new("RGB", size)
    mask = Image.new("L", size, 0)
    dl, dm = ImageDraw.Draw(layer), ImageDraw.Draw(mask)
    for _ in range(rng.randint(6, 10)):
        x, y = rng.uniform(-0.1, 1.1) * w, rng.uniform(-0.1, 1.1) * h
        rx, ry = rng.uniform(0.12, 0.38) * m, rng.uniform(0.1, 0.35) * m
        c = rng.choice(cols)
        if scene.time == "night":
            c = _tone(c, vmul=0.8, smul=1.2)
        dl.ellipse((x - rx, y - ry, x + rx, y + ry), fill=c)
        dm.ellipse((x - rx, y - ry, x + rx, y + ry), fill=rng.randint(150, 255))
    q = (max(2, w // 4), max(2, h // 4))
    blur = ImageFilter.GaussianBlur(m * 0.09 / 4)
    layer = (
        layer.resize(q, Image.Resampling.BOX).filter(blur).resize(size, Image.Resampling.BICUBIC)
    )
    mask = mask.resize(q, Image.Resampling.BOX).filter(blur).resize(size, Image.Resampling.BICUBIC)
    img = Image.composite(layer, img, mask)
    # flowing lines
    over = Image.new("RGBA", size, (0, 0, 0, 0))
    do = ImageDraw.Draw(over)
    fx, fy, ph = rng.uniform(1.5, 4), rng.uniform(1.5, 4), rng.uniform(0, 6.3)
    light = _mix(rng.choice(cols), (255, 255, 255), 0.6)
    for _ in range(rng.randint(14, 26)):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        pts = [(x, y)]
        for _ in range(60):
            a = math.sin(x / w * fx * 3.1 + ph) + math.cos(y / h * fy * 3.1 - ph)
            x += math.cos(a * 1.6) * m * 0.012
            y += math.sin(a * 1.6) * m * 0.012
            pts.append((x, y))
        do.line(pts, fill=(*light, rng.randint(40, 110)), width=1)
    for _ in range(rng.randint(1, 3)):  # a few crisp orbs
        x, y, r = (
            rng.uniform(0.15, 0.85) * w,
            rng.uniform(0.15, 0.85) * h,
            rng.uniform(0.04, 0.12) * m,
        )
        c = rng.choice(cols)
        do.ellipse((x - r, y - r, x + r, y + r), fill=(*_tone(c, vmul=1.1), 200))
        do.ellipse(
            (x - r * 0.55, y - r * 0.75, x + r * 0.1, y - r * 0.1),
            fill=(*_mix(c, (255, 255, 255), 0.6), 90),
        )
    img = Image.alpha_composite(img.convert("RGBA"), over).convert("RGB")
    glow = _radial_mask(size, rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h, m * 0.6, 0.35)
    return _screen_glow(img, pal.accent, glow)


def _geometric(size, rng, pal, scene, ref):
    """Bauhaus-style tiles, drawn 2x supersampled at the final size."""
    w, h = size[0] * 2, size[1] * 2
    cols = list(pal.colours)
    paper = (244, 236, 220) if scene.time == "day" else (28, 30, 40)
    paper = _mix(paper, cols[0], 0.12)
    ink = (30, 30, 36) if scene.time == "day" else (235, 230, 220)
    img = Image.new("RGB", (w, h), paper)
    if ref is not None:
        img = Image.blend(img, ref.resize((w, h)), 0.45)
    draw = ImageDraw.Draw(img)
    ncols = rng.choice((3, 4)) if w >= h else rng.choice((2, 3))
    cell = w / ncols
    nrows = max(1, round(h / cell))
    ch = h / nrows
    palette = cols + [ink, paper]
    for r in range(nrows):
        for c in range(ncols):
            x0, y0, x1, y1 = c * cell, r * ch, (c + 1) * cell, (r + 1) * ch
            if rng.random() < 0.7:
                draw.rectangle((x0, y0, x1, y1), fill=rng.choice(palette))
            fg = rng.choice(palette)
            kind = rng.randrange(7)
            cw, chh = x1 - x0, y1 - y0
            if kind == 0:
                pad = min(cw, chh) * rng.uniform(0.08, 0.2)
                draw.ellipse((x0 + pad, y0 + pad, x1 - pad, y1 - pad), fill=fg)
            elif kind == 1:
                corner = rng.randrange(4)
                bx = x0 if corner in (0, 3) else x1
                by = y0 if corner in (0, 1) else y1
                start = (0, 90, 180, 270)[corner]
                draw.pieslice((bx - cw, by - chh, bx + cw, by + chh), start, start + 90, fill=fg)
            elif kind == 2:
                rot = rng.choice((0, 90, 180, 270))
                draw.pieslice((x0, y0, x1, y1), rot, rot + 180, fill=fg)
            elif kind == 3:
                pts = (
                    [(x0, y1), (x1, y1), (x0, y0)]
                    if rng.random() < 0.5
                    else [(x0, y0), (x1, y0), (x1, y1)]
                )
                draw.polygon(pts, fill=fg)
            elif kind == 4:
                n = rng.randint(3, 6)
                for i in range(n):
                    yy = y0 + (i + 0.25) * chh / n
                    draw.rectangle((x0, yy, x1, yy + chh / n * 0.5), fill=fg)
            elif kind == 5:
                pad = min(cw, chh) * 0.14
                width = max(2, round(min(cw, chh) * 0.08))
                draw.ellipse((x0 + pad, y0 + pad, x1 - pad, y1 - pad), outline=fg, width=width)
                draw.ellipse(
                    (x0 + cw / 2 - pad, y0 + chh / 2 - pad, x0 + cw / 2 + pad, y0 + chh / 2 + pad),
                    fill=rng.choice(palette),
                )
            else:
                draw.rectangle((x0 + cw * 0.3, y0, x0 + cw * 0.7, y1), fill=fg)
    img = img.reduce(2)
    return img.filter(ImageFilter.GaussianBlur(0.4))


_RENDERERS = {"city": _city, "abstract": _abstract, "geometric": _geometric}


def _render_quadrant(
    scene: Scene, seed: int, index: int, size: tuple[int, int], refs: Sequence[Image.Image]
) -> Image.Image:
    rng = random.Random(sub_seed(seed, "quadrant", index))
    pal = _palette(scene, rng)
    inner = size
    ref = None
    if refs:
        src = refs[index % len(refs)]
        if index >= len(refs) and rng.random() < 0.5:
            src = ImageOps.mirror(src)
        ref = ImageOps.fit(
            src,
            inner,
            Image.Resampling.BILINEAR,
            centering=(rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7)),
        )
        ref = ref.filter(ImageFilter.GaussianBlur(max(1, min(inner) / 100)))
    if scene.style in _RENDERERS:
        img = _RENDERERS[scene.style](inner, rng, pal, scene, ref)
    else:
        img = _landscape(inner, rng, pal, scene, ref, scene.style)
    if scene.style != "geometric":  # soften the aliased polygon edges
        img = img.filter(ImageFilter.BoxBlur(0.5))
    return _vignette(img, 0.3 if scene.style != "geometric" else 0.12)


# ---- public API -----------------------------------------------------------------------------
def render_grid_image(
    prompt: str,
    seed: int,
    aspect: tuple[int, int] | None = None,
    refs: Sequence[bytes] = (),
    size: int = QUADRANT_LONG_SIDE,
) -> Image.Image:
    if aspect is None:
        aspect = parse_prompt(prompt or "").aspect
    ref_imgs = [_open(r, 512) for r in refs]
    ref_cols: list[RGB] = []
    for img in ref_imgs:
        for c, _share in dominant_colours(img, 4)[:3]:
            ref_cols.append(c)
    scene = read_prompt(prompt, ref_cols[:4])
    qsize = quadrant_size(aspect, size)
    quads = [_render_quadrant(scene, seed, i, qsize, ref_imgs) for i in range(4)]
    return _grid(quads)


def render_grid(
    prompt: str,
    seed: int,
    aspect: tuple[int, int] | None = None,
    refs: Sequence[bytes] = (),
    size: int = QUADRANT_LONG_SIDE,
) -> bytes:
    """IMAGINE / REROLL: a 2x2 grid PNG of four procedural pictures of `prompt`.

    `aspect` is the W:H of the whole grid (and of each quadrant), by default the prompt's --ar;
    `size` the quadrant's long side. Each quadrant has its own sub-seed; reference images tint the backgrounds and lend
    their colours to the palette."""
    grid = render_grid_image(prompt, seed, aspect, refs, size)
    return _png(grid, f"{prompt} --seed {seed}")


def upscale(png: bytes, factor: int = 2) -> bytes:
    """UPSCALE: the image `factor` times larger (LANCZOS) with a light sharpen (long side capped
    at UPSCALE_MAX_SIDE)."""
    img = _open(png)
    w, h = img.size
    f = max(1.0, min(float(factor), UPSCALE_MAX_SIDE / max(w, h)))
    big = img.resize((round(w * f), round(h * f)), Image.Resampling.LANCZOS)
    big = big.filter(ImageFilter.UnsharpMask(radius=2, percent=60, threshold=2))
    return _png(big, "upscaled")


def _mesh_warp(
    img: Image.Image,
    rng: random.Random,
    cells: int = 4,
    amount: float = 0.03,
    box: tuple[float, float, float, float] | None = None,
) -> Image.Image:
    """Warp an image by nudging the inner points of a cells x cells mesh; `box` is the source
    region that fills the output (a zoom/pan in the same pass)."""
    w, h = img.size
    bx0, by0, bx1, by1 = box or (0, 0, w, h)
    sx, sy = (bx1 - bx0) / w, (by1 - by0) / h
    pts: dict[tuple[int, int], tuple[float, float]] = {}
    for j in range(cells + 1):
        for i in range(cells + 1):
            x, y = i * w / cells, j * h / cells
            if 0 < i < cells:
                x += rng.uniform(-amount, amount) * w
            if 0 < j < cells:
                y += rng.uniform(-amount, amount) * h
            pts[i, j] = (bx0 + x * sx, by0 + y * sy)
    mesh = []
    for j in range(cells):
        for i in range(cells):
            box = (
                round(i * w / cells),
                round(j * h / cells),
                round((i + 1) * w / cells),
                round((j + 1) * h / cells),
            )
            quad = (*pts[i, j], *pts[i, j + 1], *pts[i + 1, j + 1], *pts[i + 1, j])
            mesh.append((box, quad))
    return img.transform((w, h), Image.Transform.MESH, mesh, Image.Resampling.BILINEAR)


def _variant(
    src: Image.Image,
    cols: Sequence[RGB],
    seed: int,
    index: int,
    shift: float,
    strength: float = 1.0,
) -> Image.Image:
    """One variant; `strength` scales every change (Vary (Subtle) < 1 < Vary (Strong))."""
    rng = random.Random(sub_seed(seed, "variation", index))
    w, h = src.size
    # small warps plus a slight zoom and pan
    z = 1 + rng.uniform(0.02, 0.1) * strength
    cw, ch = w / z, h / z
    x0, y0 = rng.uniform(0, w - cw), rng.uniform(0, h - ch)
    warp = rng.uniform(0.025, 0.05) * strength
    img = _mesh_warp(src, rng, rng.choice((3, 4, 5)), warp, (x0, y0, x0 + cw, y0 + ch))
    sat = 1 + (rng.uniform(0.85, 1.2) - 1) * strength
    img = _recolour(img, shift * strength, sat, 1 + (rng.uniform(0.92, 1.08) - 1) * strength)
    img = ImageEnhance.Contrast(img).enhance(rng.uniform(0.9, 1.12))
    # recolour patches with one of the source's own colours
    glaze = _fractal(rng, (w, h), (rng.randint(2, 4), rng.randint(2, 4)))
    alpha = min(0.6, 0.3 * strength)
    glaze = glaze.point([round(255 * alpha * _clamp((v - 110) / 145)) for v in range(256)])
    img = Image.composite(Image.new("RGB", (w, h), rng.choice(cols)), img, glaze)
    # repaint detail: blend in a softened copy
    soft = img.filter(ImageFilter.BoxBlur(rng.uniform(0.8, 2.0)))
    img = Image.blend(img, soft, rng.uniform(0.2, 0.6))
    return img


def variations_image(
    png: bytes, seed: int, size: int = QUADRANT_LONG_SIDE, strength: float = 1.0
) -> Image.Image:
    src = _open(png)
    w, h = src.size
    f = size / max(w, h)
    src = src.resize((max(1, round(w * f)), max(1, round(h * f))), Image.Resampling.LANCZOS)
    rng = random.Random(sub_seed(seed, "shifts"))
    shifts = [-16.0, -6.0, 6.0, 16.0]
    rng.shuffle(shifts)
    cols = [c for c, _ in dominant_colours(src, 5)]
    return _grid(
        [_variant(src, cols, seed, i, shifts[i] + rng.uniform(-3, 3), strength) for i in range(4)]
    )


def variations(
    png: bytes, seed: int, size: int = QUADRANT_LONG_SIDE, strength: float = 1.0
) -> bytes:
    """VARIATION: a 2x2 grid of four variants of one image (warped, recoloured, re-textured),
    each with its own sub-seed; the quadrant size is the source's aspect at `size` long side.
    `strength` scales the changes (Vary (Subtle) / (Strong) of an upscale)."""
    return _png(variations_image(png, seed, size, strength), f"variations --seed {seed}")


def render_scene(prompt: str, seed: int, index: int, size: tuple[int, int]) -> Image.Image:
    """One procedural picture of `prompt` at `size` (quadrant `index`'s sub-seed): the generated
    surroundings of a pan or zoom and the repainted area of Vary (Region) (local_actions.py)."""
    return _render_quadrant(read_prompt(prompt), seed, index, size, [])


def _colour_ramp(img: Image.Image) -> tuple[RGB, RGB, RGB]:
    cols = sorted((c for c, _ in dominant_colours(img, 4)), key=_luma)
    mid = cols[len(cols) // 2]
    return _tone(cols[0], vmul=0.35), mid, _mix(cols[-1], (255, 255, 255), 0.45)


def blend_image(
    images: Sequence[bytes], aspect: tuple[int, int], seed: int, size: int = QUADRANT_LONG_SIDE
) -> Image.Image:
    qsize = quadrant_size(aspect, size)
    srcs = [ImageOps.fit(_open(b, 1024), qsize, Image.Resampling.LANCZOS) for b in images]
    if not srcs:
        raise ValueError("blend needs at least one image")
    if len(srcs) == 1:
        srcs.append(ImageOps.mirror(srcs[0]))
    n = len(srcs)
    rng = random.Random(sub_seed(seed, "blend"))
    order = list(range(n))
    quads = []
    # 1: a weighted average of all inputs
    weights = [rng.uniform(0.7, 1.3) for _ in srcs]
    acc, total = srcs[0], weights[0]
    for s, wt in zip(srcs[1:], weights[1:], strict=True):
        total += wt
        acc = Image.blend(acc, s, wt / total)
    quads.append(acc)
    # 2: a soft sweep from one input to the next (horizontal, vertical or diagonal)
    rng.shuffle(order)
    grad = Image.linear_gradient("L").rotate(
        rng.choice((90, -90, 0, 180, 45, -45, 135)),
        Image.Resampling.BILINEAR,
        expand=False,
        fillcolor=128,
    )
    grad = grad.resize(qsize, Image.Resampling.BILINEAR)
    sweep = srcs[order[0]]
    for j in range(1, n):
        lo = (j - 0.6) / n * 255
        hi = (j + 0.6) / n * 255
        lut = [round(255 * _clamp((v - lo) / (hi - lo))) for v in range(256)]
        sweep = Image.composite(srcs[order[j]], sweep, grad.point(lut))
    quads.append(sweep)
    # 3: the shapes of one input painted in the colours of another
    a, b = rng.sample(range(n), 2)
    dark, mid, light = _colour_ramp(srcs[b])
    painted = ImageOps.colorize(ImageOps.autocontrast(srcs[a].convert("L")), dark, light, mid=mid)
    quads.append(Image.blend(painted, srcs[a], 0.3))
    # 4: an organic mosaic: noise regions choose the input
    noise = _fractal(rng, qsize, (rng.randint(3, 5), rng.randint(3, 5)))
    mosaic = srcs[order[-1]]
    for j in range(n - 1):
        lo = 255 * (j + 0.5) / n - 20
        lut = [round(255 * _clamp((v - lo) / 40)) for v in range(256)]
        mosaic = Image.composite(mosaic, srcs[order[j]], noise.point(lut))
    mosaic = Image.blend(mosaic, quads[0], 0.3)
    quads.append(mosaic)
    out = [_vignette(q.filter(ImageFilter.SMOOTH), 0.15) for q in quads]
    return _grid(out)


def blend(
    images: Sequence[bytes], aspect: tuple[int, int], seed: int, size: int = QUADRANT_LONG_SIDE
) -> bytes:
    """BLEND: a 2x2 grid of aspect W:H whose quadrants combine the input images four ways
    (weighted average, soft sweep, one image recoloured with another's palette, organic mosaic)."""
    return _png(blend_image(images, aspect, seed, size), f"blend of {len(images)} images")


# ---- describe -------------------------------------------------------------------------------
def colour_name(c: RGB) -> str:
    """A plain-English name for a colour (always ends in a basic colour word)."""
    h, s, v = _hsv(c)
    deg = h * 360
    if v < 0.13:
        return "black"
    if s < 0.14 or (s < 0.22 and v < 0.35):
        if v > 0.88:
            return "white"
        if v > 0.65:
            return "silver gray"
        if v > 0.38:
            return "gray"
        return "charcoal gray"
    if deg < 14 or deg >= 345:
        base = "red"
        special = (
            "maroon red"
            if v < 0.45
            else "rose pink"
            if s < 0.6 and v > 0.6
            else "crimson red"
            if s > 0.7
            else None
        )
    elif deg < 40:
        base = "orange"
        special = (
            "brown" if v < 0.6 else "peach" if s < 0.45 else "amber orange" if deg > 32 else None
        )
    elif deg < 68:
        base = "yellow"
        special = (
            "olive" if v < 0.55 else "cream" if s < 0.35 else "golden yellow" if deg < 50 else None
        )
    elif deg < 160:
        base = "green"
        special = (
            "forest green"
            if v < 0.45
            else "mint green"
            if s < 0.4
            else "emerald green"
            if deg > 135
            else None
        )
    elif deg < 195:
        base = "teal"
        special = "turquoise" if v > 0.75 and s > 0.4 else None
    elif deg < 255:
        base = "blue"
        special = (
            "navy blue"
            if v < 0.42
            else "sky blue"
            if s < 0.5 and v > 0.75
            else "cobalt blue"
            if s > 0.75
            else None
        )
    elif deg < 290:
        base = "purple"
        special = (
            "deep indigo purple" if v < 0.4 else "lavender purple" if s < 0.45 else "violet purple"
        )
    else:
        base = "pink" if v > 0.7 and s < 0.7 else "magenta"
        special = "plum purple" if v < 0.4 else None
    if special:
        return special
    if v < 0.45:
        return f"dark {base}"
    if s < 0.4 and v > 0.75:
        return f"pale {base}"
    return base


@dataclass(frozen=True)
class Analysis:
    width: int
    height: int
    ar: tuple[int, int]
    colours: tuple[str, ...]
    brightness: float  # 0..255
    saturation: float  # 0..255
    contrast: float  # stddev of luminance
    warmth: float  # mean R - mean B
    detail: float  # mean edge strength
    top_lit: float  # top brightness - bottom brightness


def analyse(img: Image.Image, size: tuple[int, int] | None = None) -> Analysis:
    """Measure an image; `size` is its real size when `img` is a reduced copy."""
    w, h = size or img.size
    small = img.convert("RGB")
    small.thumbnail((128, 128))
    lum = small.convert("L")
    ls = ImageStat.Stat(lum)
    hs = ImageStat.Stat(small.convert("HSV"))
    rgb = ImageStat.Stat(small)
    edges = ImageStat.Stat(lum.filter(ImageFilter.FIND_EDGES)).mean[0]
    sw, sh = lum.size
    top = ImageStat.Stat(lum.crop((0, 0, sw, max(1, sh // 3)))).mean[0]
    bottom = ImageStat.Stat(lum.crop((0, sh - max(1, sh // 3), sw, sh))).mean[0]
    names: list[str] = []
    for c, share in dominant_colours(small, 6):
        name = colour_name(c)
        if name not in names and (share >= 0.04 or not names):
            names.append(name)
    return Analysis(
        width=w,
        height=h,
        ar=reduce_ratio(w, h),
        colours=tuple(names[:4]),
        brightness=ls.mean[0],
        saturation=hs.mean[1],
        contrast=ls.stddev[0],
        warmth=rgb.mean[0] - rgb.mean[2],
        detail=edges,
        top_lit=top - bottom,
    )


def _words(a: Analysis) -> dict[str, str]:
    b, s, c = a.brightness, a.saturation, a.contrast
    if b < 55:
        light, mood, time = "dark", "moody nocturnal", "night"
    elif b < 100:
        light, mood, time = "dim", "moody", "dusk"
    elif b < 165:
        light, mood, time = "softly lit", "calm", "afternoon"
    else:
        light, mood, time = "bright", "airy", "sunlit day"
    sat = "muted desaturated" if s < 50 else "soft" if s < 110 else "vivid saturated"
    con = (
        "low contrast, soft gradients"
        if c < 30
        else "balanced contrast"
        if c < 65
        else ("high contrast, dramatic shadows")
    )
    temp = "warm" if a.warmth > 15 else "cool" if a.warmth < -15 else "neutral-toned"
    det = "minimalist" if a.detail < 6 else "textured" if a.detail < 18 else "intricately detailed"
    if a.top_lit > 25:
        lightdir = "light pouring from above"
    elif a.top_lit < -25:
        lightdir = "glow rising from below"
    else:
        lightdir = "even diffuse lighting"
    ratio = a.width / a.height
    if ratio > 1.9:
        frame = "sweeping panoramic"
    elif ratio > 1.1:
        frame = "wide landscape-format"
    elif ratio < 0.55:
        frame = "tall vertical banner"
    elif ratio < 0.9:
        frame = "portrait-format"
    else:
        frame = "square"
    long_side = max(a.width, a.height)
    res = (
        "ultra high resolution, 8k"
        if long_side >= 3000
        else "high resolution, 4k"
        if long_side >= 1500
        else "sharp detail"
        if long_side >= 700
        else "lo-fi small format"
    )
    cols = list(a.colours) or ["gray"]
    return {
        "light": light,
        "mood": mood,
        "time": time,
        "sat": sat,
        "con": con,
        "temp": temp,
        "det": det,
        "lightdir": lightdir,
        "frame": frame,
        "res": res,
        "c1": cols[0],
        "c2": cols[1] if len(cols) > 1 else cols[0],
        "c3": cols[2] if len(cols) > 2 else (cols[1] if len(cols) > 1 else cols[0]),
        "palette": ", ".join(cols[:-1]) + (" and " if len(cols) > 1 else "") + cols[-1],
    }


def describe_prompts(img: Image.Image, size: tuple[int, int] | None = None) -> list[str]:
    """Four different prompts for an image, built from what the image is made of."""
    a = analyse(img, size)
    k = _words(a)
    art = "an" if k["light"][0] in "aeiou" else "a"
    return [
        f"{art} {k['light']} {k['temp']} {k['frame']} scene dominated by {k['c1']} with {k['c2']} "
        f"accents, {k['con']}, {k['sat']} colors, {k['res']}",
        f"{k['det']} {k['mood']} composition in shades of {k['c1']} and {k['c2']}, {k['lightdir']}, "
        f"{k['time']} atmosphere, cinematic",
        f"{k['sat']} color palette of {k['palette']}, {k['time']} ambience, {k['det']} surfaces, "
        f"{k['con']}, {k['light']} exposure",
        f"digital painting of a {k['frame']} {k['temp']} vista, {k['c3']} and {k['c1']} tones, "
        f"{k['lightdir']}, {k['mood']} feeling, {k['det']} brushwork",
    ]


def describe(png: bytes) -> str:
    """DESCRIBE: four numbered prompts in Midjourney's format, each ending in the image's --ar."""
    with Image.open(io.BytesIO(png)) as raw:  # the real size, not a reduced decoding's
        size = raw.size
    img = _open(png, 1024)
    ar = reduce_ratio(*size)
    prompts = describe_prompts(img, size)
    return "\n\n".join(f"{KEYCAPS[i]} {p} --ar {ar[0]}:{ar[1]}" for i, p in enumerate(prompts))


# ---- progress previews ----------------------------------------------------------------------
def preview(png: bytes, pct: int, long_side: int = 256) -> bytes:
    """A small, blurry take on an image for progress updates: sharper as `pct` rises."""
    img = _open(png)
    w, h = img.size
    f = long_side / max(w, h)
    out = (max(1, round(w * f)), max(1, round(h * f)))
    coarse = max(6, round(long_side * (0.05 + 0.3 * _clamp(pct / 100))))
    g = coarse / max(w, h)
    small = img.resize((max(1, round(w * g)), max(1, round(h * g))), Image.Resampling.BOX)
    big = small.resize(out, Image.Resampling.BICUBIC)
    big = big.filter(ImageFilter.GaussianBlur(max(0.5, 4 * (1 - pct / 100))))
    return _png(big, f"preview {pct}%")


__all__ = [
    "KEYCAPS",
    "QUADRANT_LONG_SIDE",
    "SOFTWARE",
    "STYLES",
    "Analysis",
    "Scene",
    "analyse",
    "blend",
    "colour_name",
    "describe",
    "describe_prompts",
    "dominant_colours",
    "preview",
    "quadrant_size",
    "read_prompt",
    "reduce_ratio",
    "render_grid",
    "sub_seed",
    "text_seed",
    "upscale",
    "variations",
]

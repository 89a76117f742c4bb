"""mjproxy.images.probe reads an image's size and wholeness from its structure as Pillow (the
decoder the worker uses) does: the same size for every image Pillow decodes, and every cut-short
file that Pillow refuses is refused at submit too (code 4). The samples are files from other
encoders (tests/fixtures/images, from CPython's test suite) and Pillow's own encoders in the
modes clients send."""

from __future__ import annotations

import io
import random
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from mjproxy import images
from mjproxy.images import probe

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "images"


def picture(mode: str, size: tuple[int, int] = (37, 23)) -> Image.Image:
    """Not a flat colour: a flat image compresses to almost nothing and hides size errors."""
    img = Image.new("RGB", size, (250, 240, 230))
    draw = ImageDraw.Draw(img)
    for i in range(0, size[0], 3):
        draw.line((i, 0, size[0] - i, size[1]), fill=(i * 7 % 256, i * 13 % 256, 90), width=2)
    return img.convert(mode)


def encoded(img: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **options)
    return buf.getvalue()


def adam7_png(width: int, height: int) -> bytes:
    """An interlaced RGB PNG written by hand (Pillow writes none): each Adam7 pass's rows, each
    with filter byte 0."""
    raw = bytearray()
    for x0, y0, dx, dy in probe._ADAM7:
        cols, rows = len(range(x0, width, dx)), len(range(y0, height, dy))
        if cols and rows:
            for r in range(rows):
                raw += b"\0" + bytes((r * 31 + c * 17) % 256 for c in range(cols * 3))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(body, zlib.crc32(kind)))  # fmt: skip

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 1)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b""))  # fmt: skip


def samples() -> dict[str, bytes]:
    out = {f"fixture {p.name}": p.read_bytes() for p in sorted(FIXTURES.iterdir())
           if p.suffix != ".md"}  # fmt: skip
    for mode in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
        out[f"png {mode}"] = encoded(picture(mode), "PNG")
    out["png 1x1"] = encoded(picture("RGB", (1, 1)), "PNG")
    out["png interlaced 13x7"] = adam7_png(13, 7)
    out["png interlaced 1x1"] = adam7_png(1, 1)
    for name, options in [("baseline", {}), ("progressive", {"progressive": True}),
                          ("optimized", {"optimize": True}), ("4:2:0", {"subsampling": 2})]:
        out[f"jpeg {name}"] = encoded(picture("RGB"), "JPEG", quality=80, **options)
    out["jpeg grey"] = encoded(picture("L"), "JPEG")
    out["jpeg cmyk"] = encoded(picture("CMYK"), "JPEG")
    out["gif"] = encoded(picture("P"), "GIF")
    frames = [picture("P"), picture("P").rotate(180)]
    out["gif animated"] = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:],
                                  duration=100, loop=0)  # fmt: skip
    out["gif transparent"] = encoded(picture("P"), "GIF", transparency=0)
    out["webp lossy"] = encoded(picture("RGB"), "WEBP", quality=70)
    out["webp lossless"] = encoded(picture("RGB"), "WEBP", lossless=True)
    out["webp alpha"] = encoded(picture("RGBA"), "WEBP")
    out["webp animated"] = encoded(picture("RGB"), "WEBP", save_all=True,
                                   append_images=[picture("RGB").rotate(180)])  # fmt: skip
    for mode in ("1", "L", "P", "RGB", "RGBA"):
        out[f"bmp {mode}"] = encoded(picture(mode), "BMP")
    return out


SAMPLES = samples()


def pillow_size(data: bytes) -> tuple[int, int] | None:
    """Pillow's size after decoding the first frame, or None if it cannot."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            return img.size
    except Exception:  # noqa: BLE001 - whatever Pillow raises, it did not decode
        return None


def probed(data: bytes) -> tuple[int, int]:
    return probe.probe(data, images.sniff(data), images.MAX_PIXELS)


@pytest.mark.parametrize("name", SAMPLES)
def test_every_image_pillow_decodes_is_read_with_its_size(name):
    data = SAMPLES[name]
    assert pillow_size(data) is not None, "the sample itself must decode"
    assert probed(data) == pillow_size(data)


@pytest.mark.parametrize("name", SAMPLES)
def test_a_file_cut_short_that_pillow_refuses_is_refused(name):
    data = SAMPLES[name]
    fmt = images.sniff(data)
    cuts = sorted({*range(len(data) - 12, len(data)), *range(12, len(data), max(1, len(data) // 40))})
    refused = 0
    for n in cuts:
        cut = data[:n]
        if images.sniff(cut) != fmt:
            continue
        if pillow_size(cut) is None:
            with pytest.raises(probe.Malformed):
                probed(cut)
            refused += 1
    assert refused, "Pillow refuses some cut of every sample"


@pytest.mark.parametrize("name", ["png RGB", "png interlaced 13x7", "fixture python.png"])
def test_a_png_with_a_changed_byte_is_refused(name):
    data = bytearray(SAMPLES[name])
    for at in range(16, len(data) - 4, max(1, len(data) // 25)):  # past the signature
        changed = bytearray(data)
        changed[at] ^= 0x40
        with pytest.raises(probe.Malformed):
            probed(bytes(changed))


@pytest.mark.parametrize("fmt", ["PNG", "GIF", "BMP", "WEBP"])
def test_a_decompression_bomb_is_refused_from_its_header(fmt):
    # 64 MP in a few kilobytes (BMP: the header's claim alone, over a short file).
    data = encoded(Image.new("1" if fmt != "WEBP" else "L", (8000, 8000)), fmt)
    with pytest.raises(probe.Oversized):
        probed(data)


@pytest.mark.parametrize(
    ("data", "why"),
    [(b"\x89PNG\r\n\x1a\n", "no chunks"), (b"\xff\xd8\xff\xd9", "EOI before a scan"),
     (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "no image"), (b"RIFF\x04\x00\x00\x00WEBP", "no image"),
     (b"BM" + b"\0" * 12 + struct.pack("<I", 7), "DIB header")],
)  # fmt: skip
def test_headers_without_an_image_are_refused(data, why):
    assert pillow_size(data) is None
    with pytest.raises(probe.Malformed):
        probed(data)


def test_checking_an_upload_loads_no_pillow():
    """The point of the probe: a submit function's cold start imports no Pillow."""
    png = SAMPLES["png RGB"].hex()
    code = (
        "import sys; from mjproxy import images; import base64; "
        f"d = images.parse_data_url('data:image/png;base64,' + base64.b64encode("
        f"bytes.fromhex('{png}')).decode()); "
        "print(len(d.data), 'PIL' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(ROOT / "layers/common/python"), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.split() == [str(len(SAMPLES["png RGB"])), "False"]


def test_mutated_files_are_read_or_refused_never_crash():
    """Random bytes changed, cut or repeated: the probe answers or raises its own two errors
    (the submit's code 4), never another exception (a 5xx)."""
    rng = random.Random(17)  # fixed: a failure can be replayed
    for data in SAMPLES.values():
        for _ in range(60):
            changed = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                at = rng.randrange(len(changed))
                kind = rng.random()
                if kind < 0.6:
                    changed[at] = rng.randrange(256)
                elif kind < 0.8:
                    del changed[at:at + rng.randint(1, 64)]
                else:
                    changed[at:at] = changed[at:at + rng.randint(1, 64)]
            fmt = images.sniff(bytes(changed))
            if fmt is None:
                continue
            try:
                probe.probe(bytes(changed), fmt, images.MAX_PIXELS)
            except (probe.Malformed, probe.Oversized):
                pass


def test_stray_bytes_between_jpeg_segments_are_skipped_as_libjpeg_does():
    data = SAMPLES["jpeg baseline"]
    at = data.index(b"\xff", 2 + 2 + int.from_bytes(data[4:6], "big"))  # after the first segment
    spliced = data[:at] + b"\x00\x12" + data[at:]
    assert pillow_size(spliced) == probed(spliced) == pillow_size(data)

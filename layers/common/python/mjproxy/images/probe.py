"""An image's format and size, and whether its bytes are whole, read from its own structure
without Pillow: the submit functions check every uploaded image this way, so a truncated file
or a decompression bomb is the client's code 4 at submit while their cold start pays no Pillow
import and decode (~60 ms, bench/results/1_cold_start.md). The worker decodes for real later;
an image whose structure is whole but whose pixels are not fails its task there, with a
failReason.

Each check follows the format's own specification: PNG (ISO/IEC 15948: chunks and their CRCs,
IHDR, the zlib stream inflated to the exact size IHDR implies), JPEG (ITU T.81 markers: a frame
header, a scan, and an EOI after it), GIF (GIF89a: the block structure of the first frame), WebP
(RIFF container, VP8/VP8L/VP8X headers) and BMP (file and DIB headers, the pixel array in
bounds)."""

from __future__ import annotations

import struct
import zlib

_INFLATE_CHUNK = 1 << 20  # inflate a PNG in pieces: its pixels are counted, never held


class Malformed(ValueError):
    """The bytes start like an image but are not a whole one (truncated, corrupt)."""


class Oversized(ValueError):
    """More pixels than allowed: a decompression bomb, or an image no generator takes."""


def probe(data: bytes, fmt: str, max_pixels: int) -> tuple[int, int]:
    """(width, height) of `data`, an image in format `fmt` (images.sniff's names), after
    checking that it is whole; Oversized past `max_pixels` (checked before any inflating)."""
    reader = _READERS[fmt]
    try:
        return reader(memoryview(data), max_pixels)
    except (struct.error, IndexError) as exc:  # a header field past the end of the bytes
        raise Malformed("truncated") from exc


def _sized(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise Malformed(f"{width}x{height}")
    if width * height > max_pixels:
        raise Oversized(f"{width}x{height}")


# ---- PNG ----------------------------------------------------------------------------------
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# Adam7's passes: (first column, first row, column step, row step)
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
          (0, 1, 1, 2))  # fmt: skip


def _png(data: memoryview, max_pixels: int) -> tuple[int, int]:
    pos, header, idat, ended = 8, None, [], False
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        body = data[pos + 8 : pos + 8 + length]
        if length > 0x7FFFFFFF or pos + 12 + length > len(data):
            raise Malformed(f"{kind!r} chunk past the end")
        (crc,) = struct.unpack_from(">I", data, pos + 8 + length)
        if zlib.crc32(body, zlib.crc32(kind)) != crc:
            raise Malformed(f"{kind!r} chunk CRC")
        if header is None and kind != b"IHDR":
            raise Malformed("no IHDR first")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            ended = True
            break
        pos += 12 + length
    if header is None or not ended:
        raise Malformed("truncated")
    width, height, depth, color, compression, filtering, interlace = header
    if depth not in _PNG_DEPTHS.get(color, ()) or compression or filtering or interlace > 1:
        raise Malformed("IHDR")
    _sized(width, height, max_pixels)
    bits = _PNG_CHANNELS[color] * depth
    if interlace:
        passes = [(-(-(width - x) // dx), -(-(height - y) // dy)) for x, y, dx, dy in _ADAM7]
    else:
        passes = [(width, height)]
    expected = sum(h * (1 + -(-w * bits // 8)) for w, h in passes if w > 0 and h > 0)
    if _inflated_size(idat, expected) < expected:
        raise Malformed("image data ends early")
    return width, height


def _inflated_size(parts: list[memoryview], enough: int) -> int:
    """Bytes the zlib stream split over `parts` inflates to, counted up to `enough`."""
    inflater, total = zlib.decompressobj(), 0
    try:
        for part in parts:
            pending = bytes(part)
            while pending and total < enough:
                total += len(inflater.decompress(pending, _INFLATE_CHUNK))
                pending = inflater.unconsumed_tail
            if total >= enough:
                return total
        while total < enough:  # output zlib still holds for input it has consumed
            out = inflater.decompress(b"", _INFLATE_CHUNK)
            if not out:
                break
            total += len(out)
    except zlib.error as exc:
        raise Malformed(f"image data: {exc}") from exc
    return total


# ---- JPEG ---------------------------------------------------------------------------------
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_NO_LENGTH = {0x01, *range(0xD0, 0xD8)}  # TEM and RSTn stand alone


def _jpeg(data: memoryview, max_pixels: int) -> tuple[int, int]:
    raw, pos, size = bytes(data), 2, None
    while True:
        if data[pos] != 0xFF:  # stray bytes before a marker: libjpeg skips them with a warning
            pos = raw.find(b"\xff", pos)
            if pos < 0:
                raise Malformed("no marker")
        while data[pos] == 0xFF:  # fill bytes
            pos += 1
        marker = data[pos]
        pos += 1
        if marker in _NO_LENGTH:
            continue
        if marker == 0xD9:
            raise Malformed("EOI before a scan")
        (length,) = struct.unpack_from(">H", data, pos)
        if length < 2 or pos + length > len(data):
            raise Malformed("segment past the end")
        if marker in _SOF:
            height, width = struct.unpack_from(">HH", data, pos + 3)
            _sized(width, height, max_pixels)
            size = (width, height)
        if marker == 0xDA:
            break
        pos += length
    if size is None:
        raise Malformed("scan before a frame header")
    # The entropy-coded data runs to the EOI; a file cut anywhere after the scan's header has
    # none (trailing bytes after the EOI, as some cameras write, are fine).
    if raw.rfind(b"\xff\xd9", pos + length) < 0:
        raise Malformed("no EOI")
    return size


# ---- GIF ----------------------------------------------------------------------------------
def _gif(data: memoryview, max_pixels: int) -> tuple[int, int]:
    width, height, packed = struct.unpack_from("<HHB", data, 6)
    _sized(width, height, max_pixels)
    pos = 13 + (3 << ((packed & 7) + 1) if packed & 0x80 else 0)
    while True:
        block = data[pos]
        if block == 0x21:  # an extension: label, then sub-blocks
            pos = _sub_blocks(data, pos + 2)
        elif block == 0x2C:  # an image: descriptor, local colour table, LZW code size, data
            local = data[pos + 9]
            pos += 10 + (3 << ((local & 7) + 1) if local & 0x80 else 0)
            _sub_blocks(data, pos + 1)
            return width, height  # the first frame is whole: that is what is used
        else:  # the trailer (0x3B) before any image, or bytes that are no block
            raise Malformed("no image")


def _sub_blocks(data: memoryview, pos: int) -> int:
    while data[pos]:
        pos += 1 + data[pos]
    return pos + 1


# ---- WebP ---------------------------------------------------------------------------------
def _webp(data: memoryview, max_pixels: int) -> tuple[int, int]:
    (riff_size,) = struct.unpack_from("<I", data, 4)
    end = 8 + riff_size
    if end > len(data):
        raise Malformed("truncated")
    pos, size, image = 12, None, False
    while pos + 8 <= end:
        kind, length = struct.unpack_from("<4sI", data, pos)
        if pos + 8 + length > end:
            raise Malformed(f"{kind!r} chunk past the end")
        body = pos + 8
        if kind == b"VP8X" and size is None:
            w = int.from_bytes(data[body + 4 : body + 7], "little") + 1
            h = int.from_bytes(data[body + 7 : body + 10], "little") + 1
            size = (w, h)
        elif kind == b"VP8 ":
            if bytes(data[body + 3 : body + 6]) != b"\x9d\x01\x2a":
                raise Malformed("VP8 start code")
            w, h = struct.unpack_from("<HH", data, body + 6)
            size = size or (w & 0x3FFF, h & 0x3FFF)
            image = True
        elif kind == b"VP8L":
            if data[body] != 0x2F:
                raise Malformed("VP8L signature")
            (bits,) = struct.unpack_from("<I", data, body + 1)
            size = size or ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
            image = True
        elif kind == b"ANMF":
            image = True
        pos = body + length + (length & 1)  # chunks are padded to an even size
    if size is None or not image:
        raise Malformed("no image chunk")
    _sized(*size, max_pixels)
    return size


# ---- BMP ----------------------------------------------------------------------------------
def _bmp(data: memoryview, max_pixels: int) -> tuple[int, int]:
    (offset,) = struct.unpack_from("<I", data, 10)
    (dib,) = struct.unpack_from("<I", data, 14)
    if dib == 12:  # OS/2 BITMAPCOREHEADER
        width, height, _, bits = struct.unpack_from("<HHHH", data, 18)
        compression = 0
    elif dib >= 40:
        width, height, _, bits, compression = struct.unpack_from("<iiHHI", data, 18)
    else:
        raise Malformed("DIB header")
    height = abs(height)  # negative: rows stored top-down
    _sized(width, height, max_pixels)
    if compression in (0, 3, 6):  # uncompressed (BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS)
        stride = (width * bits + 31) // 32 * 4
        if offset + stride * height > len(data):
            raise Malformed("pixel array past the end")
    elif offset >= len(data):
        raise Malformed("no pixel data")
    return width, height


_READERS = {"png": _png, "jpg": _jpeg, "gif": _gif, "webp": _webp, "bmp": _bmp}

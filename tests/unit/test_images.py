import base64
import io

import pytest
from PIL import Image

from mjproxy import images


def png(size=(8, 8), color=(255, 0, 0)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def data_url(data: bytes, mime="image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


@pytest.mark.parametrize(
    "mime, ext",
    [("image/png", "png"), ("image/jpg", "jpg"), ("image/jpeg", "jpg"), ("image/webp", "webp")],
)
def test_accepts_the_mime_types_clients_send(mime, ext):
    parsed = images.parse_data_url(data_url(png(), mime), max_bytes=1000)
    assert parsed.ext == ext
    assert parsed.data.startswith(b"\x89PNG")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "iVBORw0KGgo=",
        "data:image/png,notbase64",
        "data:text/plain;base64,aGVsbG8=",
        "data:image/png;base64,!!!!",
        "data:image/png;base64," + base64.b64encode(b"hello").decode(),
    ],
)
def test_rejects_what_is_not_an_image_data_url(value):
    with pytest.raises(images.InvalidImage):
        images.parse_data_url(value, max_bytes=1000)


def test_rejects_images_over_the_limit():
    with pytest.raises(images.ImageTooLarge):
        images.parse_data_url(data_url(png((256, 256))), max_bytes=100)


def test_split_grid_gives_quadrants_in_u1_to_u4_order():
    grid = Image.new("RGB", (20, 10))
    colors = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    for (x, y), c in zip([(0, 0), (10, 0), (0, 5), (10, 5)], colors, strict=False):
        grid.paste(Image.new("RGB", (10, 5), c), (x, y))
    buf = io.BytesIO()
    grid.save(buf, format="PNG")
    parts = images.split_grid(buf.getvalue())
    assert [Image.open(io.BytesIO(p)).getpixel((1, 1)) for p in parts] == colors
    assert Image.open(io.BytesIO(parts[0])).size == (10, 5)

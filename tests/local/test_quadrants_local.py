"""Local tier: with stable links (MJ_IMAGE_URL_MODE=stable, the deployed default) a grid's
quadrants are stored when first opened, not at finish (issue 17); over HTTP every imageUrls
entry still serves its PNG, the quarter of the grid it names."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.local.conftest import Running


@pytest.fixture(scope="module")
def stable():
    running = Running({"MJ_LOCAL_STEP_SECONDS": "0", "MJ_IMAGE_URL_MODE": "stable"})
    yield running
    running.stop()


def _png(response) -> Image.Image:
    assert response.status_code == 200, response.status_code
    img = Image.open(io.BytesIO(response.content))
    img.load()
    return img.convert("RGB")


def test_every_quadrant_link_serves_its_quarter_of_the_grid(stable):
    out = stable.post("/mj/submit/imagine", {"prompt": "a lighthouse at dusk --ar 3:2"}).json()
    assert out["code"] == 1, out
    task = stable.wait_for(out["result"], lambda t: t["status"] == "SUCCESS", timeout=90)
    grid = _png(stable.get(task["imageUrl"].removeprefix(stable.url)))
    w, h = grid.width // 2, grid.height // 2
    corners = [(0, 0), (w, 0), (0, h), (w, h)]
    for entry, (x, y) in zip(task["imageUrls"], corners, strict=True):
        assert "/mj/image/" in entry["url"]
        part = _png(stable.get(entry["url"].removeprefix(stable.url)))
        assert part.size == (w, h)
        assert part.getpixel((w // 2, h // 2)) == grid.getpixel((x + w // 2, y + h // 2))

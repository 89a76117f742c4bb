# ruff: noqa: F811  (pytest passes the imported `backend` fixture by name)
"""EDIT / RETEXTURE on `bedrock` and `openai` behind the stubs of test_provider_scenarios.py (a
Stubber on a real bedrock-runtime client; recorded OpenAI JSON): which generator call each makes,
that a mask reaches it in the generator's own convention, and that the result is a grid with
U/V buttons (issue 16 item 9).

Request shapes: Stability Image Services on Bedrock (inpaint `mask` white = repaint, SD3.5
`mode: image-to-image` + `strength`, Control Structure `control_strength`; aws-notes.md §8.4, the
same envelope as text-to-image); OpenAI `/images/edits` with a `mask` file whose transparent area
is painted (OpenAI image edits API)."""

from __future__ import annotations

import base64
import io

from PIL import Image

from tests.integration.test_actions_providers import INPAINT, _images
from tests.integration.test_provider_scenarios import (  # noqa: F401  (the `backend` fixture)
    CELL,
    assert_grid,
    backend,
)
from tests.scenarios import data_url, png_bytes, run_to_end, submit_ok

IMG2IMG = "stability.sd3-5-large-v1:0"
STRUCTURE = "stability.stable-image-control-structure-v1:0"
SOURCE = (96, 64)


def _left_half_mask(size: tuple[int, int]) -> bytes:
    mask = Image.new("L", size, 0)
    mask.paste(255, (0, 0, size[0] // 2, size[1]))
    buf = io.BytesIO()
    mask.save(buf, format="PNG")
    return buf.getvalue()


def _edited(system, backend, path: str, body: dict) -> dict:
    _images(backend, CELL)
    task = run_to_end(system, submit_ok(system, path, body))
    assert_grid(task, CELL)
    return task


def test_an_edit_with_a_mask_repaints_only_the_masked_area(backend, system):
    body = {
        "prompt": "a red sunset",
        "image": data_url(png_bytes(SOURCE, (20, 200, 20))),
        "maskBase64": data_url(_left_half_mask(SOURCE)),
    }
    task = _edited(system, backend, "/mj/submit/edits", body)
    assert (task["action"], task["description"]) == ("EDIT", "/edit a red sunset")
    assert {"U1", "V4"} <= {b["label"] for b in task["buttons"]}
    [call, *rest] = backend.take_calls()
    w, h = SOURCE
    if backend.name == "bedrock":
        assert call.endpoint == INPAINT and call.body["prompt"] == "a red sunset"
        assert len(rest) == 3 and len({c.body["seed"] for c in [call, *rest]}) == 4
        sent = Image.open(io.BytesIO(base64.b64decode(call.body["mask"]))).convert("L")
        assert sent.getpixel((2, 2)) == 255 and sent.getpixel((w - 3, 2)) == 0  # white = repaint
    else:
        assert not rest and call.endpoint == "/images/edits"
        assert "a red sunset" in call.body["prompt"] and call.body["n"] == "4"
        files = {name: data for name, _type, data in call.files}
        alpha = Image.open(io.BytesIO(files["mask"])).getchannel("A")
        assert alpha.getpixel((2, 2)) == 0 and alpha.getpixel((w - 3, 2)) == 255  # clear = paint


def test_an_edit_without_a_mask_changes_the_whole_image(backend, system):
    body = {"prompt": "in winter", "image": data_url(png_bytes(SOURCE, (200, 20, 20)))}
    _edited(system, backend, "/mj/submit/edit", body)
    [call, *rest] = backend.take_calls()
    if backend.name == "bedrock":
        assert call.endpoint == IMG2IMG and call.body["mode"] == "image-to-image"
        assert call.body["strength"] == 0.6 and "mask" not in call.body and len(rest) == 3
    else:
        files = {name for name, _type, _data in call.files}
        assert "mask" not in files and "in winter" in call.body["prompt"]


def test_a_retexture_keeps_the_structure(backend, system):
    body = {"prompt": "carved from blue ice", "image": data_url(png_bytes(SOURCE))}
    task = _edited(system, backend, "/mj/submit/retexture", body)
    assert task["action"] == "RETEXTURE"
    [call, *rest] = backend.take_calls()
    if backend.name == "bedrock":
        assert call.endpoint == STRUCTURE and call.body["control_strength"] == 0.7
        assert call.body["prompt"] == "carved from blue ice" and len(rest) == 3
    else:
        assert "composition" in call.body["prompt"]
        assert "carved from blue ice" in call.body["prompt"]

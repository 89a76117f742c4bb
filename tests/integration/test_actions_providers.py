# ruff: noqa: F811  (pytest passes the imported `backend` fixture by name)
"""Every customId family on `bedrock` and `openai` behind the stubs of test_provider_scenarios.py
(a Stubber on a real bedrock-runtime client; recorded OpenAI JSON): which generator call each
button makes, and that its result comes back as the task a client sees (issue 11).

Request shapes: Stability's edit services on Bedrock (outpaint `left/right/up/down`, inpaint
`mask`, the upscalers; aws-notes.md §8.4, the same envelope as text-to-image); OpenAI
`/images/edits` with a `mask` file whose transparent area is painted (OpenAI image edits API)."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from tests.integration.test_provider_scenarios import (  # noqa: F401  (the `backend` fixture)
    CELL,
    COLORS,
    SD35,
    b64,
    backend,
)
from tests.scenarios import data_url, fetch, png_bytes, run_to_end, submit_ok

PROMPT = "a red fox in snow --ar 3:2"
OUTPAINT = "stability.stable-outpaint-v1:0"
INPAINT = "stability.stable-image-inpaint-v1:0"
CONSERVATIVE = "stability.stable-conservative-upscale-v1:0"
CREATIVE = "stability.stable-creative-upscale-v1:0"
FAST = "stability.stable-fast-upscale-v1:0"
CORE = "stability.stable-image-core-v1:1"


def _press(system, task: dict, needle: str, **extra) -> dict:
    [custom_id] = [b["customId"] for b in task["buttons"] if needle in b["customId"]][:1]
    r = system.post("/mj/submit/action", {"taskId": task["id"], "customId": custom_id, **extra})
    return r.json()


def _images(backend, size: tuple[int, int], n: int = 4) -> None:
    """Queue `n` generated images of `size` (one call each on Bedrock, one n-image reply on
    OpenAI)."""
    if backend.name == "bedrock":
        for color in COLORS[:n]:
            backend._image(png_bytes(size, color))
    else:
        reply = {
            "created": 1764000000,
            "output_format": "png",
            "data": [{"b64_json": b64(png_bytes(size, c))} for c in COLORS[:n]],
        }
        backend.opener.replies.append((200, reply, {}))


@pytest.fixture
def upscaled(backend, system) -> dict:
    backend.grid(CELL)
    grid = run_to_end(system, submit_ok(system, "/mj/submit/imagine", {"prompt": PROMPT}))
    backend.upscaled(CELL)
    up = run_to_end(system, _press(system, grid, "::upsample::1::")["result"])
    assert up["status"] == "SUCCESS", up
    backend.take_calls()
    return up


def _done(system, answer: dict) -> dict:
    assert answer["code"] == 1, answer
    task = run_to_end(system, answer["result"])
    assert task["status"] == "SUCCESS", task
    return task


def _size(upscaled_task: dict, backend) -> tuple[int, int]:
    return (CELL[0] * 4, CELL[1] * 4) if backend.name == "bedrock" else (CELL[0] * 2, CELL[1] * 2)


def test_every_upscale_button_is_offered(upscaled, backend):
    labels = [b["label"] or b["emoji"] for b in upscaled["buttons"]]
    # Animate needs a video model: bedrock has Nova Reel, openai none (mjproxy.video).
    animate = ["Animate (High motion)", "Animate (Low motion)"] if backend.name == "bedrock" else []
    assert labels[2:] == [
        "Vary (Subtle)", "Vary (Strong)", "Vary (Region)", "Zoom Out 2x", "Zoom Out 1.5x",
        "Custom Zoom", "⬅️", "➡️", "⬆️", "⬇️", *animate, "🔄",
    ]  # fmt: skip


@pytest.mark.parametrize("direction", ["left", "up"])
def test_pan_outpaints_on_its_side(backend, system, upscaled, direction):
    w, h = _size(upscaled, backend)
    out = (w + w // 2, h) if direction == "left" else (w, h + h // 2)
    _images(backend, out)
    pan = _done(system, _press(system, upscaled, f"::pan_{direction}::"))
    assert pan["action"] == "PAN" and len(pan["imageUrls"]) == 4
    calls = backend.take_calls()
    if backend.name == "bedrock":
        assert len(calls) == 4 and {c.endpoint for c in calls} == {OUTPAINT}
        body = calls[0].body
        expected = {"left": w // 2, "right": 0, "up": 0, "down": 0}
        if direction == "up":
            expected = {"left": 0, "right": 0, "up": h // 2, "down": 0}
        assert {k: body[k] for k in expected} == expected
        assert body["prompt"] == "a red fox in snow" and len({c.body["seed"] for c in calls}) == 4
    else:
        [call] = calls
        assert call.endpoint == "/images/edits" and call.body["n"] == "4"
        files = {name: data for name, _type, data in call.files}
        image = Image.open(io.BytesIO(files["image"]))
        mask = Image.open(io.BytesIO(files["mask"]))
        assert image.size == mask.size and mask.mode == "RGBA"
        # the new side is transparent in the mask (painted), the source opaque (kept)
        x, y = (2, image.height // 2) if direction == "left" else (image.width // 2, 2)
        assert mask.getchannel("A").getpixel((x, y)) == 0
        assert mask.getchannel("A").getpixel((image.width - 3, image.height - 3)) == 255


def test_zoom_out_and_custom_zoom_outpaint_every_side(backend, system, upscaled):
    w, h = _size(upscaled, backend)
    _images(backend, (w * 2, h * 2))
    zoom = _done(system, _press(system, upscaled, "MJ::Outpaint::50::"))
    assert zoom["action"] == "ZOOM"
    calls = backend.take_calls()
    if backend.name == "bedrock":
        assert {k: calls[0].body[k] for k in ("left", "right", "up", "down")} == {
            "left": w // 2, "right": w // 2, "up": h // 2, "down": h // 2
        }  # fmt: skip
    else:
        assert calls[0].endpoint == "/images/edits"
    answer = _press(system, upscaled, "MJ::CustomZoom::")
    assert answer["code"] == 21
    _images(backend, (w * 2, h * 2))
    r = system.post("/mj/submit/modal", {"taskId": answer["result"], "prompt": "a fox --zoom 1.5"})
    assert r.json()["code"] == 1
    assert run_to_end(system, answer["result"])["status"] == "SUCCESS"
    [first, *_] = backend.take_calls()
    if backend.name == "bedrock":
        assert first.body["left"] == round(w * 0.25) and first.body["up"] == round(h * 0.25)


def test_vary_subtle_and_strong(backend, system, upscaled):
    w, h = _size(upscaled, backend)
    seen = {}
    for needle in ("low_variation", "high_variation"):
        _images(backend, (w, h))
        vary = _done(system, _press(system, upscaled, needle))
        assert vary["action"] == "VARIATION" and len(vary["imageUrls"]) == 4
        calls = backend.take_calls()
        if backend.name == "bedrock":
            assert {c.endpoint for c in calls} == {SD35}
            seen[needle] = calls[0].body["strength"]
        else:
            seen[needle] = calls[0].body["prompt"]
    if backend.name == "bedrock":
        assert seen == {"low_variation": 0.35, "high_variation": 0.8}
    else:
        assert "subtle" in seen["low_variation"] and "strong" in seen["high_variation"]


def test_vary_region_sends_the_mask(backend, system, upscaled):
    w, h = _size(upscaled, backend)
    answer = _press(system, upscaled, "MJ::Inpaint::")
    assert answer["code"] == 21
    mask = Image.new("L", (w, h), 0)
    mask.paste(255, (0, 0, w // 2, h))  # the left half
    buf = io.BytesIO()
    mask.save(buf, format="PNG")
    _images(backend, (w, h))
    r = system.post(
        "/mj/submit/modal",
        {
            "taskId": answer["result"],
            "prompt": "a blue bird",
            "maskBase64": data_url(buf.getvalue()),
        },
    )
    assert r.json()["code"] == 1
    region = run_to_end(system, answer["result"])
    assert region["status"] == "SUCCESS" and region["prompt"] == "a blue bird"
    [call, *rest] = backend.take_calls()
    if backend.name == "bedrock":
        assert call.endpoint == INPAINT and call.body["prompt"] == "a blue bird" and len(rest) == 3
        sent = Image.open(io.BytesIO(base64.b64decode(call.body["mask"]))).convert("L")
        assert sent.getpixel((2, 2)) == 255 and sent.getpixel((w - 3, 2)) == 0  # white = repaint
    else:
        files = {name: data for name, _type, data in call.files}
        alpha = Image.open(io.BytesIO(files["mask"])).getchannel("A")
        assert alpha.getpixel((2, 2)) == 0 and alpha.getpixel((w - 3, 2)) == 255  # clear = paint


@pytest.mark.parametrize("kind", ["subtle", "creative"])
def test_hd_upscales(backend, system, upscaled, kind):
    w, h = _size(upscaled, backend)
    if backend.name == "bedrock":
        backend._image(png_bytes((w * 4, h * 4), (250, 250, 250)))
    elif kind == "creative":
        _images(backend, (w, h), n=1)
    hd = _done(system, _press(system, upscaled, f"upsample_v7_2x_{kind}"))
    assert hd["action"] == "UPSCALE_HD"
    calls = backend.take_calls()
    if backend.name == "bedrock":
        [call] = calls
        assert call.endpoint == (CONSERVATIVE if kind == "subtle" else CREATIVE)
    else:
        assert len(calls) == (0 if kind == "subtle" else 1)
    stored = fetch(system, hd["id"])
    assert stored["imageUrl"] and stored["imageUrls"] is None


def test_reroll_of_an_upscale_imagines_the_prompt_again(backend, system, upscaled):
    backend.grid(CELL)
    again = _done(system, _press(system, upscaled, "::reroll::"))
    assert again["action"] == "REROLL" and len(again["imageUrls"]) == 4
    calls = backend.take_calls()
    if backend.name == "bedrock":
        assert {c.endpoint for c in calls} == {CORE}
    else:
        assert [c.endpoint for c in calls] == ["/images/generations"]

"""EDIT / RETEXTURE on moto in-process with the local editor: the mask really limits the change,
retexture keeps the structure, U/V work on the result, exact strings for bad input."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image, ImageStat

from tests.scenarios import data_url, image_of, png_bytes, run_to_end, submit_ok

GREEN = (20, 200, 20)


def half_mask(size=(120, 80)) -> bytes:
    mask = Image.new("L", size, 0)
    mask.paste(255, (0, 0, size[0] // 2, size[1]))  # change the left half only
    buf = io.BytesIO()
    mask.save(buf, format="PNG")
    return buf.getvalue()


def code_desc(r) -> tuple[int, str]:
    assert r.status == 200, r.text
    out = r.json()
    return out["code"], out["description"]


def test_edit_with_a_mask_changes_only_the_masked_area(system):
    body = {
        "prompt": "a red sunset",
        "image": data_url(png_bytes((120, 80), GREEN)),
        "maskBase64": data_url(half_mask()),
    }
    task = run_to_end(system, submit_ok(system, "/mj-relax/mj/submit/edits", body))
    assert (task["action"], task["status"], task["description"]) == (
        "EDIT", "SUCCESS", "/edit a red sunset",
    )  # fmt: skip
    quadrant = image_of(task["imageUrls"][0]["url"]).convert("RGB")
    w, h = quadrant.size
    right = ImageStat.Stat(quadrant.crop((w * 3 // 4, 0, w, h))).mean
    left = ImageStat.Stat(quadrant.crop((0, 0, w // 4, h))).mean
    assert all(abs(a - b) < 3 for a, b in zip(right, GREEN, strict=True)), right  # kept
    assert abs(left[1] - GREEN[1]) > 20, left  # changed
    # U1 on an edit works like on any grid.
    child = submit_ok(
        system, "/mj/submit/change", {"taskId": task["id"], "action": "UPSCALE", "index": 1}
    )
    assert run_to_end(system, child)["status"] == "SUCCESS"


def test_edit_alias_and_retexture_keep_the_structure(system):
    img = Image.new("RGB", (120, 80), (250, 250, 250))
    img.paste((10, 10, 10), (0, 0, 60, 80))  # dark left half, light right half
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    body = {"prompt": "carved from blue ice", "image": data_url(buf.getvalue())}
    task = run_to_end(system, submit_ok(system, "/mj/submit/retexture", body))
    assert (task["action"], task["status"]) == ("RETEXTURE", "SUCCESS")
    out = image_of(task["imageUrls"][0]["url"]).convert("L")
    w, h = out.size
    dark = ImageStat.Stat(out.crop((0, 0, w // 3, h))).mean[0]
    light = ImageStat.Stat(out.crop((w * 2 // 3, 0, w, h))).mean[0]
    assert light > dark + 30  # the shape survives the new colours
    alias = submit_ok(system, "/mj/submit/edit", {"prompt": "p", "image": body["image"]})
    assert run_to_end(system, alias)["action"] == "EDIT"


@pytest.mark.parametrize(
    "body",
    [{}, {"prompt": "p"}, {"image": "x"}, {"prompt": " ", "image": "x"}],
)
def test_edit_needs_image_and_prompt(system, body):
    assert code_desc(system.post("/mj/submit/edits", body)) == (4, "image或prompt不能为空")


def test_edit_on_a_provider_without_edits(system, monkeypatch):
    from mjproxy import config

    # midjourney has no edit command (edits/providers.py SUPPORTED)
    monkeypatch.setenv(
        "MJ_INSTANCES",
        json.dumps([{"id": "m", "provider": "midjourney", "userToken": "t", "guildId": "1",
                     "channelId": "2"}]),
    )  # fmt: skip
    config.reset()
    body = {"prompt": "p", "image": data_url(png_bytes())}
    code, desc = code_desc(system.post("/mj/submit/retexture", body))
    assert code == 4 and desc.startswith("服务不支持")

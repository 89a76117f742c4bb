"""POST /mj/submit/upload-discord-images on a midjourney account, against the simulator: each
image goes to Discord as the peers upload it (attachment slot, PUT, a channel message) and the
answer is that message's CDN URL; when Discord refuses, our own stable links."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.integration.midjourney.conftest import SIM_BASE
from tests.integration.midjourney.test_midjourney import imagine
from tests.scenarios import data_url, png_bytes, run_to_end

HOST = {"Host": "api.example"}


def upload(mj, *blobs: bytes) -> dict:
    body = {"base64Array": [data_url(b) for b in blobs]}
    r = mj.post("/mj/submit/upload-discord-images", body, headers=HOST)
    assert r.status == 200, r.text
    return r.json()


def test_images_are_uploaded_to_discord_and_their_cdn_links_answered(mj):
    blobs = [png_bytes(), png_bytes(color=(0, 0, 200))]

    out = upload(mj, *blobs)

    assert (out["code"], out["description"]) == (1, "提交成功")
    assert len(out["result"]) == 2
    for url, blob in zip(out["result"], blobs, strict=True):
        assert url.startswith(f"{SIM_BASE}/attachments/{mj.account.channel_id}/")
        got = mj.sim.handle("GET", url, {}, None)  # Discord's CDN serves exactly the upload
        assert (got.status, got.body) == (200, blob)
    sent = [(c.method, c.route) for c in mj.sim.calls if c.route != "cdn"]
    assert sent == [("POST", "attachments"), ("PUT", "upload"), ("POST", "send-message")] * 2
    assert mj.sim.count("interactions") == 0  # no Midjourney job


def test_the_link_works_as_an_image_prompt(mj):
    link = upload(mj, png_bytes(color=(10, 200, 10)))["result"][0]
    task = run_to_end(mj, imagine(mj, f"{link} a green meadow"))
    assert task["status"] == "SUCCESS", task


def test_when_discord_refuses_the_answer_is_our_own_stable_links(mj):
    mj.sim.rate_limit(50, route="attachments")
    out = upload(mj, png_bytes())
    assert (out["code"], out["description"]) == (1, "提交成功")
    parts = urlsplit(out["result"][0])
    assert parts.netloc == "api.example" and parts.path.startswith("/mj/image/")
    assert mj.get(f"{parts.path}?{parts.query}").status == 302

"""Local tier: every plus-API endpoint over HTTP against the system as `make run` starts it
(`python -m mjproxy.local`, local provider), including a describe `link` served from
127.0.0.1 (MJ_LINK_ALLOW_PRIVATE=true, as a developer would set it locally)."""

from __future__ import annotations

import http.server
import io
import threading

import pytest
import requests

from tests.local.conftest import Running
from tests.scenarios import data_url, png_bytes

TERMINAL = ("SUCCESS", "FAILURE", "CANCEL")


@pytest.fixture(scope="module")
def plus():
    running = Running({"MJ_LOCAL_STEP_SECONDS": "0", "MJ_LINK_ALLOW_PRIVATE": "true"})
    yield running
    running.stop()


@pytest.fixture(scope="module")
def image_server():
    body = png_bytes((80, 60), (30, 120, 200))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            if self.path == "/big.png":
                self.send_response(200)
                self.send_header("Content-Length", str(50 * 1024 * 1024))
                self.end_headers()
                return
            self.send_response(200 if self.path == "/a.png" else 404)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def wait(plus: Running, task_id: str) -> dict:
    return plus.wait_for(task_id, lambda task: task["status"] in TERMINAL, timeout=90)


def submit(plus: Running, path: str, body: dict) -> str:
    out = plus.post(path, body).json()
    assert out["code"] in (1, 22), out
    return out["result"]


def test_shorten_over_http(plus):
    task = wait(
        plus, submit(plus, "/mj/submit/shorten", {"prompt": "a very beautiful red fox, 8k"})
    )
    assert task["status"] == "SUCCESS" and "1️⃣ red fox" in task["properties"]["finalPrompt"]
    assert len(task["buttons"]) == 5


def test_image_seed_and_cancel_over_http(plus):
    done = wait(plus, submit(plus, "/mj/submit/imagine", {"prompt": "a lighthouse"}))
    seed = plus.get(f"/mj-relax/mj/task/{done['id']}/image-seed").json()
    assert seed == {"code": 1, "description": "成功", "result": done["seed"], "properties": {}}
    assert plus.post(f"/mj/task/{done['id']}/cancel", None).json()["code"] == 4
    pending = submit(plus, "/mj/submit/imagine", {"prompt": "to be cancelled"})
    out = plus.post(f"/mj/task/{pending}/cancel", None).json()
    # It may have finished already on a fast machine; then cancelling is refused (code 4).
    task = wait(plus, pending)
    if out["code"] == 1:
        assert (task["status"], task["failReason"], task["progress"]) == (
            "CANCEL",
            "取消任务",
            "100%",
        )
    else:
        assert out["code"] == 4 and task["status"] == "SUCCESS"


def test_upload_links_serve_the_image(plus):
    img = png_bytes((40, 40), (10, 200, 10))
    out = plus.post("/mj/submit/upload-discord-images", {"base64Array": [data_url(img)]}).json()
    assert out["code"] == 1 and isinstance(out["result"], list)
    got = requests.get(out["result"][0], timeout=30)
    assert got.status_code == 200 and got.content == img


def test_describe_by_link_over_http(plus, image_server):
    task = wait(plus, submit(plus, "/mj/submit/describe", {"link": f"{image_server}/a.png"}))
    assert task["status"] == "SUCCESS" and task["properties"]["finalPrompt"]
    for link, prefix in ((f"{image_server}/missing.png", "链接图片下载失败: HTTP 404"),
                         (f"{image_server}/big.png", "链接图片下载失败: larger than")):  # fmt: skip
        out = plus.post("/mj/submit/describe", {"link": link}).json()
        assert out["code"] == 4 and out["description"].startswith(prefix), out
    assert (
        plus.post("/mj/submit/describe", {"link": "nope"}).json()["description"] == "链接格式错误"
    )


def test_video_over_http_is_an_mp4(plus, image_server):
    import av

    task = wait(
        plus, submit(plus, "/mj/submit/video", {"prompt": "p", "image": f"{image_server}/a.png"})
    )
    assert task["status"] == "SUCCESS" and task["videoUrls"] == [{"url": task["videoUrl"]}]
    mp4 = requests.get(task["videoUrl"], timeout=30).content
    with av.open(io.BytesIO(mp4)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 48


def test_edits_and_retexture_over_http(plus, image_server):
    for path in ("/mj/submit/edits", "/mj-fast/mj/submit/retexture"):
        body = {"prompt": "a red sunset", "image": f"{image_server}/a.png"}
        task = wait(plus, submit(plus, path, body))
        assert task["status"] == "SUCCESS" and len(task["imageUrls"]) == 4
        assert requests.get(task["imageUrl"], timeout=30).content[:4] == b"\x89PNG"


def test_face_swap_over_http(plus):
    out = plus.post("/mj/insight-face/swap", {"sourceUrl": "x", "targetUrl": "y"}).json()
    assert out["code"] == 4 and out["description"].startswith("服务不支持")


def test_openapi_over_http(plus):
    doc = plus.get("/mj/openapi.json").json()
    assert "/mj/submit/video" in doc["paths"] and "/{mode}/mj/submit/shorten" in doc["paths"]

"""Time to SUCCESS per plus-API endpoint in the local mode, as a client sees it: start
`python -m mjproxy.local` (the `make run` defaults, local provider), submit, poll fetch every
0.1 s until the task ends. Immediate answers (upload, image-seed, cancel) are timed as request
latency. Prints the median and range of N runs per endpoint. Bounded: every wait stops at 90 s.

Run: .venv/bin/python bench/plus_endpoints.py [N]   (N runs per endpoint, default 3)
"""

from __future__ import annotations

import base64
import http.server
import io
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

import requests
from PIL import Image

TIMEOUT = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def png(size=(256, 256), color=(200, 60, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def serve_image(body: bytes) -> str:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/ref.png"


class Local:
    def __init__(self) -> None:
        self.port = free_port()
        env = {**os.environ, "MJ_LINK_ALLOW_PRIVATE": "true", "PYTHONUNBUFFERED": "1"}
        env.pop("AWS_ENDPOINT_URL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mjproxy.local", "--port", str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )  # fmt: skip
        for line in self.proc.stdout:
            if line.strip() == "ready":
                break
        self.base = f"http://127.0.0.1:{self.port}"

    def post(self, path: str, body: dict | None) -> dict:
        return requests.post(self.base + path, json=body, timeout=30).json()

    def until_done(self, task_id: str) -> dict:
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            task = requests.get(f"{self.base}/mj/task/{task_id}/fetch", timeout=30).json()
            if task["status"] in ("SUCCESS", "FAILURE", "CANCEL"):
                return task
            time.sleep(0.1)
        raise SystemExit(f"{task_id} did not finish within {TIMEOUT} s")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def timed_task(local: Local, path: str, body: dict) -> float:
    t = time.perf_counter()
    out = local.post(path, body)
    assert out["code"] in (1, 22), out
    task = local.until_done(out["result"])
    assert task["status"] == "SUCCESS", task
    return time.perf_counter() - t


def timed_call(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def timed_cancel(local: Local) -> float:
    task_id = local.post("/mj/submit/imagine", {"prompt": "to cancel"})["result"]
    elapsed = timed_call(lambda: local.post(f"/mj/task/{task_id}/cancel", None))
    assert local.until_done(task_id)["status"] == "CANCEL"
    return elapsed


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    local = Local()
    link = serve_image(png())
    image = data_url(png())
    try:
        done = local.until_done(local.post("/mj/submit/imagine", {"prompt": "warm-up"})["result"])
        cases = {
            "imagine (baseline)": lambda: timed_task(
                local, "/mj/submit/imagine", {"prompt": "a fox"}
            ),
            "shorten": lambda: timed_task(
                local, "/mj/submit/shorten", {"prompt": "a very beautiful highly detailed fox, 8k"}
            ),
            "describe (base64)": lambda: timed_task(
                local, "/mj/submit/describe", {"base64": image}
            ),
            "describe (link)": lambda: timed_task(local, "/mj/submit/describe", {"link": link}),
            "video (local MP4)": lambda: timed_task(
                local, "/mj/submit/video", {"prompt": "pan", "image": image}
            ),
            "edits": lambda: timed_task(
                local, "/mj/submit/edits", {"prompt": "a red sunset", "image": image}
            ),
            "retexture": lambda: timed_task(
                local, "/mj/submit/retexture", {"prompt": "blue ice", "image": image}
            ),
            "upload-discord-images (answer)": lambda: timed_call(
                lambda: local.post("/mj/submit/upload-discord-images", {"base64Array": [image]})
            ),
            "image-seed (answer)": lambda: timed_call(
                lambda: requests.get(f"{local.base}/mj/task/{done['id']}/image-seed", timeout=30)
            ),
            "cancel -> CANCEL (answer)": lambda: timed_cancel(local),
        }
        print(f"local mode, {runs} runs each (seconds: median [min-max])")
        for name, case in cases.items():
            times = [case() for _ in range(runs)]
            print(
                f"  {name:32s} {statistics.median(times):6.2f}  [{min(times):.2f}-{max(times):.2f}]"
            )
    finally:
        local.stop()


if __name__ == "__main__":
    main()

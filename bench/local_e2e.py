"""End-to-end timing of the local mode as a user sees it: start `python -m mjproxy.local`, submit an
imagine, poll fetch until SUCCESS, then U2 / V1 / R on it. Prints the time to "ready", the submit
latency and the status/progress sequence a client sees. Bounded: every wait gives up after 60 s.

Run: .venv/bin/python bench/local_e2e.py
"""

from __future__ import annotations

import time

import requests
from common import local_mode

TIMEOUT = 60


def wait(base: str, task_id: str) -> tuple[dict, list[tuple[str, str | None]]]:
    seen: list[tuple[str, str | None]] = []
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        task = requests.get(f"{base}/mj/task/{task_id}/fetch", timeout=10).json()
        state = (task["status"], task["progress"])
        if not seen or seen[-1] != state:
            seen.append(state)
        if task["status"] in ("SUCCESS", "FAILURE"):
            return task, seen
        time.sleep(0.1)
    raise SystemExit(f"task {task_id} did not finish within {TIMEOUT} s: {seen}")


def main() -> None:
    started = time.time()
    with local_mode() as base:
        print(f"ready after {time.time() - started:.2f} s")
        t = time.time()
        r = requests.post(
            f"{base}/mj/submit/imagine", json={"prompt": "a red fox in snow --ar 3:2"}, timeout=10
        )
        print(f"submit: {r.text} in {(time.time() - t) * 1000:.0f} ms")
        task, seen = wait(base, r.json()["result"])
        duration = (task["finishTime"] - task["submitTime"]) / 1000
        print(f"imagine: {task['status']} in {duration:.1f} s; statuses seen: {seen}")
        for body in (
            {"action": "UPSCALE", "index": 2},
            {"action": "VARIATION", "index": 1},
            {"action": "REROLL"},
        ):
            out = requests.post(
                f"{base}/mj/submit/change", json={"taskId": task["id"], **body}, timeout=10
            ).json()
            child, _ = wait(base, out["result"])
            image = requests.get(child["imageUrl"], timeout=10)
            print(
                f"{child['description']}: {child['status']}, image {image.headers['Content-Type']}"
                f" {len(image.content)} bytes"
            )


if __name__ == "__main__":
    main()

"""Every button in the local mode (provider `local`), as a web UI presses them: start
`python -m mjproxy.local`, imagine, press each button of the grid, of one upscale and of a describe
result (confirming the modal where the answer is code 21), and print the buttons each kind of
result carries and, per button, the time from the action request to SUCCESS (the task's
finishTime - submitTime, plus the modal confirm for Custom Zoom / Vary (Region)).

Run: .venv/bin/python bench/actions_local.py      (MJ_LOCAL_STEP_SECONDS=0 for the bare cost)
"""

from __future__ import annotations

import base64
import io
import os
import statistics
import time

import requests
from common import local_mode
from PIL import Image

TIMEOUT = 120


def wait(base: str, task_id: str) -> dict:
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        task = requests.get(f"{base}/mj/task/{task_id}/fetch", timeout=10).json()
        if task["status"] in ("SUCCESS", "FAILURE"):
            return task
        time.sleep(0.05)
    raise SystemExit(f"task {task_id} did not finish within {TIMEOUT} s")


def mask_b64() -> str:
    mask = Image.new("L", (32, 32), 0)
    mask.paste(255, (8, 8, 24, 24))
    buf = io.BytesIO()
    mask.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def press(base: str, task: dict, button: dict) -> tuple[dict, float]:
    """Press `button`; returns the finished child and the seconds from request to SUCCESS as
    the client sees it (polling every 50 ms)."""
    t0 = time.time()
    answer = requests.post(
        f"{base}/mj/submit/action",
        json={"taskId": task["id"], "customId": button["customId"]},
        timeout=30,
    ).json()
    if answer["code"] == 21:
        body = {"taskId": answer["result"], "prompt": f"{task['prompt']} --zoom 1.5"}
        if "Inpaint" in button["customId"]:
            body["maskBase64"] = mask_b64()
        answer = requests.post(f"{base}/mj/submit/modal", json=body, timeout=30).json()
    child = wait(base, answer["result"])
    return child, time.time() - t0


def label(button: dict) -> str:
    return button["label"] or button["emoji"]


def main() -> None:
    env = {**os.environ}
    env.pop("AWS_ENDPOINT_URL", None)
    with local_mode(env) as base:
        load = os.getloadavg()[0]
        step = os.environ.get("MJ_LOCAL_STEP_SECONDS", "template default")
        print(f"local mode, provider local, MJ_LOCAL_STEP_SECONDS={step}, load {load:.1f}")
        r = requests.post(f"{base}/mj/submit/imagine", json={"prompt": "a harbour at dawn, boats"})
        grid = wait(base, r.json()["result"])
        print(f"grid buttons:     {' '.join(label(b) for b in grid['buttons'])}")
        rows: list[tuple[str, str, float, str]] = []
        upscale = None
        for b in grid["buttons"]:
            child, secs = press(base, grid, b)
            rows.append(("grid", label(b), secs, child["status"]))
            if child["action"] == "UPSCALE" and upscale is None:
                upscale = child
        assert upscale is not None
        print(f"upscale buttons:  {' | '.join(label(b) for b in upscale['buttons'])}")
        shown: set[str] = set()
        for b in upscale["buttons"]:
            child, secs = press(base, upscale, b)
            rows.append(("upscale", label(b), secs, child["status"]))
            if child["action"] not in shown:  # the buttons of each kind of follow-up result
                shown.add(child["action"])
                print(
                    f"{child['action']} result buttons: {' '.join(label(x) for x in child['buttons'])}"
                )
        png = io.BytesIO()
        Image.new("RGB", (96, 64), (30, 90, 200)).save(png, format="PNG")
        r = requests.post(
            f"{base}/mj/submit/describe",
            json={"base64": "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()},
        )
        described = wait(base, r.json()["result"])
        print(f"describe buttons: {' '.join(label(b) for b in described['buttons'])}")
        for b in described["buttons"]:
            child, secs = press(base, described, b)
            rows.append(("describe", label(b), secs, child["status"]))
        print("\nresult    button               action->SUCCESS  status")
        for kind, name, secs, status in rows:
            print(f"{kind:<9} {name:<20} {secs:>8.2f} s       {status}")
        times = [r[2] for r in rows]
        print(
            f"\n{len(rows)} presses: median {statistics.median(times):.2f} s, "
            f"max {max(times):.2f} s, all SUCCESS: {all(r[3] == 'SUCCESS' for r in rows)}"
        )


if __name__ == "__main__":
    main()

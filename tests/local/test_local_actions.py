"""Local tier: every button of every kind of result pressed over HTTP, as a web UI does it
(`POST /mj/submit/action {taskId, customId}`, then `/mj/submit/modal` where the answer is code 21),
each child reaching SUCCESS with its own buttons (issue 11)."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from .conftest import Running

TIMEOUT = 120  # generous: the machine may be busy; nothing here measures time


def _final(local_system, task_id: str) -> dict:
    task = local_system.wait(task_id, TIMEOUT)[-1]
    assert task["status"] == "SUCCESS", task
    return task


@pytest.fixture(scope="module")
def local_system():
    """A system of its own whose instance runs every press of one result at once (coreSize 16),
    as a user clicking through a result's buttons would start them; the session's system keeps
    the default 3 slots."""
    instances = [{"id": "local-1", "provider": "local", "coreSize": 16, "queueSize": 32}]
    running = Running({"MJ_LOCAL_STEP_SECONDS": "1", "MJ_INSTANCES": json.dumps(instances)})
    yield running
    running.stop()


def _press_all(local_system, task: dict) -> list[dict]:
    """Press every button of `task` at once, then wait for each child to end."""
    ids = [_submit_press(local_system, task, b) for b in task["buttons"]]
    return [_final(local_system, i) for i in ids]


def _submit_press(local_system, task: dict, button: dict) -> str:
    answer = local_system.post(
        "/mj/submit/action", {"taskId": task["id"], "customId": button["customId"]}
    ).json()
    if answer["code"] == 21:  # Custom Zoom, Vary (Region): confirm the window
        assert answer["description"] == "Waiting for window confirm"
        body = {"taskId": answer["result"], "prompt": f"{task['prompt']} --zoom 1.5"}
        if "Inpaint" in button["customId"]:
            mask = Image.new("L", (32, 32), 0)
            mask.paste(255, (8, 8, 24, 24))
            buf = io.BytesIO()
            mask.save(buf, format="PNG")
            body["maskBase64"] = base64.b64encode(
                buf.getvalue()
            ).decode()  # bare, as trueai takes it
        answer = local_system.post("/mj/submit/modal", body).json()
    assert answer["code"] in (1, 22), (button, answer)
    return answer["result"]


def test_every_button_on_every_result_works_over_http(local_system):
    r = local_system.post("/mj/submit/imagine", {"prompt": "a harbour at dawn, boats, mist"})
    grid = _final(local_system, r.json()["result"])
    children = _press_all(local_system, grid)
    assert [c["action"] for c in children] == ["UPSCALE"] * 4 + ["REROLL"] + ["VARIATION"] * 4
    upscale = next(c for c in children if c["action"] == "UPSCALE")
    assert len(upscale["buttons"]) == 15  # with Animate (High/Low motion): local renders video
    for b, child in zip(upscale["buttons"], _press_all(local_system, upscale), strict=True):
        assert child["buttons"], (b, child)
        assert child["imageUrl"]
    png = io.BytesIO()
    Image.new("RGB", (48, 32), (200, 120, 40)).save(png, format="PNG")
    described = _final(
        local_system,
        local_system.post(
            "/mj/submit/describe",
            {"base64": "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()},
        ).json()["result"],
    )
    for child in _press_all(local_system, described):
        assert child["action"] in ("IMAGINE", "DESCRIBE")

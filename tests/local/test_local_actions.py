"""Local tier: every button of every kind of result pressed over HTTP, as a web UI does it
(`POST /mj/submit/action {taskId, customId}`, then `/mj/submit/modal` where the answer is code 21),
each child reaching SUCCESS with its own buttons (issue 11)."""

from __future__ import annotations

import base64
import io

from PIL import Image

TIMEOUT = 120  # generous: the machine may be busy; nothing here measures time


def _final(local_system, task_id: str) -> dict:
    task = local_system.wait(task_id, TIMEOUT)[-1]
    assert task["status"] == "SUCCESS", task
    return task


def _press(local_system, task: dict, button: dict) -> dict:
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
    return _final(local_system, answer["result"])


def test_every_button_on_every_result_works_over_http(local_system):
    r = local_system.post("/mj/submit/imagine", {"prompt": "a harbour at dawn, boats, mist"})
    grid = _final(local_system, r.json()["result"])
    children = {b["customId"]: _press(local_system, grid, b) for b in grid["buttons"]}
    assert [c["action"] for c in children.values()] == (
        ["UPSCALE"] * 4 + ["REROLL"] + ["VARIATION"] * 4
    )
    upscale = next(c for c in children.values() if c["action"] == "UPSCALE")
    assert len(upscale["buttons"]) == 15  # with Animate (High/Low motion): local renders video
    for b in upscale["buttons"]:
        child = _press(local_system, upscale, b)
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
    for b in described["buttons"]:
        child = _press(local_system, described, b)
        assert child["action"] in ("IMAGINE", "DESCRIBE")

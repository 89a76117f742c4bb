"""Issue 11 on `midjourney`, against the simulator (its components take the peers' shapes:
sim/mjsim/formats.py, trueai CustomComponentModel.cs): a result's `buttons` are exactly the
pressable components of the Discord message Midjourney answered with, in its order, link
buttons left out, and a press is checked against the hash those buttons carry."""

from __future__ import annotations

import pytest

from mjproxy.store.tasks import TaskRepository
from sim.mjsim import formats
from tests.integration.midjourney.test_midjourney import change, imagine, sim_job
from tests.scenarios import fetch, run_to_end


def discord_buttons(mj, task_id: str) -> list[dict]:
    """The buttons of the task's result message as Discord holds it."""
    job = sim_job(mj, task_id)
    msg = mj.sim.messages[mj.account.channel_id][job.final_message_id]
    return [c for row in msg["components"] for c in row["components"]]


def as_protocol(components: list[dict]) -> list[dict]:
    return [
        {"customId": c["custom_id"], "emoji": (c.get("emoji") or {}).get("name", ""),
         "label": c.get("label", ""), "style": c["style"], "type": 2}
        for c in components if c.get("style") != 5
    ]  # fmt: skip


@pytest.mark.parametrize("current", [False, True], ids=["2024", "current"])
def test_grid_and_upscale_show_the_buttons_midjourney_attached(mj, current):
    # today's Midjourney adds a "Web" link button (style 5) to every result
    mj.sim.message_format = formats.CURRENT if current else formats.LEGACY
    grid_id = imagine(mj, "a lighthouse in a storm")
    grid = run_to_end(mj, grid_id)
    on_discord = discord_buttons(mj, grid_id)
    assert any(c.get("style") == 5 for c in on_discord) == current
    assert grid["buttons"] == as_protocol(on_discord)
    assert [b["label"] or b["emoji"] for b in grid["buttons"]] == [
        "U1", "U2", "U3", "U4", "🔄", "V1", "V2", "V3", "V4"
    ]  # fmt: skip

    up_id = change(mj, grid_id, "UPSCALE", 2)
    up = run_to_end(mj, up_id)
    assert up["status"] == "SUCCESS", up
    assert up["buttons"] == as_protocol(discord_buttons(mj, up_id))
    labels = {b["label"] for b in up["buttons"]}
    assert {"Upscale (Subtle)", "Vary (Strong)", "Zoom Out 2x", "Custom Zoom"} <= labels
    # every button names the upscale's own job, the hash /submit/action checks a press against
    job = sim_job(mj, up_id)
    assert all(job.id in b["customId"] for b in up["buttons"])
    assert TaskRepository().get(up_id).properties["messageHash"] == job.id


def test_a_button_of_another_result_is_refused(mj):
    first = run_to_end(mj, imagine(mj, "a red fox"))
    second_id = imagine(mj, "a blue whale")
    run_to_end(mj, second_id)
    foreign = first["buttons"][0]["customId"]
    answer = mj.post("/mj/submit/action", {"taskId": second_id, "customId": foreign}).json()
    assert answer["code"] == 4 and answer["description"] == "参数错误: customId不属于该任务"
    assert answer.get("result") is None
    assert fetch(mj, second_id)["status"] == "SUCCESS"

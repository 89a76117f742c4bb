"""Issue 11 on `midjourney`, against the simulator (its components take the peers' shapes:
sim/mjsim/formats.py, trueai CustomComponentModel.cs): a result's `buttons` are exactly the
pressable components of the Discord message Midjourney answered with, in its order, link
buttons left out, and a press is checked against the hash those buttons carry."""

from __future__ import annotations

import pytest

from mjproxy.store.tasks import TaskRepository
from sim.mjsim import formats
from tests.integration.midjourney.test_midjourney import change, imagine, sim_job, stored
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
    modal = ("MJ::CustomZoom::", "MJ::Inpaint::")
    expected = [
        b for b in as_protocol(discord_buttons(mj, up_id)) if not b["customId"].startswith(modal)
    ]
    assert up["buttons"] == expected
    labels = {b["label"] for b in up["buttons"]}
    assert {"Upscale (Subtle)", "Vary (Strong)", "Zoom Out 2x"} <= labels
    # Discord modals: Custom Zoom's reaches only the gateway listener (none here, REST-poll
    # mode: test_modals.py has it), Vary (Region)'s iframe editor is not supported
    assert not labels & {"Custom Zoom", "Vary (Region)"}
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


def press(mj, task_id: str, custom_id: str) -> str:
    answer = mj.post("/mj/submit/action", {"taskId": task_id, "customId": custom_id}).json()
    assert answer["code"] in (1, 22), answer
    return answer["result"]


def an_upscale(mj, prompt: str = "a lighthouse in a storm") -> dict:
    grid_id = imagine(mj, prompt)
    run_to_end(mj, grid_id)
    return run_to_end(mj, change(mj, grid_id, "UPSCALE", 1))


def button(task: dict, label: str = "", emoji: str = "") -> str:
    return next(
        b["customId"] for b in task["buttons"]
        if (label and b["label"] == label) or (emoji and b["emoji"] == emoji)
    )  # fmt: skip


# the result message each press answers with (sim/mjsim/core.py, from trueai
# MjMessageParser.cs:33-85): (sim job kind, the text before "by", action, buttons on the result)
PRESSES = {
    "Upscale (Subtle)": ("upscale_hd", "Upscaled (Subtle)", "UPSCALE_HD", "Vary (Subtle)"),
    "Upscale (Creative)": ("upscale_hd", "Upscaled (Creative)", "UPSCALE_HD", "Vary (Strong)"),
    "Vary (Subtle)": ("variation", "Variations (Subtle)", "VARIATION", "U1"),
    "Vary (Strong)": ("variation", "Variations (Strong)", "VARIATION", "U1"),
    "Zoom Out 2x": ("zoom", "Zoom Out", "ZOOM", "U1"),
    "Zoom Out 1.5x": ("zoom", "Zoom Out", "ZOOM", "U1"),
}


@pytest.mark.parametrize("label", list(PRESSES))
def test_pressing_an_upscales_button_sends_that_component_and_binds_its_result(mj, label):
    up = an_upscale(mj)
    custom = button(up, label)
    child_id = press(mj, up["id"], custom)
    child = run_to_end(mj, child_id)
    kind, by, action, follow_up = PRESSES[label]
    assert child["status"] == "SUCCESS", child
    assert child["action"] == action
    job = sim_job(mj, child_id)
    # the simulator accepts only a custom_id that is on the message (Component validation)
    assert job.kind == kind and job.by == by
    assert job.parent_message_id == up["properties"]["messageId"]
    assert (child["imageUrls"] is None) == (kind == "upscale_hd")  # one image vs a grid
    assert follow_up in {b["label"] for b in child["buttons"]}
    assert all(job.id in b["customId"] for b in child["buttons"])


def test_the_four_pans_pressed_at_once_each_get_their_own_direction(mj):
    up = an_upscale(mj, "a harbour at dawn")
    children = {
        d: press(mj, up["id"], button(up, emoji=e))
        for d, e in (("left", "⬅️"), ("right", "➡️"), ("up", "⬆️"), ("down", "⬇️"))
    }
    mj.drain()
    for direction, child_id in children.items():
        child = fetch(mj, child_id)
        assert child["status"] == "SUCCESS" and child["action"] == "PAN", child
        assert sim_job(mj, child_id).by == f"Pan {direction.capitalize()}"
        assert len(child["imageUrls"]) == 4


def test_reroll_on_an_upscale_and_both_zooms_at_once(mj):
    up = an_upscale(mj, "a quiet library")
    ids = [press(mj, up["id"], button(up, label)) for label in ("Zoom Out 2x", "Zoom Out 1.5x")]
    ids.append(press(mj, up["id"], button(up, emoji="🔄")))
    mj.drain()
    zoom2, zoom15, reroll = (fetch(mj, i) for i in ids)
    assert [t["status"] for t in (zoom2, zoom15, reroll)] == ["SUCCESS"] * 3
    assert (zoom2["action"], zoom15["action"], reroll["action"]) == ("ZOOM", "ZOOM", "REROLL")
    # each task holds the image of the job its own press started (its nonce), not a sibling's
    kinds = [sim_job(mj, i).kind for i in ids]
    assert kinds == ["zoom", "zoom", "reroll"]
    for task_id in ids:
        assert stored(task_id) == sim_job(mj, task_id).image


def test_a_hand_made_custom_zoom_without_the_listener_is_refused_with_a_reason(mj):
    up = an_upscale(mj, "a mountain lake")
    job = sim_job(mj, up["id"])
    answer = mj.post(
        "/mj/submit/action", {"taskId": up["id"], "customId": f"MJ::CustomZoom::1::{job.id}"}
    ).json()
    assert answer["code"] == 4 and answer.get("result") is None, answer
    assert answer["description"] == (
        "当前账号不支持该操作: Custom Zoom opens a Discord modal, which only the gateway "
        "listener receives: run mjproxy-gateway for this account (docs/midjourney.md)"
    )
    assert mj.sim.count("interactions") == 2  # imagine and U1: the button was never pressed

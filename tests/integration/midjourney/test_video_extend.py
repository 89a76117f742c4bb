"""A video's U1..U4 and Extend on `midjourney`, against the simulator (sim/mjsim/video.py,
modals.py; shapes and sources in tests/fixtures/midjourney/video.json): a U<n> press gives that
one clip with Midjourney's Extend buttons; `/mj/submit/video {"action":"extend"}` is one VIDEO
task through trueai's three Discord steps (video U, the Extend button of its answer, the Remix
window); without the gateway listener or Remix mode the submit answers code 4 at once."""

from __future__ import annotations

from collections import Counter

import pytest
from moto import mock_aws

from tests.integration.midjourney.conftest import make_system
from tests.integration.midjourney.test_midjourney import sim_job
from tests.integration.midjourney.test_modals import remix_mj, windows  # noqa: F401
from tests.integration.midjourney.test_video import IMAGE, video_env
from tests.integration.test_plus_video import code_desc, mp4_of
from tests.scenarios import fetch, run_to_end, submit_ok

NEEDS_GATEWAY = (
    "服务不支持: 视频延展 (extend): Video extend opens a Discord modal, which only the gateway "
    "listener receives: run mjproxy-gateway for this account (docs/midjourney.md)"
)


def a_video(mj, prompt: str = "a red fox runs") -> dict:
    return run_to_end(mj, submit_ok(mj, "/mj/submit/video", {"prompt": prompt, "image": IMAGE}))


def extend_body(video: dict, **extra) -> dict:
    return {"action": "extend", "taskId": video["id"], "prompt": "the fox jumps", **extra}


def test_a_videos_u_press_gives_that_clip_with_midjourneys_extend_buttons(remix_mj, monkeypatch):  # noqa: F811
    video_env(monkeypatch)
    video = a_video(remix_mj)
    job = sim_job(remix_mj, video["id"]).id
    assert video["buttons"] == [
        {"customId": f"MJ::JOB::video_virtual_upscale::{i}::{job}", "emoji": "", "label": f"U{i}",
         "style": 2, "type": 2} for i in range(1, 5)
    ]  # fmt: skip
    before = remix_mj.sim.count("interactions", "POST")
    up_id = submit_ok(remix_mj, "/mj/submit/action",
                      {"taskId": video["id"], "customId": video["buttons"][1]["customId"]})  # fmt: skip
    up = run_to_end(remix_mj, up_id)

    # trueai SubmitController.cs:539-556: an UPSCALE task of index 2, its result the clip
    assert (up["action"], up["status"], up["parentId"]) == ("UPSCALE", "SUCCESS", video["id"]), up
    assert remix_mj.sim.count("interactions", "POST") == before + 1
    assert mp4_of(up["videoUrl"]) == remix_mj.sim.clips[f"/video/{job}/0_1.mp4"]
    assert len(up["videoUrls"]) == 1 and up["imageUrl"]
    assert [(b["label"], b["customId"]) for b in up["buttons"]] == [
        ("Extend (High motion)", f"MJ::JOB::animate_high_extend::2::{job}"),
        ("Extend (Low motion)", f"MJ::JOB::animate_low_extend::2::{job}"),
    ]
    assert up["properties"]["messageHash"] == job  # what the Extend press is checked against


def test_extend_pressed_on_an_upscaled_video_answers_the_animate_window(remix_mj, monkeypatch):  # noqa: F811
    video_env(monkeypatch)
    video = a_video(remix_mj)
    job = sim_job(remix_mj, video["id"]).id
    up = run_to_end(remix_mj, submit_ok(remix_mj, "/mj/submit/action", {
        "taskId": video["id"], "customId": video["buttons"][0]["customId"]}))  # fmt: skip
    task_id = submit_ok(remix_mj, "/mj/submit/action",
                        {"taskId": up["id"], "customId": up["buttons"][1]["customId"]})  # fmt: skip
    task = run_to_end(remix_mj, task_id)

    assert (task["action"], task["status"]) == ("VIDEO", "SUCCESS"), task
    assert windows(remix_mj) == [(f"MJ::AnimateModal::{job}::1::low::1", video["prompt"])]
    extended = sim_job(remix_mj, task_id)
    assert extended.parent_message_id == up["properties"]["messageId"]
    assert len(task["videoUrls"]) == 4
    assert mp4_of(task["videoUrls"][3]["url"]) == remix_mj.sim.clips[f"/video/{extended.id}/0_3.mp4"]


def test_submit_video_extend_is_one_task_through_three_discord_steps(remix_mj, monkeypatch):  # noqa: F811
    from mjproxy.providers.midjourney.extend import animate_modal_id

    video_env(monkeypatch)
    video = a_video(remix_mj)
    job = sim_job(remix_mj, video["id"]).id
    sim = remix_mj.sim
    t0, calls0, presses0 = sim.now(), len(sim.calls), sim.count("interactions", "POST")
    task_id = submit_ok(remix_mj, "/mj/submit/video", extend_body(video, index=2, motion="high"))
    seen = [fetch(remix_mj, task_id)["status"]]
    while seen[-1] not in ("SUCCESS", "FAILURE"):
        assert remix_mj.deliver_once() > 0, seen
        status = fetch(remix_mj, task_id)["status"]
        if status != seen[-1]:
            seen.append(status)
    task = fetch(remix_mj, task_id)

    assert seen[seen.index("SUBMITTED"):] == ["SUBMITTED", "IN_PROGRESS", "SUCCESS"], seen
    assert (task["action"], task["parentId"], task["description"]) == (
        "VIDEO", video["id"], "/video extend")  # fmt: skip
    # 1. video U3 of the video, 2. its answer's Extend (High motion), 3. the Remix window
    pressed = presses(sim)[-2:]
    assert pressed == [f"MJ::JOB::video_virtual_upscale::3::{job}",
                       f"MJ::JOB::animate_high_extend::3::{job}"]  # fmt: skip
    assert windows(remix_mj) == [(animate_modal_id(pressed[1]), "the fox jumps")]
    assert animate_modal_id(pressed[1]) == f"MJ::AnimateModal::{job}::3::high::1"
    assert sim.count("interactions", "POST") - presses0 == 3
    extended = sim_job(remix_mj, task_id)
    assert extended.prompt == "the fox jumps --video 1 --motion high"
    assert task["progress"] == "100%" and len(task["videoUrls"]) == 4
    assert mp4_of(task["videoUrl"]) == sim.clips[f"/video/{extended.id}/0_0.mp4"]
    assert [b["customId"] for b in task["buttons"]][0] == (
        f"MJ::JOB::video_virtual_upscale::1::{extended.id}")  # it can be extended again
    routes = Counter(f"{c.method} {c.route}" for c in sim.calls[calls0:])
    print(f"\nextend: {sim.now() - t0:g} simulated s, {sum(routes.values())} calls: {routes}")


def presses(sim) -> list[str]:
    """The custom_ids of the buttons pressed on the simulator, in order."""
    return [e["custom_id"] for e in sim.log if e["event"] == "press"]


def test_an_answer_without_the_extend_button_fails_with_trueais_reason(remix_mj, monkeypatch):  # noqa: F811
    import mjsim.video

    video_env(monkeypatch)
    video = a_video(remix_mj)
    only_high = mjsim.video.extend_row

    def high_only(video_job: str, n: int) -> dict:
        row = only_high(video_job, n)
        return {**row, "components": row["components"][:1]}

    monkeypatch.setattr(mjsim.video, "extend_row", high_only)
    task = run_to_end(remix_mj, submit_ok(
        remix_mj, "/mj/submit/video", extend_body(video, motion="low")))  # fmt: skip
    assert task["status"] == "FAILURE" and task["failReason"] == "找不到 extend 按钮 (motion: low)"
    assert windows(remix_mj) == []


def test_without_the_gateway_listener_extend_is_refused_at_once(monkeypatch, sim):
    from mjproxy.providers.midjourney import commands, http

    account = sim.add_account()
    account.remix = True
    with mock_aws():
        rest = make_system(monkeypatch, sim, [sim.instance_config(account, coreSize=3, remix=True)])
        video = a_video(rest)
        presses = sim.count("interactions")
        r = rest.post("/mj/submit/video", extend_body(video))
        assert code_desc(r) == (4, NEEDS_GATEWAY) and r.json().get("result") is None
        assert sim.count("interactions") == presses  # nothing sent
    http.set_transport(None)
    commands.clear_cache()


@pytest.mark.parametrize("index", [-1, 4])
def test_an_index_outside_the_batch_is_refused(remix_mj, index):  # noqa: F811
    video = a_video(remix_mj)
    r = remix_mj.post("/mj/submit/video", extend_body(video, index=index))
    assert code_desc(r) == (4, "index参数错误，应为0-3")


def test_a_window_that_never_comes_ends_the_task_at_its_timeout(remix_mj, monkeypatch):  # noqa: F811
    import mjsim.modals
    from mjproxy.domain import codes
    from mjproxy.sweeper import Sweeper

    video_env(monkeypatch)
    video = a_video(remix_mj)
    monkeypatch.setattr(mjsim.modals, "_show", lambda *a, **kw: None)  # Midjourney stays silent
    task_id = submit_ok(remix_mj, "/mj/submit/video", extend_body(video))
    remix_mj.drain()
    waiting = fetch(remix_mj, task_id)
    assert waiting["status"] == "IN_PROGRESS" and len(presses(remix_mj.sim)) == 2  # U, Extend
    started = int(waiting["startTime"])
    assert Sweeper(clock=lambda: started + 5 * 60_000).run().timed_out == []
    assert Sweeper(clock=lambda: started + 5 * 60_000 + 1).run().timed_out == [task_id]
    task = fetch(remix_mj, task_id)
    assert (task["status"], task["failReason"]) == ("FAILURE", codes.TIMEOUT_REASON)

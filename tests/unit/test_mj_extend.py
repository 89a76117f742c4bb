"""A video's U<n> and Extend on `midjourney` (providers/midjourney/extend.py, video.py) on the
fixture corpus (tests/fixtures/midjourney/video.json and modals.json, each naming its trueai
source): the U answer is told apart and found, its Extend button taken from it, the window
answered with the extend prompt under the id trueai builds."""

from __future__ import annotations

import json
from pathlib import Path

from mjproxy.actions import parse
from mjproxy.domain.task import Task, TaskAction, TaskStatus
from mjproxy.providers.midjourney import extend, video
from mjproxy.providers.midjourney import matcher as m
from mjproxy.providers.midjourney.messages import Message
from mjproxy.providers.midjourney.modals import ModalCreate, answer

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "midjourney"
VIDEO = {f["name"]: f for f in json.loads((CORPUS / "video.json").read_text())}
MODALS = {f["name"]: f for f in json.loads((CORPUS / "modals.json").read_text())}
U_ANSWER = VIDEO["video U answer with the extend buttons"]
WINDOW = MODALS["animate modal of a video extend"]
JOB = "e7321c76-becf-473b-b14d-32b846dc70ad"
VIDEO_MESSAGE = "1300000000000000950"


def _extend_task(stage: str = extend.UPSCALE, motion: str = "high") -> Task:
    parent = Task(id="1717401234567001", action=TaskAction.VIDEO, status=TaskStatus.SUCCESS,
                  properties={"messageId": VIDEO_MESSAGE, "messageHash": JOB, "flags": 0})  # fmt: skip
    t = Task(id="1717401234567002", action=TaskAction.VIDEO, status=TaskStatus.SUBMITTED,
             prompt="the cat jumps", promptEn="the cat jumps", parentId=parent.id,
             properties={"nonce": "1248060123456789700"})  # fmt: skip
    t.providerState = {"motion": motion, "sentAt": 1, "interactionId": "1300000000000000959"}
    extend.prepare(t, parent, 3)
    t.providerState[extend.STATE]["stage"] = stage
    return t


def test_the_families_parse_trueais_ids():
    spec = parse(f"MJ::JOB::video_virtual_upscale::3::{JOB}")
    assert spec is not None and spec.family.name == "video_upscale" and spec.index == 3
    assert spec.family.action == TaskAction.UPSCALE and "video" in spec.family.on
    ext = parse(U_ANSWER["expect"]["extend"]["low"])
    assert ext is not None and ext.family.name == "animate_extend" and ext.motion == "low"


def test_the_u_answer_is_a_finished_clip_with_its_extend_buttons():
    msg = Message(U_ANSWER["d"])
    event = m.classify(msg)
    assert event.kind == U_ANSWER["expect"]["event"] and event.image_url
    assert video.is_upscaled_video(msg) and video.is_video_result(event)
    assert not video.is_upscaled_video(Message(VIDEO["video job finished"]["d"]))
    for motion, custom_id in U_ANSWER["expect"]["extend"].items():
        assert extend.extend_button(msg, motion) == custom_id


def test_the_u_answer_goes_to_the_u_task_and_holds_the_clip_and_the_buttons_hash():
    u = Task(id="1717401234567003", action=TaskAction.UPSCALE, status=TaskStatus.SUBMITTED,
             parentId="1717401234567001", index=4,
             customId=f"MJ::JOB::video_virtual_upscale::4::{JOB}",
             properties={"referencedMessageId": VIDEO_MESSAGE})  # fmt: skip
    u.providerState = {"sentAt": 1}
    event, found = m.match(Message(U_ANSWER["d"]), [m.Candidate.of(u)])
    assert found is not None and found.task.id == u.id  # by the message it replies to
    out = video.video_outcome(event, u, found, b"mp4", b"png", [], video.video_job(event))
    assert (out.kind, out.result) == ("done", "video") and out.more_videos == ()
    assert [b["customId"] for b in out.buttons] == list(U_ANSWER["expect"]["extend"].values())
    # the buttons' hash, not the attachment's (trueai :4104-4106)
    assert out.properties["messageHash"] == U_ANSWER["expect"]["message_hash"]


def test_step_two_keeps_the_task_running_and_hands_the_extend_press_to_the_worker():
    task = _extend_task(motion="low")
    assert extend.target(task, None)[2] == f"MJ::JOB::video_virtual_upscale::4::{JOB}"
    out = extend.upscaled(Message(U_ANSWER["d"]), task)
    assert out is not None and (out.kind, out.progress, out.delay) == ("progress", "0%", 0)
    ext = out.state[extend.STATE]
    assert ext["stage"] == extend.PRESS
    assert ext["customId"] == U_ANSWER["expect"]["extend"]["low"]
    assert (ext["messageId"], out.properties["referencedMessageId"]) == (U_ANSWER["d"]["id"],) * 2
    assert out.state["sentAt"] is None and out.state["interactionId"] is None  # a fresh job
    task.providerState.update(out.state)
    assert extend.target(task, None) == (U_ANSWER["d"]["id"], 0, ext["customId"])
    assert extend.upscaled(Message(U_ANSWER["d"]), task) is None  # delivered again: nothing


def test_no_extend_button_for_the_motion_fails_with_trueais_reason():
    d = dict(U_ANSWER["d"], components=[{"type": 1, "components": U_ANSWER["d"]["components"][0][
        "components"][:1]}])  # fmt: skip
    out = extend.upscaled(Message(d), _extend_task(motion="low"))
    assert out is not None and out.kind == "failed"
    assert out.fail_reason == "找不到 extend 按钮 (motion: low)"


def test_the_window_is_answered_with_the_extend_prompt_under_trueais_id():
    exp = WINDOW["expect"]
    assert extend.animate_modal_id(exp["extend_custom_id"]) == exp["submit_custom_id"]
    task = _extend_task(stage=extend.PRESS)
    modal = ModalCreate.of(WINDOW["d"])
    assert answer(modal, task) == (exp["submit_custom_id"], exp["input_id"], "the cat jumps")
    zoom = ModalCreate.of(MODALS["custom zoom modal create"]["d"])
    assert isinstance(answer(zoom, task), str)  # not the window this task waits for

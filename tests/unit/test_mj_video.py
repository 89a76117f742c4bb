"""The midjourney provider's video pieces (providers/midjourney/video.py) on the fixture corpus
(tests/fixtures/midjourney/video.json, each naming its trueai source): what /imagine is sent,
how a video job's messages are read and found, and what the finished task holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mjproxy.domain.task import Task, TaskAction, TaskStatus
from mjproxy.providers.midjourney import matcher as m
from mjproxy.providers.midjourney import video
from mjproxy.providers.midjourney.messages import Message

FIXTURES = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures/midjourney/video.json").read_text()
)
BY_NAME = {f["name"]: f for f in FIXTURES}
JOB = "e7321c76-becf-473b-b14d-32b846dc70ad"


def _task(action: TaskAction, task_id: str, sent: str, **state) -> Task:
    t = Task(id=task_id, action=action, status=TaskStatus.SUBMITTED, prompt="cat", promptEn="cat")
    t.providerState = {"sentAt": 1, "prompt": sent, **state}
    return t


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f["name"] for f in FIXTURES])
def test_video_messages_classify_as_the_source_says(fixture):
    event = m.classify(Message(fixture["d"]))
    exp = fixture["expect"]
    assert event.kind == exp["event"]
    for key in ("prompt", "progress"):
        if key in exp:
            assert getattr(event, key) == exp[key]


def test_a_video_answer_goes_to_the_video_task_not_an_imagine_of_the_same_prompt():
    sent = "https://s.mj.run/pnvVhedeTbw cat --fast"
    imagine = _task(TaskAction.IMAGINE, "1717401234567001", sent)
    vid = _task(TaskAction.VIDEO, "1717401234567002", sent + " --video 1 --aspect 1:1")
    cands = [m.Candidate.of(imagine), m.Candidate.of(vid)]
    for name in ("video job progress", "video job finished"):
        event, found = m.match(Message(BY_NAME[name]["d"]), cands)
        assert found is not None and found.task.id == vid.id, name


def test_the_finished_video_holds_the_clips_the_job_and_its_video_u_buttons_only():
    event = m.classify(Message(BY_NAME["video job finished"]["d"]))
    task = _task(TaskAction.VIDEO, "1717401234567002", "cat --video 1")
    assert video.video_job(event) == JOB
    urls = video.clip_urls(JOB, event.prompt)
    exp = BY_NAME["video job finished"]["expect"]["clips"]
    assert len(urls) == 4 and (urls[0], urls[3]) == tuple(exp)
    out = video.video_outcome(event, task, m.Candidate.of(task), b"mp4", b"png", urls[1:], JOB)
    assert (out.kind, out.result, out.video, out.image) == ("done", "video", b"mp4", b"png")
    assert out.more_videos == tuple(urls[1:])
    assert out.properties["messageHash"] == JOB
    # the video U1..U4 (trueai TaskInfo.cs:1110-1130); not 🔄, whose task would be a REROLL
    assert [(b["label"], b["customId"]) for b in out.buttons] == [
        (f"U{i}", f"MJ::JOB::video_virtual_upscale::{i}::{JOB}") for i in range(1, 5)
    ]
    assert out.properties["finalPrompt"] == event.prompt


def test_batch_size_in_the_prompt_limits_the_clips():
    assert len(video.clip_urls(JOB, "cat --video 1 --bs 2")) == 2


def test_video_prompt_as_trueai_builds_it():
    task = Task(id="1", action=TaskAction.VIDEO, status=TaskStatus.NOT_START)
    task.providerState = {"motion": "high", "loop": False, "endImage": True}
    urls = ["https://cdn/start.png", "https://cdn/end.png"]
    assert video.video_prompt(task, "https://cdn/start.png cat --fast", urls) == (
        "https://cdn/start.png cat --fast --video 1 --end https://cdn/end.png --motion high"
    )
    task.providerState = {"motion": "low", "loop": True, "endImage": False}
    assert video.video_prompt(task, "u cat", urls[:1]) == "u cat --video 1 --end loop --motion low"
    # what the user wrote stays
    assert video.video_prompt(task, "u cat --motion high", []) == (
        "u cat --motion high --video 1 --end loop"
    )

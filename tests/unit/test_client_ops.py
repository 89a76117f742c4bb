"""mjclient's behaviour without a network: each operation is driven with scripted replies shaped
like this project's answers (wire.py envelope, Task JSON; plus-api.md §2.1.2 for the modal)."""

from __future__ import annotations

import itertools
import json
import random

import pytest

from mjclient import (
    AuthError,
    BannedPromptError,
    ButtonNotFound,
    HttpError,
    NotFoundError,
    QueueFullError,
    TaskFailed,
    TransportError,
    ValidationError,
    WaitTimeout,
)
from mjclient.models import Task
from mjclient.ops import Call, Ops, Policy, Reply, Sleep

GRID = [
    {"customId": "MJ::JOB::upsample::1::abc", "label": "U1", "emoji": "", "type": 2, "style": 2},
    {
        "customId": "MJ::JOB::reroll::0::abc::SOLO",
        "label": "",
        "emoji": "🔄",
        "type": 2,
        "style": 2,
    },
    {
        "customId": "MJ::CustomZoom::abc",
        "label": "Custom Zoom",
        "emoji": "🔍",
        "type": 2,
        "style": 2,
    },
    {"customId": "MJ::JOB::high_variation::1::abc::SOLO", "label": "Vary (Strong)", "emoji": ""},
]


def reply(body, status: int = 200, **headers: str) -> Reply:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Reply(status, {k.replace("_", "-"): v for k, v in headers.items()}, raw)


def envelope(code: int, description: str = "提交成功", result="1", **props) -> Reply:
    return reply({"code": code, "description": description, "result": result, "properties": props})


def task_json(status: str = "SUCCESS", progress: str = "100%", **extra) -> dict:
    return {"id": "1", "action": "IMAGINE", "status": status, "progress": progress, **extra}


class Script:
    """Plays an operation against a list of replies (or exceptions); records calls and sleeps."""

    def __init__(self, *replies) -> None:
        self.replies = list(replies)
        self.calls: list[Call] = []
        self.sleeps: list[float] = []

    def run(self, op):
        send, error = None, None
        while True:
            try:
                step = op.throw(error) if error else op.send(send)
            except StopIteration as stop:
                return stop.value
            send, error = None, None
            if isinstance(step, Sleep):
                self.sleeps.append(step.seconds)
                continue
            self.calls.append(step)
            nxt = self.replies.pop(0)
            if isinstance(nxt, Exception):
                error = nxt
            else:
                send = nxt


def ops() -> Ops:
    return Ops(Policy(rng=random.Random(7)))


def test_429_is_retried_after_the_servers_retry_after_then_succeeds():
    script = Script(reply(b"", 429, retry_after="2"), envelope(1, result="42"))
    submitted = script.run(ops().imagine("a fox"))
    assert submitted.task_id == "42"
    assert script.sleeps == [2.0]
    assert len(script.calls) == 2


def test_5xx_and_connection_errors_back_off_exponentially_then_give_up():
    script = Script(TransportError("refused"), *[reply(b"oops", 503)] * 5)
    with pytest.raises(HttpError) as info:
        script.run(ops().fetch("1"))
    assert info.value.status == 503
    # four retries, each within its doubling cap (full jitter)
    assert len(script.sleeps) == 4
    assert all(0 <= s <= 0.5 * 2**n for n, s in enumerate(script.sleeps))


def test_401_raises_auth_error_without_retrying():
    script = Script(reply(b"", 401))
    with pytest.raises(AuthError):
        script.run(ops().accounts())
    assert script.sleeps == []


@pytest.mark.parametrize(
    ("code", "description", "error"),
    [
        (4, "prompt不能为空", ValidationError),
        (23, "队列已满，请稍后尝试", QueueFullError),
        (24, "可能包含敏感词", BannedPromptError),
    ],
)
def test_each_refusal_code_raises_its_own_exception(code, description, error):
    with pytest.raises(error) as info:
        Script(envelope(code, description, result=None)).run(ops().imagine("x"))
    assert info.value.code == code and info.value.description == description


def test_code_22_is_accepted_and_reports_the_queue():
    submitted = Script(envelope(22, "排队中，前面还有2个任务", numberOfQueues=2)).run(
        ops().imagine("x")
    )
    assert submitted.queued_ahead == 2


def test_press_by_label_sends_the_buttons_custom_id():
    script = Script(reply(task_json(buttons=GRID)), envelope(1, result="2"))
    submitted = script.run(ops().press("1", "vary  (STRONG)"))
    assert submitted.task_id == "2"
    assert script.calls[1].url == "/mj/submit/action"
    assert script.calls[1].json == {
        "taskId": "1",
        "customId": "MJ::JOB::high_variation::1::abc::SOLO",
    }


def test_press_of_a_modal_button_submits_the_modal_with_the_prompt():
    script = Script(
        reply(task_json(buttons=GRID)),
        envelope(21, "Waiting for window confirm", result="3"),
        envelope(1, result="3"),
    )
    submitted = script.run(ops().press("1", "Custom Zoom", prompt="a fox --zoom 1.5"))
    assert submitted.task_id == "3"
    assert script.calls[2].url == "/mj/submit/modal"
    assert script.calls[2].json == {"taskId": "3", "prompt": "a fox --zoom 1.5"}


def test_press_falls_back_to_change_where_the_action_route_is_missing():
    gateway_missing = reply({"message": "Missing Authentication Token"}, 403)
    script = Script(reply(task_json(buttons=GRID)), gateway_missing, envelope(1, result="4"))
    script.run(ops().press("1", "🔄"))
    assert script.calls[2].url == "/mj/submit/change"
    assert script.calls[2].json == {"taskId": "1", "action": "REROLL"}


def test_press_of_an_unknown_label_lists_what_the_task_offers():
    with pytest.raises(ButtonNotFound) as info:
        Script(reply(task_json(buttons=GRID))).run(ops().press("1", "Zoom Out 2x"))
    assert info.value.available == ["U1", "Reroll", "Custom Zoom", "Vary (Strong)"]


def test_wait_reports_each_change_once_and_polls_with_jitter():
    seen: list[Task] = []
    script = Script(
        reply(task_json("SUBMITTED", "0%")),
        reply(task_json("IN_PROGRESS", "50%")),
        reply(task_json("IN_PROGRESS", "50%")),
        reply(task_json("SUCCESS", "100%")),
    )
    task = script.run(ops().wait("1", timeout=60, on_progress=seen.append, clock=lambda: 0.0))
    assert task.status == "SUCCESS" and task.percent == 100
    assert [t.progress for t in seen] == ["0%", "50%", "100%"]
    assert len(set(script.sleeps)) == 3  # jittered, never a fixed beat


def test_wait_raises_task_failed_with_the_reason():
    failed = task_json("FAILURE", "", failReason="[Invalid parameter] Invalid value for --ar")
    with pytest.raises(TaskFailed) as info:
        Script(reply(failed)).run(ops().wait("1"))
    assert info.value.task.fail_reason.startswith("[Invalid parameter]")


def test_wait_gives_up_at_the_deadline_with_the_last_state():
    ticks = itertools.chain([0.0, 5.0, 5.0], itertools.repeat(11.0))
    script = Script(reply(task_json("IN_PROGRESS", "50%")), reply(task_json("IN_PROGRESS", "75%")))
    with pytest.raises(WaitTimeout) as info:
        script.run(ops().wait("1", timeout=10, clock=lambda: next(ticks)))
    assert info.value.task.progress == "75%"


def test_list_returns_the_next_cursor_from_the_header():
    script = Script(reply([task_json()], x_next_cursor="abc"))
    tasks, cursor = script.run(ops().list_tasks(5))
    assert cursor == "abc" and tasks[0].id == "1"
    assert script.calls[0].params == {"pageSize": "5"}


def test_download_does_not_send_the_secret_to_another_host(tmp_path):
    task = Task.from_json(task_json(imageUrl="http://s3.example/grid.png?X-Amz-Signature=1"))
    script = Script(reply(b"\x89PNG....", content_type="image/png"))
    saved = script.run(ops().download(task, tmp_path))
    assert script.calls[0].authenticated is False
    assert saved == [tmp_path / "1.png"] and saved[0].read_bytes().startswith(b"\x89PNG")


def test_an_envelope_behind_an_http_error_status_is_read_as_the_protocol_code():
    # trueai answers an unknown parent with HTTP 404 and code 3 (plus-api.md §2.1)
    unknown_parent = envelope(3, "关联任务不存在或已失效", result=None)
    script = Script(Reply(404, {}, unknown_parent.body))
    with pytest.raises(NotFoundError):
        script.run(ops().action("1", "MJ::JOB::upsample::1::abc"))


def test_press_falls_back_to_change_on_the_local_runners_404_too():
    missing = reply({"status": 404, "error": "Not Found", "path": "/mj/submit/action"}, 404)
    script = Script(reply(task_json(buttons=GRID)), missing, envelope(1, result="5"))
    script.run(ops().press("1", "U1"))
    assert script.calls[2].json == {"taskId": "1", "action": "UPSCALE", "index": 1}

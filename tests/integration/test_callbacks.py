"""Callbacks end to end on moto: the worker queues, the notifier Lambda (driven by the harness
like SQS drives it) POSTs to a receiver on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json

import boto3
import pytest

from mjproxy import config, notifier
from mjproxy.domain.task import TaskStatus
from tests.receiver import Receiver
from tests.scenarios import fetch, submit_ok

ORDER = {"SUBMITTED": 1, "IN_PROGRESS": 3, "SUCCESS": 4, "FAILURE": 4}
local_receiver = pytest.mark.allow_hosts(["127.0.0.1"])


def order(task: dict) -> float:
    value = float(ORDER[task["status"]])
    if task["status"] == "IN_PROGRESS" and (task["progress"] or "").endswith("%"):
        value += float(task["progress"][:-1]) / 100
    return value


@pytest.fixture
def callbacks(system, monkeypatch):
    """The system with private targets allowed (the receiver is on 127.0.0.1) and no retry
    delay, so a drain delivers retries at once."""
    monkeypatch.setenv("MJ_NOTIFY_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("MJ_NOTIFY_RETRY_SECONDS", "0")
    config.reset()
    return system


def task_item(system, task_id: str) -> dict:
    table = system.template.physical["TasksTable"]
    return boto3.client("dynamodb").get_item(TableName=table, Key={"id": {"S": task_id}})["Item"]


@local_receiver
def test_callbacks_arrive_in_order_with_the_full_task_json(callbacks):
    with Receiver() as receiver:
        task_id = submit_ok(
            callbacks, "/mj/submit/imagine", {"prompt": "a fox", "notifyHook": receiver.url}
        )
        callbacks.drain()
    final = fetch(callbacks, task_id)
    assert final["status"] == "SUCCESS"
    bodies = receiver.tasks()
    assert bodies, "no callback arrived"
    assert all(b["id"] == task_id for b in bodies)
    assert "NOT_START" not in [b["status"] for b in bodies]
    orders = [order(b) for b in bodies]
    assert orders == sorted(orders), [(b["status"], b["progress"]) for b in bodies]
    assert len(orders) == len(set(orders)), "a state was sent twice"
    assert bodies[-1]["status"] == "SUCCESS" and bodies[-1]["progress"] == "100%"
    # The same serializer as fetch, compact, every field present.
    last = receiver.received[-1]
    assert last.body.decode() == json.dumps(last.json(), separators=(",", ":"), ensure_ascii=False)
    assert set(bodies[-1]) == set(final)
    assert bodies[-1]["imageUrl"] and bodies[-1]["properties"]["notifyHook"] == receiver.url
    assert last.headers["Content-Type"] == "application/json"
    assert "X-Mj-Signature" not in last.headers


@local_receiver
def test_a_500_is_retried_and_the_state_still_arrives(callbacks):
    def first_success_fails(body, received):
        if body["status"] == "SUCCESS" and not any(
            r.json()["status"] == "SUCCESS" for r in received
        ):
            return 500
        return None

    with Receiver(answer=first_success_fails) as receiver:
        task_id = submit_ok(
            callbacks, "/mj/submit/imagine", {"prompt": "a fox", "notifyHook": receiver.url}
        )
        callbacks.drain()
    finals = [r for r in receiver.received if r.json()["status"] == "SUCCESS"]
    assert [r.answered for r in finals] == [500, 200]
    assert [r.headers["X-Mj-Delivery-Attempt"] for r in finals] == ["1", "2"]
    assert finals[1].json()["id"] == task_id
    assert "notifyError" not in task_item(callbacks, task_id)


@local_receiver
def test_after_an_early_500_later_states_still_arrive_in_order(callbacks):
    with Receiver(statuses=[500]) as receiver:
        submit_ok(callbacks, "/mj/submit/imagine", {"prompt": "a fox", "notifyHook": receiver.url})
        callbacks.drain()
    assert receiver.received[0].answered == 500
    orders = [order(b) for b in receiver.tasks()]
    assert orders == sorted(orders) and receiver.tasks()[-1]["status"] == "SUCCESS"


@local_receiver
def test_a_receiver_that_keeps_failing_is_given_up_and_recorded(callbacks, monkeypatch):
    monkeypatch.setenv("MJ_NOTIFY_MAX_ATTEMPTS", "3")
    config.reset()
    with Receiver(statuses=[500] * 200) as receiver:
        task_id = submit_ok(
            callbacks, "/mj/submit/imagine", {"prompt": "a fox", "notifyHook": receiver.url}
        )
        callbacks.drain()
    assert fetch(callbacks, task_id)["status"] == "SUCCESS"  # callbacks never hold a task up
    item = task_item(callbacks, task_id)
    assert item["notifyError"]["S"] == "callback given up after 3 attempts: HTTP 500"
    finals = [r for r in receiver.received if r.json()["status"] == "SUCCESS"]
    assert len(finals) == 3
    assert "notifyLease" not in item


@local_receiver
def test_a_signed_callback_verifies(callbacks, monkeypatch):
    monkeypatch.setenv("MJ_NOTIFY_SIGNING_SECRET", "whsec-test")
    with Receiver() as receiver:
        submit_ok(callbacks, "/mj/submit/imagine", {"prompt": "a fox", "notifyHook": receiver.url})
        callbacks.drain()
    for r in receiver.received:
        ts = r.headers["X-Mj-Timestamp"]
        mac = hmac.new(b"whsec-test", ts.encode() + b"." + r.body, hashlib.sha256).hexdigest()
        assert r.headers["X-Mj-Signature"] == f"sha256={mac}"


@local_receiver
def test_the_global_hook_applies_to_tasks_without_their_own(callbacks, monkeypatch):
    with Receiver() as receiver:
        monkeypatch.setenv("MJ_NOTIFY_HOOK", receiver.url)
        config.reset()
        task_id = submit_ok(callbacks, "/mj/submit/imagine", {"prompt": "a fox"})
        assert fetch(callbacks, task_id)["properties"]["notifyHook"] == receiver.url
        callbacks.drain()
    assert receiver.tasks()[-1]["status"] == "SUCCESS"


@local_receiver
def test_a_change_task_notifies_its_own_hook(callbacks):
    with Receiver() as receiver:
        parent = submit_ok(callbacks, "/mj/submit/imagine", {"prompt": "a fox"})
        callbacks.drain()
        child = submit_ok(
            callbacks,
            "/mj/submit/change",
            {"taskId": parent, "action": "UPSCALE", "index": 2, "notifyHook": receiver.url},
        )
        callbacks.drain()
    assert {b["id"] for b in receiver.tasks()} == {child}
    assert receiver.tasks()[-1]["status"] == "SUCCESS"


def _never_post(*args, **kwargs):
    raise AssertionError("a refused target must never be connected to")


def public_resolver(host: str, port: int) -> list[str]:
    """Any name is a public address; nothing is looked up."""
    return ["93.184.216.34"]


def test_the_metadata_address_is_refused_and_recorded(system, monkeypatch):
    monkeypatch.setattr(notifier, "post", _never_post)
    monkeypatch.setattr(notifier, "resolve", public_resolver)
    hook = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox", "notifyHook": hook})
    system.drain()
    assert fetch(system, task_id)["status"] == "SUCCESS"
    error = task_item(system, task_id)["notifyError"]["S"]
    assert error.startswith("refused") and "169.254.169.254" in error


def test_the_metadata_address_is_refused_even_when_private_targets_are_allowed(
    callbacks, monkeypatch
):
    monkeypatch.setattr(notifier, "resolve", public_resolver)
    task_id = submit_ok(
        callbacks,
        "/mj/submit/imagine",
        {"prompt": "a fox", "notifyHook": "http://169.254.169.254/latest/meta-data/"},
    )
    callbacks.drain()
    assert "169.254.169.254" in task_item(callbacks, task_id)["notifyError"]["S"]


@local_receiver  # lets the resolver answer "localhost" from the hosts file
def test_a_name_resolving_to_loopback_is_refused_when_not_allowed(system, monkeypatch):
    with Receiver() as receiver:
        hook = receiver.url.replace("127.0.0.1", "localhost")
        task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox", "notifyHook": hook})
        system.drain()
    assert receiver.received == []
    error = task_item(system, task_id)["notifyError"]["S"]
    assert "localhost" in error and "non-public" in error
    assert fetch(system, task_id)["status"] == "SUCCESS"


def test_no_hook_no_message(system):
    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"})
    system.drain()
    assert fetch(system, task_id)["properties"].get("notifyHook") is None
    assert "notifyKey" not in task_item(system, task_id)


def test_a_failure_is_notified(callbacks, monkeypatch):
    """A task failed by the worker notifies FAILURE with its failReason."""
    from mjproxy.providers.local import LocalProvider

    def fail(self, task, ctx):
        from mjproxy.providers import Outcome

        return Outcome.failed("[Banned prompt detected] nope")

    monkeypatch.setattr(LocalProvider, "poll", fail)
    sent: list[dict] = []

    def capture(target, body, headers, timeout):
        sent.append(json.loads(body))
        return 204

    monkeypatch.setattr(notifier, "post", capture)
    monkeypatch.setattr(notifier, "resolve", public_resolver)
    submit_ok(callbacks, "/mj/submit/imagine", {"prompt": "a fox", "notifyHook": "http://h.test/"})
    callbacks.drain()
    assert sent[-1]["status"] == TaskStatus.FAILURE.value
    assert sent[-1]["failReason"] == "[Banned prompt detected] nope"

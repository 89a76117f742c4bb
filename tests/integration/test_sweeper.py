"""The sweeper on a frozen clock (protocol.md §5.4, §5.5): timed-out and stranded tasks end as
FAILURE through Worker.fail (slot released, callback sent), counters are repaired, and only the
sparse active index is read."""

from __future__ import annotations

import json

import boto3
import pytest

from mjproxy import aws, config, notifier, sweeper
from mjproxy.domain import codes
from mjproxy.domain.task import TaskStatus, now_ms
from mjproxy.local.runner import invoke
from mjproxy.store.instances import InstancePool
from mjproxy.store.tasks import TaskRepository
from mjproxy.sweeper import Sweeper
from tests.scenarios import fetch, submit_ok

MINUTE = 60_000


def lose_queued_jobs(system) -> None:
    """A lost message: whatever the jobs queue holds disappears."""
    sqs = boto3.client("sqs")
    url = system.template.physical["JobsQueue"]
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return
        for m in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def started_then_lost(system, body: dict | None = None):
    """A task that the generator accepted (SUBMITTED, startTime set) whose job chain is lost."""
    task_id = submit_ok(system, "/mj/submit/imagine", body or {"prompt": "a fox"})
    system.deliver_once()
    lose_queued_jobs(system)
    task = TaskRepository().get(task_id)
    assert task.status in (TaskStatus.SUBMITTED, TaskStatus.IN_PROGRESS) and task.startTime
    return task


def counters(instance_id: str = "local-1") -> dict[str, list[str]]:
    return InstancePool().counters(instance_id)


def test_a_running_task_past_its_timeout_fails_with_the_protocol_reason(system):
    task = started_then_lost(system)
    assert task.id in counters()["running"]
    timeout = 5 * MINUTE  # the default instance's timeoutMinutes
    report = Sweeper(clock=lambda: task.startTime + timeout).run()
    assert report.timed_out == [] and fetch(system, task.id)["status"] == task.status.value
    report = Sweeper(clock=lambda: task.startTime + timeout + 1).run()
    assert report.timed_out == [task.id]
    final = fetch(system, task.id)
    assert (
        final["status"] == "FAILURE" and final["failReason"] == codes.TIMEOUT_REASON == "任务超时"
    )
    assert final["progress"] == "100%" and final["finishTime"]
    assert counters() == {"active": [], "running": []}  # the slot was released


def test_the_scheduled_lambda_runs_on_a_frozen_clock(system, monkeypatch):
    task = started_then_lost(system)
    monkeypatch.setattr(sweeper, "clock", lambda: task.startTime + 6 * MINUTE)
    fn, handler = system.functions["SweeperFunction"]
    event = json.loads((system.template.root / "events" / "sweeper.json").read_text())
    out = invoke(fn, handler, event)
    assert out["timedOut"] == [task.id]
    assert fetch(system, task.id)["failReason"] == "任务超时"


def test_a_task_waiting_past_the_wait_limit_fails_with_a_reason_that_says_it_waited(
    system, monkeypatch
):
    monkeypatch.setenv("MJ_NOT_START_TIMEOUT_MINUTES", "30")
    monkeypatch.setenv("MJ_INSTANCES", '[{"id":"local-1","coreSize":1,"timeoutMinutes":60}]')
    config.reset()
    submit_ok(system, "/mj/submit/imagine", {"prompt": "first"})  # holds the only slot
    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"})  # waits behind it
    submitted = fetch(system, task_id)["submitTime"]
    assert Sweeper(clock=lambda: submitted + 30 * MINUTE).run().not_started == []
    report = Sweeper(clock=lambda: submitted + 30 * MINUTE + 1).run()
    assert report.not_started == [task_id] and report.timed_out == []
    final = fetch(system, task_id)
    assert final["status"] == "FAILURE"
    assert final["failReason"] == codes.NOT_START_TIMEOUT_FMT.format(minutes=30)
    assert final["failReason"].startswith("任务超时")
    assert task_id not in counters()["active"]


def test_a_task_of_a_disabled_instance_is_swept_with_that_instance_timeout(system, monkeypatch):
    task = started_then_lost(system)
    monkeypatch.setenv(
        "MJ_INSTANCES", json.dumps([{"id": "local-1", "enable": False, "timeoutMinutes": 10}])
    )
    config.reset()
    assert Sweeper(clock=lambda: task.startTime + 6 * MINUTE).run().timed_out == []
    assert Sweeper(clock=lambda: task.startTime + 11 * MINUTE).run().timed_out == [task.id]


def test_a_task_of_a_removed_instance_gets_the_default_timeout(system, monkeypatch):
    task = started_then_lost(system)
    monkeypatch.setenv("MJ_INSTANCES", json.dumps([{"id": "other"}]))
    config.reset()
    assert Sweeper(clock=lambda: task.startTime + 6 * MINUTE).run().timed_out == [task.id]


def test_counters_are_repaired(system):
    finished = submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"})
    system.drain()
    assert fetch(system, finished)["status"] == "SUCCESS"
    running = started_then_lost(system)
    gone = "1600000000000123"  # an id whose task never came to be, long ago
    young = f"{now_ms()}456"  # reserved a moment ago: its task may be being written right now
    table = system.template.physical["InstancesTable"]
    boto3.client("dynamodb").update_item(
        TableName=table,
        Key={"id": {"S": "local-1"}},
        UpdateExpression="ADD active :t, running :t",
        ExpressionAttributeValues={":t": {"SS": [finished, gone, young]}},
    )
    report = Sweeper(clock=now_ms).run()
    assert sorted(report.repaired["local-1"]) == sorted([finished, gone])
    left = counters()
    assert running.id in left["active"] and young in left["active"]
    assert finished not in left["active"] + left["running"]
    assert gone not in left["active"] + left["running"]


def test_the_sweeper_never_scans(system, monkeypatch):
    task = started_then_lost(system)
    ddb = aws.client("dynamodb")

    def no_scan(**kwargs):
        raise AssertionError("the sweeper must read the sparse active index, never scan")

    monkeypatch.setattr(ddb, "scan", no_scan)
    assert Sweeper(clock=lambda: task.startTime + 6 * MINUTE).run().timed_out == [task.id]


def test_a_task_that_finished_meanwhile_is_left_alone(system, monkeypatch):
    task = started_then_lost(system)
    stale = TaskRepository().get(task.id)
    TaskRepository().update(
        task.id,
        {"status": TaskStatus.SUCCESS, "progress": "100%", "finishTime": now_ms()},
        from_status=[stale.status],
    )
    monkeypatch.setattr(TaskRepository, "list_active", lambda self, **kw: ([stale], None))
    report = Sweeper(clock=lambda: task.startTime + 60 * MINUTE).run()
    assert report.timed_out == []
    assert fetch(system, task.id)["status"] == "SUCCESS"


def test_nothing_stays_unfinished_after_lost_messages(system):
    stranded = submit_ok(system, "/mj/submit/imagine", {"prompt": "one"})
    lose_queued_jobs(system)
    running = started_then_lost(system, {"prompt": "two"})
    later = now_ms() + 24 * 60 * MINUTE
    Sweeper(clock=lambda: later).run()
    assert TaskRepository().list_active()[0] == []
    for task_id in (stranded, running.id):
        assert fetch(system, task_id)["status"] == "FAILURE"
    assert counters() == {"active": [], "running": []}


def test_a_swept_task_sends_its_failure_callback(system, monkeypatch):
    sent: list[dict] = []
    monkeypatch.setattr(notifier, "resolve", lambda host, port: ["93.184.216.34"])
    monkeypatch.setattr(
        notifier,
        "post",
        lambda target, body, headers, timeout: sent.append(json.loads(body)) or 200,
    )
    task = started_then_lost(system, {"prompt": "a fox", "notifyHook": "https://hooks.test/mj"})
    system.drain()  # the SUBMITTED callback
    Sweeper(clock=lambda: task.startTime + 6 * MINUTE).run()
    system.drain()
    assert sent[-1]["id"] == task.id
    assert sent[-1]["status"] == "FAILURE" and sent[-1]["failReason"] == "任务超时"


@pytest.fixture(autouse=True)
def _real_clock():
    yield
    sweeper.clock = now_ms

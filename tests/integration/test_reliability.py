"""At-least-once delivery, crashes and poison jobs: a task always ends, never twice, never backwards."""

from __future__ import annotations

import boto3
import pytest

from mjproxy import worker as worker_mod
from mjproxy.domain.task import TaskStatus
from mjproxy.store.tasks import TaskRepository
from tests.harness import Crash
from tests.scenarios import fetch, submit_ok

ORDER = {"NOT_START": 0, "SUBMITTED": 1, "IN_PROGRESS": 2, "SUCCESS": 3, "FAILURE": 3}


@pytest.fixture
def history(monkeypatch):
    """Every status written to the table, in order."""
    seen: list[tuple[str, str, str | None]] = []
    original = TaskRepository.update

    def spy(self, task_id, changes, **kw):
        task = original(self, task_id, changes, **kw)
        seen.append((task.id, task.status.value, task.progress))
        return task

    monkeypatch.setattr(TaskRepository, "update", spy)
    return seen


def test_duplicated_deliveries_do_not_generate_twice_or_regress(system, monkeypatch, history):
    import mjproxy.jobs as jobs

    real_send = jobs.send

    def send_twice(job, delay_seconds=0, queue_url=None):
        real_send(job, delay_seconds, queue_url)
        real_send(job, delay_seconds, queue_url)

    monkeypatch.setattr(jobs, "send", send_twice)
    done = []
    real_apply = worker_mod.Worker.apply

    def counting_apply(self, task, job, outcome, *rest):
        updated = real_apply(self, task, job, outcome, *rest)
        if updated is not None and outcome.kind == "done":
            done.append(task.id)
        return updated

    monkeypatch.setattr(worker_mod.Worker, "apply", counting_apply)
    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"})
    system.drain(rounds=500)
    assert fetch(system, task_id)["status"] == "SUCCESS"
    assert done == [task_id]
    statuses = [ORDER[s] for tid, s, _ in history if tid == task_id]
    assert statuses == sorted(statuses)
    assert statuses.count(3) == 1


def test_a_crash_mid_step_is_retried_and_completes(system, monkeypatch):
    from mjproxy.providers.local import LocalProvider

    calls = {"n": 0}
    real_poll = LocalProvider.poll

    def flaky(self, task, ctx):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker died mid-step")
        return real_poll(self, task, ctx)

    monkeypatch.setattr(LocalProvider, "poll", flaky)
    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"})
    system.drain()
    task = fetch(system, task_id)
    assert task["status"] == "SUCCESS" and task["progress"] == "100%"


def test_a_lambda_crash_leaves_the_batch_for_redelivery(system):
    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"})
    crashed = {"n": 0}

    def crash_once(fn_name, records):
        if fn_name == "WorkerFunction" and crashed["n"] == 0:
            crashed["n"] += 1
            raise Crash()

    system.drain(crash=crash_once)
    assert crashed["n"] == 1
    assert fetch(system, task_id)["status"] == "SUCCESS"


def test_a_poison_job_ends_its_task_as_failure_with_a_reason(system, monkeypatch):
    from mjproxy.providers.local import LocalProvider

    def always(self, task, ctx):
        raise ValueError("cannot render this")

    monkeypatch.setattr(LocalProvider, "start", always)
    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"})
    system.drain()
    task = fetch(system, task_id)
    assert task["status"] == "FAILURE"
    assert "cannot render this" in task["failReason"]
    assert task["finishTime"] and task["startTime"]
    # Its slot is free again: the instance can take new work.
    assert submit_ok(system, "/mj/submit/imagine", {"prompt": "another"})


def test_the_dead_letter_queue_fails_what_slips_through(system):
    from mjproxy.jobs import Job

    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"})
    sqs = boto3.client("sqs")
    # Simulate a job that exhausted its receives without the worker seeing its last attempt.
    sqs.purge_queue(QueueUrl=system.template.physical["JobsQueue"])
    sqs.send_message(
        QueueUrl=system.template.physical["JobsDeadLetterQueue"],
        MessageBody=Job(task_id, "start", 0).to_json(),
    )
    system.drain()
    task = fetch(system, task_id)
    assert task["status"] == "FAILURE" and task["failReason"]


def test_a_stale_dead_lettered_copy_does_not_fail_a_task_that_moved_on(system):
    """A duplicate of a step that was written (the task's seq is past it) reaches the dead-letter
    queue: the task's own later job is alive, so the task goes on to its result."""
    from mjproxy.jobs import Job

    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"})
    system.deliver_once()  # the start step: written, its poll job sent
    assert TaskRepository().get(task_id).seq == 1
    boto3.client("sqs").send_message(
        QueueUrl=system.template.physical["JobsDeadLetterQueue"],
        MessageBody=Job(task_id, "start", 0).to_json(),
    )
    system.drain()
    task = fetch(system, task_id)
    assert task["status"] == "SUCCESS", task.get("failReason")


def test_an_unreadable_job_is_dropped_not_retried_forever(system):
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=system.template.physical["JobsQueue"], MessageBody="{garbage")
    assert system.drain() == 1


def test_a_finished_task_cannot_be_moved_again(system):
    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"})
    system.drain()
    repo = TaskRepository()
    task = repo.get(task_id)
    from mjproxy.store.tasks import Conflict

    with pytest.raises(Conflict):
        repo.update(
            task_id,
            {"status": TaskStatus.FAILURE},
            from_status=[TaskStatus.IN_PROGRESS],
            expected_seq=task.seq,
        )
    assert fetch(system, task_id)["status"] == "SUCCESS"


def test_queue_codes_follow_core_and_queue_size(system, monkeypatch):
    monkeypatch.setenv("MJ_INSTANCES", '[{"id":"only","coreSize":1,"queueSize":2}]')
    from mjproxy import config

    config.reset()
    codes = [system.post("/mj/submit/imagine", {"prompt": f"p{i}"}).json() for i in range(4)]
    assert [c["code"] for c in codes] == [1, 1, 22, 23]
    assert codes[2]["description"] == "排队中，前面还有1个任务"
    assert codes[2]["properties"]["numberOfQueues"] == 1
    assert codes[3] == {
        "code": 23,
        "description": "队列已满，请稍后尝试",
        "result": None,
        "properties": {"discordInstanceId": "only"},
    }
    system.drain()
    for c in codes[:3]:
        assert fetch(system, c["result"])["status"] == "SUCCESS"

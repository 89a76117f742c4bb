"""Two SQS batches handled at once in one process (the local mode's pollers call a handler from
several threads) each run their own records and report their own failures. With one
BatchProcessor shared by every invocation, a second batch replaced the first's records and
cleared its failures: the first's failed job was deleted as done and its task never moved again
(2 of 1,000 tasks stuck at `bench/backlog.py 1000`)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from mjproxy import worker_handler
from mjproxy.jobs import Job
from mjproxy.local.runner import FakeContext, sqs_event

WAIT = 30  # seconds: a bound on a condition, never a timing the test relies on


def batch(*task_ids: str) -> dict[str, Any]:
    messages = [
        {
            "MessageId": f"m-{task_id}",
            "ReceiptHandle": f"r-{task_id}",
            "Body": Job(task_id, "poll", 1).to_json(),
            "Attributes": {"ApproximateReceiveCount": "1"},
            "MD5OfBody": "",
        }
        for task_id in task_ids
    ]
    return sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:jobs")


class GatedWorker:
    """Runs jobs by task id: "bad" raises, "slow" waits until the test lets it go."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.slow_entered = threading.Event()
        self.release = threading.Event()

    def handle(self, job: Job, receive_count: int = 1) -> None:
        self.ran.append(job.taskId)
        if job.taskId == "bad":
            raise RuntimeError("DynamoDB trouble")
        if job.taskId == "slow":
            self.slow_entered.set()
            assert self.release.wait(WAIT)


@pytest.fixture
def gated(monkeypatch) -> GatedWorker:
    fake = GatedWorker()
    monkeypatch.setattr(worker_handler, "worker", lambda: fake)
    return fake


def failures(response: dict[str, Any]) -> list[str]:
    return [f["itemIdentifier"] for f in response["batchItemFailures"]]


def test_a_batch_that_runs_while_another_is_inside_keeps_both_results_apart(gated):
    first: dict[str, Any] = {}

    def run_first() -> None:
        first["response"] = worker_handler.jobs_handler(batch("bad", "slow"), FakeContext("w"))

    thread = threading.Thread(target=run_first)
    thread.start()
    assert gated.slow_entered.wait(WAIT)
    second = worker_handler.jobs_handler(batch("ok-1", "ok-2"), FakeContext("w"))
    gated.release.set()
    thread.join(WAIT)

    # The failed job is reported, so SQS delivers it again rather than deleting it.
    assert failures(first["response"]) == ["m-bad"]
    assert failures(second) == []
    # Every record ran exactly once, in the batch it came in.
    assert sorted(gated.ran) == ["bad", "ok-1", "ok-2", "slow"]


def test_every_queue_handler_builds_its_processor_per_invocation():
    """The worker, dead letters, notifier and both Discord handlers go through sqs_batch; none
    keeps a processor of its own at module level."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor

    from mjproxy import notifier
    from mjproxy.providers.midjourney import events_handler, handler

    for module in (worker_handler, notifier, events_handler, handler):
        shared = [n for n, v in vars(module).items() if isinstance(v, BatchProcessor)]
        assert shared == [], (module.__name__, shared)


def test_a_record_that_raises_is_the_only_one_reported(gated):
    response = worker_handler.jobs_handler(batch("ok-1", "bad", "ok-2"), FakeContext("w"))
    assert failures(response) == ["m-bad"]
    assert json.dumps(response)  # the answer Lambda's event source mapping reads

"""Job messages and their lanes (mjproxy/jobs.py): which queue a job goes to."""

from __future__ import annotations

import json

import pytest

from mjproxy import config, jobs


@pytest.fixture
def queues(monkeypatch):
    monkeypatch.setenv("JOBS_QUEUE_URL", "https://sqs.local/jobs")

    def set_wait(url: str | None) -> None:
        if url is None:
            monkeypatch.delenv("WAIT_JOBS_QUEUE_URL", raising=False)
        else:
            monkeypatch.setenv("WAIT_JOBS_QUEUE_URL", url)
        config.reset()

    yield set_wait
    config.reset()


def test_a_job_without_a_lane_is_the_message_it_always_was():
    body = jobs.Job("123", jobs.POLL, 4, 1).to_json()
    assert body == '{"taskId":"123","step":"poll","seq":4,"attempt":1}'
    assert jobs.Job.from_json(body) == jobs.Job("123", jobs.POLL, 4, 1)


def test_a_lane_survives_the_round_trip_and_a_retry():
    job = jobs.Job("123", jobs.POLL, 4, lane=jobs.WAIT)
    assert json.loads(job.to_json())["lane"] == "wait"
    again = jobs.Job.from_json(job.to_json())
    assert again == job and again.lane == jobs.WAIT


def test_wait_jobs_go_to_the_waiting_worker_where_the_stack_has_one(queues):
    queues("https://sqs.local/wait")
    assert jobs.queue_for(jobs.Job("1", jobs.POLL, 1, lane=jobs.WAIT)) == "https://sqs.local/wait"
    assert jobs.queue_for(jobs.Job("1", jobs.POLL, 1)) == "https://sqs.local/jobs"
    assert jobs.queue_for(jobs.Job("1", jobs.START, 0)) == "https://sqs.local/jobs"


def test_without_a_waiting_worker_every_job_runs_on_the_worker(queues):
    queues(None)
    assert jobs.queue_for(jobs.Job("1", jobs.POLL, 1, lane=jobs.WAIT)) == "https://sqs.local/jobs"
    queues("")  # the template's value when UseWaitWorker is false
    assert jobs.queue_for(jobs.Job("1", jobs.POLL, 1, lane=jobs.WAIT)) == "https://sqs.local/jobs"

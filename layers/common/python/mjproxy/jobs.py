"""Job messages on the SQS jobs queues. A job is tiny (`taskId`, `step`, `seq`, `attempt`, and
its `lane`); all state lives in the tasks table. Images never travel in a message body.

Lanes: a job runs on the worker (WorkerFunction, sized for the largest work: a 4K upscale) unless
its provider marked it `wait`: a step that mostly waits on a generator's HTTP answer and whose own
work is small (a Bedrock/OpenAI grid). Those go to the waiting worker (WaitWorkerFunction: the
same handler at less memory, since a waiting second is billed per GB) when the stack has one
(WAIT_JOBS_QUEUE_URL set), else to the worker as before."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from .config import settings
from .direct import sqs as direct_sqs

START = "start"
POLL = "poll"
WAIT = "wait"  # the lane of a step that mostly waits on a generator (see the module docstring)
MAX_DELAY_SECONDS = 900  # SQS limit


@dataclass(frozen=True)
class Job:
    taskId: str
    step: str
    seq: int
    attempt: int = 0
    lane: str = ""  # "" = the worker; WAIT = the waiting worker where the stack has one

    def to_json(self) -> str:
        data = asdict(self)
        if not self.lane:
            del data["lane"]  # the common case stays the message it always was
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, body: str) -> Job:
        data = json.loads(body)
        return cls(
            taskId=str(data["taskId"]),
            step=str(data["step"]),
            seq=int(data["seq"]),
            attempt=int(data.get("attempt", 0)),
            lane=str(data.get("lane") or ""),
        )


def queue_for(job: Job) -> str:
    """The queue a job goes to: its lane's where the stack has that lane, else the jobs queue.
    A retry or re-send of a job keeps its lane, so a waiting step never lands on the big worker
    by accident (nor the reverse)."""
    cfg = settings()
    if job.lane == WAIT and cfg.wait_jobs_queue_url:
        return cfg.wait_jobs_queue_url
    return cfg.jobs_queue_url


def send(job: Job, delay_seconds: float = 0, queue_url: str | None = None) -> None:
    delay = max(0, min(MAX_DELAY_SECONDS, int(round(delay_seconds))))
    direct_sqs.send(queue_url or queue_for(job), job.to_json(), delay)

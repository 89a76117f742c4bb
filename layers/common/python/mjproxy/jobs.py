"""Job messages on the SQS jobs queue. A job is tiny (`taskId`, `step`, `seq`, `attempt`); all
state lives in the tasks table. Images never travel in a message body."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from .aws import client
from .config import settings

START = "start"
POLL = "poll"
MAX_DELAY_SECONDS = 900  # SQS limit


@dataclass(frozen=True)
class Job:
    taskId: str
    step: str
    seq: int
    attempt: int = 0

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, body: str) -> Job:
        data = json.loads(body)
        return cls(
            taskId=str(data["taskId"]),
            step=str(data["step"]),
            seq=int(data["seq"]),
            attempt=int(data.get("attempt", 0)),
        )


def send(job: Job, delay_seconds: float = 0, queue_url: str | None = None) -> None:
    delay = max(0, min(MAX_DELAY_SECONDS, int(round(delay_seconds))))
    client("sqs").send_message(
        QueueUrl=queue_url or settings().jobs_queue_url,
        MessageBody=job.to_json(),
        DelaySeconds=delay,
    )

"""Lambda entry points for the SQS-driven worker and its dead-letter queue, with partial batch
failures: only the records that raised are retried by SQS."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from . import sqs_batch
from .jobs import Job
from .observability import logger, set_task
from .worker import Worker

_worker: Worker | None = None


def worker() -> Worker:
    global _worker
    if _worker is None:
        _worker = Worker()
    return _worker


def _job(record: SQSRecord) -> Job | None:
    try:
        return Job.from_json(record.body)
    except (ValueError, KeyError, TypeError):
        # A body we cannot read names no task we could fail; retrying cannot help either.
        logger.error("unreadable job dropped", extra={"body": record.body[:200]})
        return None


def _record(record: SQSRecord) -> None:
    job = _job(record)
    if job is not None:
        set_task(job.taskId)
        receive_count = int(record.attributes.approximate_receive_count or 1)
        worker().handle(job, receive_count)


def _dead_record(record: SQSRecord) -> None:
    job = _job(record)
    if job is not None:
        set_task(job.taskId)
        worker().dead_letter(job)


@logger.inject_lambda_context(clear_state=True)
def jobs_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return sqs_batch.process(event, _record, context)


@logger.inject_lambda_context(clear_state=True)
def dead_letter_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return sqs_batch.process(event, _dead_record, context)

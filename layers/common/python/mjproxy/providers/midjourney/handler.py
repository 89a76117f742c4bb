"""Lambda entry point of the Discord poller (functions/discord_poller): SQS records of the poller
queue, with partial batch failures like the worker (only a record whose run raised is delivered
again), and a scheduled watchdog that restarts the chain of an account whose poller died."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from ... import sqs_batch
from ...observability import logger
from .poller import Poller, handle_message


def _record(record: SQSRecord) -> None:
    try:
        report = handle_message(record.body)
    except (ValueError, KeyError, TypeError):
        # A body naming no account cannot be retried into sense.
        logger.error("unreadable poller message dropped", extra={"body": record.body[:200]})
        return
    if report is not None and report.next_delay is not None:
        logger.debug(
            "poll",
            extra={"messages": report.messages, "matched": report.matched,
                   "apiCalls": report.api_calls},
        )  # fmt: skip


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if "Records" not in event:  # the schedule
        return {"started": Poller().ensure_all()}
    return sqs_batch.process(event, _record, context)

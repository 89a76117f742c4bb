"""SQS batches with partial failures: the one way every queue-driven handler runs its records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)


def process(
    event: dict[str, Any], record_handler: Callable[[Any], Any], context: Any
) -> dict[str, Any]:
    """Run `record_handler` on each record of an SQS event; answer `batchItemFailures` naming
    only the records that raised, so SQS retries those alone (then dead-letters them).

    A BatchProcessor holds the batch it is running (its records and their results), so each
    invocation gets its own. One shared processor is safe on Lambda, which runs one invocation
    per environment at a time, but not where invocations share a process: the local mode's
    pollers call a handler from several threads, and a second batch swapping the records under
    a first made the first's messages count as done unrun (a task's only job deleted: the task
    stayed SUBMITTED, 2 in 1,000 at `bench/backlog.py 1000`), or cleared a failure the first
    had to report. Building one is a few attribute sets."""
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )

"""Lambda entry point of the Discord events function (functions/discord_events): SQS records of
the DiscordEventsQueue, with partial batch failures (only a record whose handling raised is
delivered again)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from ... import sqs_batch
from ...config import settings
from ...observability import logger
from .gateway_events import handle_body


def _record(record: SQSRecord) -> None:
    try:
        result = handle_body(record.body)
    except (ValueError, KeyError, TypeError):
        logger.error("unreadable gateway event dropped", extra={"body": record.body[:200]})
        return
    logger.debug("gateway event", extra={"result": result})


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings()  # fail early on bad configuration
    return sqs_batch.process(event, _record, context)

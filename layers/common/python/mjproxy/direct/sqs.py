"""SendMessage without a botocore SQS client: the AWS JSON 1.0 request botocore makes for it
(X-Amz-Target AmazonSQS.SendMessage, botocore's SQS service model), signed by mjproxy.sigv4.

Every submit sends one job message, so every submit function used to create an SQS client on
its cold start: ~10 ms of the first request (30 interleaved cold starts each way; the botocore
session and loader are the DynamoDB client's already). SQS answers with
the MD5 of the body it stored, checked here as botocore checks it. A refusal, an unreachable
endpoint or an answer that does not match returns False and the caller sends through botocore:
a job can then be sent twice, which the worker already expects (SQS delivers at least once; a
job whose seq the task has passed is dropped). MJ_SQS_DIRECT_SEND=off turns it off.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging

from .. import direct

log = logging.getLogger(__name__)

SWITCH = "MJ_SQS_DIRECT_SEND"
_HEADERS = {
    "Content-Type": "application/x-amz-json-1.0",
    "X-Amz-Target": "AmazonSQS.SendMessage",
    "x-amzn-query-mode": "true",  # botocore sends it (the model is awsQueryCompatible)
}


def send(queue_url: str, body: str, delay_seconds: int) -> None:
    """Send one message: directly in a Lambda runtime where it can, else through botocore."""
    from ..aws import client
    from ..config import settings

    try:
        sent = send_message(queue_url, body, delay_seconds, settings().region)
    except Exception:  # a bug here must cost an attempt, never the message
        log.exception("direct SendMessage raised; sending through botocore")
        sent = False
    if not sent:
        client("sqs").send_message(QueueUrl=queue_url, MessageBody=body, DelaySeconds=delay_seconds)


def send_message(queue_url: str, body: str, delay_seconds: int, region: str) -> bool:
    """Send one message; False if the caller must send it through botocore."""
    if not direct.enabled(SWITCH):
        return False
    payload = json.dumps(
        {"QueueUrl": queue_url, "MessageBody": body, "DelaySeconds": delay_seconds},
        separators=(",", ":"),
    ).encode()
    prepared = direct.prepare("sqs", region, _HEADERS, payload)
    if prepared is None:
        return False
    try:
        status, data, _ = direct.post(prepared, payload)
    except (OSError, http.client.HTTPException) as exc:
        log.warning(
            "direct SendMessage failed; sending through botocore", extra={"error": repr(exc)}
        )
        return False
    try:
        answer = json.loads(data) if status == 200 else {}
    except ValueError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    expected = hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()
    if answer.get("MD5OfMessageBody") == expected:
        return True
    log.warning(
        "direct SendMessage refused; sending through botocore",
        extra={"status": status, "body": data[:300].decode("utf-8", "replace")},
    )
    return False

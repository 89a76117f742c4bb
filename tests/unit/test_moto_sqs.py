"""The local mode's SQS (moto, patched by mjproxy.local.moto_sqs) neither loses nor doubles a
message when threads send, receive and delete on one queue at once, as the runner's pollers and
the handlers do. Unpatched moto 5.2 lost messages sent during a delete (a task's only poll job)."""

from __future__ import annotations

import threading
from collections import Counter

import boto3
import pytest
from moto import mock_aws

from mjproxy.local import moto_sqs

SENDERS = 4
PER_SENDER = 300
RECEIVERS = 3


@pytest.fixture
def queue_url():
    moto_sqs.install()
    try:
        with mock_aws():
            sqs = boto3.client("sqs", region_name="us-east-1")
            yield sqs.create_queue(QueueName="jobs")["QueueUrl"]
    finally:
        moto_sqs.uninstall()


def test_concurrent_senders_and_deleting_receivers_get_every_message_once(queue_url):
    received: Counter[str] = Counter()
    lock = threading.Lock()
    senders_done = threading.Event()

    def send(n: int) -> None:
        sqs = boto3.client("sqs", region_name="us-east-1")
        for i in range(PER_SENDER):
            sqs.send_message(QueueUrl=queue_url, MessageBody=f"{n}-{i}")

    def receive() -> None:
        sqs = boto3.client("sqs", region_name="us-east-1")
        while True:
            out = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=600
            )
            messages = out.get("Messages", [])
            if not messages:
                if senders_done.is_set():
                    return
                continue
            with lock:
                received.update(m["Body"] for m in messages)
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ],
            )

    senders = [threading.Thread(target=send, args=(n,)) for n in range(SENDERS)]
    receivers = [threading.Thread(target=receive) for _ in range(RECEIVERS)]
    for t in senders + receivers:
        t.start()
    for t in senders:
        t.join()
    senders_done.set()
    for t in receivers:
        t.join()

    sent = {f"{n}-{i}" for n in range(SENDERS) for i in range(PER_SENDER)}
    assert set(received) == sent, f"lost: {len(sent - set(received))}"
    assert [body for body, count in received.items() if count > 1] == []

"""Inside a Lambda runtime a job message is sent with one signed POST (mjproxy.direct.sqs), no
boto3 SQS client created; anything that POST cannot do is sent through botocore instead, so a
job is never lost to it. Against moto's HTTP server (another thread), the way a function in
`sam local` or in AWS reaches SQS over the network."""

from __future__ import annotations

import http.server
import json
import threading
import uuid

import boto3
import pytest

from mjproxy import direct as transport
from mjproxy import jobs, notify
from tests.harness import reset_caches

# The POSTs go over loopback TCP, as from a function to SQS (the suite otherwise refuses sockets).
pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])


@pytest.fixture
def queues(monkeypatch, moto_server):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "SubmitImagineFunction")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    sqs = boto3.client("sqs", endpoint_url=moto_server, region_name="us-east-1")
    # A queue pair per test: moto refuses a second PurgeQueue within 60 s, as SQS does.
    run = uuid.uuid4().hex[:8]
    urls = {
        name: sqs.create_queue(QueueName=f"direct-{name}-{run}")["QueueUrl"]
        for name in ("jobs", "notify")
    }
    monkeypatch.setenv("JOBS_QUEUE_URL", urls["jobs"])
    monkeypatch.setenv("NOTIFY_QUEUE_URL", urls["notify"])
    reset_caches()
    yield sqs, urls
    for url in urls.values():
        sqs.delete_queue(QueueUrl=url)
    transport._drop()


def received(sqs, url: str) -> list[dict]:
    out = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["All"]
    )
    return out.get("Messages", [])


def test_a_job_is_one_post_with_no_sqs_client(queues, botocore_clients):
    sqs, urls = queues
    jobs.send(jobs.Job("1733097600123", jobs.START, 0))
    jobs.send(jobs.Job("1733097600124", jobs.POLL, 3), delay_seconds=900)

    assert "sqs" not in botocore_clients
    messages = received(sqs, urls["jobs"])
    # The delayed job is on the queue too, not visible before its delay.
    assert [json.loads(m["Body"]) for m in messages] == [
        {"taskId": "1733097600123", "step": "start", "seq": 0, "attempt": 0}
    ]
    attrs = sqs.get_queue_attributes(QueueUrl=urls["jobs"], AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessagesDelayed"] == "1"


def test_a_callback_message_is_sent_the_same_way(queues, botocore_clients):
    sqs, urls = queues
    notify.enqueue("1733097600125", status="SUCCESS", progress="100%")
    assert "sqs" not in botocore_clients
    (message,) = received(sqs, urls["notify"])
    assert json.loads(message["Body"])["taskId"] == "1733097600125"


class Answering(http.server.BaseHTTPRequestHandler):
    """An SQS stand-in that refuses (403) or answers 200 with an MD5 of another body."""

    status = 403

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b'{"MD5OfMessageBody":"00000000000000000000000000000000","MessageId":"x"}'
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class WrongDigest(Answering):
    status = 200


@pytest.mark.parametrize("handler", [Answering, WrongDigest], ids=["refused", "wrong-md5"])
def test_a_refused_or_unconfirmed_send_goes_through_botocore(
    queues, botocore_clients, monkeypatch, handler
):
    sqs, urls = queues
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        # SQS (the stand-in) for the direct POST, moto for botocore's.
        monkeypatch.setattr(
            transport, "endpoint", lambda service, region: f"http://127.0.0.1:{server.server_port}"
        )
        jobs.send(jobs.Job("1733097600126", jobs.START, 0))
    finally:
        server.shutdown()
    assert botocore_clients == ["sqs"]
    (message,) = received(sqs, urls["jobs"])
    assert json.loads(message["Body"])["taskId"] == "1733097600126"


def test_an_unreachable_endpoint_goes_through_botocore(queues, botocore_clients, monkeypatch):
    sqs, urls = queues
    closed = http.server.HTTPServer(("127.0.0.1", 0), Answering)
    port = closed.server_port
    closed.server_close()  # nothing listens there now
    monkeypatch.setattr(transport, "endpoint", lambda service, region: f"http://127.0.0.1:{port}")
    jobs.send(jobs.Job("1733097600127", jobs.START, 0))
    assert botocore_clients == ["sqs"]
    (message,) = received(sqs, urls["jobs"])
    assert json.loads(message["Body"])["taskId"] == "1733097600127"


@pytest.mark.parametrize("setting", [None, "off"])
def test_outside_lambda_or_turned_off_botocore_sends_it(
    queues, botocore_clients, monkeypatch, setting
):
    sqs, urls = queues
    if setting is None:
        monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
    else:
        monkeypatch.setenv("MJ_SQS_DIRECT_SEND", setting)
    jobs.send(jobs.Job("1733097600128", jobs.START, 0))
    assert botocore_clients == ["sqs"]
    assert len(received(sqs, urls["jobs"])) == 1


@pytest.mark.parametrize(
    "env,value",
    [("AWS_USE_FIPS_ENDPOINT", "true"), ("AWS_USE_DUALSTACK_ENDPOINT", "true")],
)
def test_endpoint_settings_botocore_knows_better_are_left_to_it(monkeypatch, env, value):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_SQS", raising=False)
    assert transport.endpoint("sqs", "eu-west-1") == "https://sqs.eu-west-1.amazonaws.com"
    assert transport.endpoint("sqs", "cn-north-1") is None  # amazonaws.com.cn
    monkeypatch.setenv(env, value)
    assert transport.endpoint("sqs", "eu-west-1") is None


def test_a_bug_in_the_direct_path_costs_an_attempt_not_the_job(
    queues, botocore_clients, monkeypatch
):
    sqs, urls = queues

    def broken(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr(transport.sigv4, "sign_headers", broken)
    jobs.send(jobs.Job("1733097600129", jobs.START, 0))
    assert botocore_clients == ["sqs"]
    assert len(received(sqs, urls["jobs"])) == 1

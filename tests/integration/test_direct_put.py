"""An API function inside a Lambda runtime stores a client's upload with one presigned PUT over
HTTP (mjproxy.images.direct), no boto3 S3 client created; anything the PUT cannot do is stored
through botocore instead, so an upload is never lost to it. Against moto's HTTP server (another
thread), the way a function in `sam local` or in AWS reaches S3 over the network."""

from __future__ import annotations

import http.server
import threading

import boto3
import pytest

from mjproxy import direct as transport
from mjproxy import images, sigv4
from tests.harness import reset_caches

# The PUTs go over loopback TCP, as from a function to S3 (the suite otherwise refuses sockets).
pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

BUCKET = "mj-images-direct"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40  # the bytes only: S3 does not parse them


@pytest.fixture
def lambda_env(monkeypatch, moto_server):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "SubmitDescribeFunction")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("BUCKET_NAME", BUCKET)
    reset_caches()
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    yield s3
    transport._drop()


@pytest.fixture
def botocore_puts(monkeypatch):
    """Every store that went through botocore's S3 client instead."""
    calls: list[str] = []
    real = images.put

    def recorded(key, data, content_type="image/png"):
        calls.append(key)
        real(key, data, content_type)

    monkeypatch.setattr(images, "put", recorded)
    return calls


def test_an_upload_is_one_put_over_http_with_no_s3_client(lambda_env, botocore_puts):
    images.put_upload("tasks/1/input-1.png", PNG, "image/png")
    images.put_upload("tasks/1/input-2.jpg", b"\xff\xd8jpeg", "image/jpeg")

    assert botocore_puts == []
    got = lambda_env.get_object(Bucket=BUCKET, Key="tasks/1/input-1.png")
    assert got["Body"].read() == PNG
    assert got["ContentType"] == "image/png"
    got = lambda_env.get_object(Bucket=BUCKET, Key="tasks/1/input-2.jpg")
    assert got["ContentType"] == "image/jpeg"


def test_a_kept_alive_connection_the_server_closed_is_opened_again(lambda_env, botocore_puts):
    images.put_upload("tasks/2/input-1.png", PNG, "image/png")
    # The connection kept from the last invocation, its socket gone meanwhile (as an idle
    # timeout on the server's side leaves it).
    netloc = lambda_env.meta.endpoint_url.split("//")[1]
    kept = transport._connection("http", netloc, fresh=True)
    kept.connect()
    kept.sock.close()
    images.put_upload("tasks/2/input-2.png", PNG, "image/png")
    assert transport._conns()[("http", netloc)] is not kept
    assert botocore_puts == []
    assert lambda_env.get_object(Bucket=BUCKET, Key="tasks/2/input-2.png")["Body"].read() == PNG


class Refusing(http.server.BaseHTTPRequestHandler):
    def do_PUT(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_a_refused_put_is_stored_through_botocore(lambda_env, botocore_puts, monkeypatch):
    refusing = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=refusing.serve_forever, daemon=True).start()
    try:
        # S3 (the refusing server) for the direct PUT, moto for botocore's.
        monkeypatch.setattr(sigv4, "endpoint_url", lambda: f"http://127.0.0.1:{refusing.server_port}")
        images.put_upload("tasks/3/input-1.png", PNG, "image/png")
    finally:
        refusing.shutdown()
    assert botocore_puts == ["tasks/3/input-1.png"]
    assert lambda_env.get_object(Bucket=BUCKET, Key="tasks/3/input-1.png")["Body"].read() == PNG


def test_an_unreachable_endpoint_is_stored_through_botocore(lambda_env, botocore_puts, monkeypatch):
    closed = http.server.HTTPServer(("127.0.0.1", 0), Refusing)
    port = closed.server_port
    closed.server_close()  # nothing listens there now
    monkeypatch.setattr(sigv4, "endpoint_url", lambda: f"http://127.0.0.1:{port}")
    images.put_upload("tasks/4/input-1.png", PNG, "image/png")
    assert botocore_puts == ["tasks/4/input-1.png"]
    assert lambda_env.get_object(Bucket=BUCKET, Key="tasks/4/input-1.png")["Body"].read() == PNG


@pytest.mark.parametrize("setting", [None, "off"])
def test_outside_lambda_or_turned_off_botocore_stores_it(lambda_env, botocore_puts, monkeypatch, setting):
    if setting is None:
        monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
    else:
        monkeypatch.setenv("MJ_S3_DIRECT_PUT", setting)
    images.put_upload("tasks/5/input-1.png", PNG, "image/png")
    assert botocore_puts == ["tasks/5/input-1.png"]

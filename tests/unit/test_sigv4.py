"""mjproxy.sigv4 gives the very URL botocore's generate_presigned_url gives (same clock, same
credentials), for every shape it accepts; and declines the shapes it does not know."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from unittest import mock

import boto3
import pytest
from botocore.config import Config

from mjproxy import sigv4

NOW = datetime(2026, 12, 1, 23, 59, 59, tzinfo=UTC)
KEYS = ["tasks/1733097600123/grid.png", "tasks/17/input-3.webp", "tasks/1 2~/a+b=é%.png"]
CREDS = [
    sigv4.Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
    sigv4.Credentials("ASIAEXAMPLE", "secret/with+chars", "IQoJb3JpZ2luX2VjE/token+x=="),
]
SHAPES = [  # (bucket, region, endpoint_url): as mjproxy.aws configures the S3 client
    ("mjproxy-images-123456789012", "us-east-1", None),
    ("mjproxy-images-123456789012", "eu-west-1", None),
    ("my-bucket", "ap-southeast-2", None),
    ("mjproxy-images", "us-east-1", "http://127.0.0.1:5000"),
    ("mjproxy-images", "eu-central-1", "http://localhost:4566/"),
    ("mjproxy-images", "us-east-1", "https://s3.example.test:443"),
]


def client_as(service, region, endpoint, creds, **kw):
    """botocore's own client for `service`, signing with `creds`."""
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=creds.access_key,
        aws_secret_access_key=creds.secret_key,
        aws_session_token=creds.token,
        **kw,
    )


def botocore_url(bucket, region, endpoint, creds, key, expires, operation="get_object") -> str:
    s3 = client_as(
        "s3",
        region,
        endpoint,
        creds,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if endpoint else "virtual"},
        ),
    )
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        return s3.generate_presigned_url(
            operation, Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires
        )


@pytest.mark.parametrize("bucket,region,endpoint", SHAPES)
@pytest.mark.parametrize("creds", CREDS, ids=["long-term", "session-token"])
@pytest.mark.parametrize(
    "method,operation",
    # GET: image links; PUT: the URL an upload is stored at (mjproxy.images.direct).
    [("GET", "get_object"), ("PUT", "put_object")],
)
def test_urls_are_byte_identical_to_botocore(
    monkeypatch, bucket, region, endpoint, creds, method, operation
):
    for name in sigv4._ENDPOINT_ENV:
        monkeypatch.delenv(name, raising=False)
    signer = sigv4.Presigner(bucket, region, endpoint)
    assert signer.supported
    for key in KEYS:
        for expires in (60, 3600, 604800):
            mine = signer.url(key, expires, creds, now=NOW, method=method)
            theirs = botocore_url(bucket, region, endpoint, creds, key, expires, operation)
            assert mine == theirs


def test_the_method_is_signed(monkeypatch):
    for name in sigv4._ENDPOINT_ENV:
        monkeypatch.delenv(name, raising=False)
    signer = sigv4.Presigner(*SHAPES[0])
    get, put = (signer.url(KEYS[0], 60, CREDS[0], now=NOW, method=m) for m in ("GET", "PUT"))
    assert get.split("X-Amz-Signature=")[1] != put.split("X-Amz-Signature=")[1]


def test_signing_key_is_reused_within_a_day_and_renewed_the_next():
    sigv4._signing_key.cache_clear()
    signer = sigv4.Presigner("my-bucket", "eu-west-1")
    for second in range(3):
        signer.url("tasks/1/grid.png", 60, CREDS[0], now=NOW.replace(second=second))
    assert sigv4._signing_key.cache_info().misses == 1
    signer.url("tasks/1/grid.png", 60, CREDS[0], now=datetime(2026, 12, 2, tzinfo=UTC))
    assert sigv4._signing_key.cache_info().misses == 2


@pytest.mark.parametrize(
    "bucket,region,endpoint",
    [
        ("my.dotted.bucket", "eu-west-1", None),  # botocore switches to path-style
        ("my-bucket", "cn-north-1", None),  # amazonaws.com.cn
        ("my-bucket", "us-gov-west-1", None),
        ("My_Bucket", "eu-west-1", None),
        ("my-bucket", "eu-west-1", "http://127.0.0.1:5000/prefix"),
    ],
)
def test_unknown_shapes_are_left_to_botocore(bucket, region, endpoint):
    assert not sigv4.Presigner(bucket, region, endpoint).supported


def test_endpoint_settings_are_left_to_botocore(monkeypatch):
    monkeypatch.setenv("AWS_USE_FIPS_ENDPOINT", "true")
    assert not sigv4.Presigner("my-bucket", "us-east-1").supported


def test_the_s3_endpoint_setting_is_signed_for_as_botocore_does(monkeypatch):
    """The local mode serves S3 on its API port (AWS_ENDPOINT_URL_S3, path-style as mjproxy.aws
    configures it): the URL is the one botocore's client gives with that setting."""
    for name in sigv4._ENDPOINT_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:8080")
    assert sigv4.endpoint_url() == "http://127.0.0.1:8080"
    signer = sigv4.Presigner("mjproxy-images", "us-east-1", sigv4.endpoint_url())
    assert signer.supported
    creds = CREDS[1]
    s3 = client_as(
        "s3",
        "us-east-1",
        None,
        creds,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    for key in KEYS:
        with mock.patch(
            "botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)
        ):
            theirs = s3.generate_presigned_url(
                "get_object", Params={"Bucket": "mjproxy-images", "Key": key}, ExpiresIn=3600
            )
        assert theirs.startswith("http://127.0.0.1:8080/mjproxy-images/")
        assert signer.url(key, 3600, creds, now=NOW) == theirs
    # Another S3 endpoint than the one set is botocore's to sign.
    assert not sigv4.Presigner("mjproxy-images", "us-east-1", "http://127.0.0.1:5000").supported


# ---- header-signed requests (mjproxy.direct.sqs) ---------------------------------------------
SQS_SHAPES = [  # (region, endpoint_url)
    ("us-east-1", None),
    ("eu-west-1", None),
    ("ap-southeast-2", None),
    ("us-east-1", "http://127.0.0.1:5000"),
    ("eu-central-1", "https://sqs.example.test:8443"),
]


def botocore_request(service, operation, region, endpoint, creds, **params):
    """The request botocore's own client sends for `operation` (caught before it leaves)."""
    made = client_as(service, region, endpoint, creds)
    caught = []

    def catch(request, **kw):
        caught.append(request)
        raise RuntimeError("caught")

    made.meta.events.register(f"before-send.{service}", catch)
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        with pytest.raises(RuntimeError, match="caught"):
            getattr(made, operation)(**params)
    return caught[0]


def botocore_sqs_request(region, endpoint, creds, body: str, delay: int):
    queue_url = f"https://sqs.{region}.amazonaws.com/123456789012/mjproxy-JobsQueue-abc"
    return botocore_request("sqs", "send_message", region, endpoint, creds,
                            QueueUrl=queue_url, MessageBody=body, DelaySeconds=delay)  # fmt: skip


GET_ITEM = {"TableName": "mjproxy-Tasks-1", "Key": {"id": {"S": "1764064525123"}},
            "ConsistentRead": True}  # fmt: skip


GET_SECRET = {"SecretId": "arn:aws:secretsmanager:us-east-1:123456789012:secret:links-AbCdEf"}
GET_PARAMETER = {"Name": "/mjproxy/api-secret", "WithDecryption": True}
CALLS = {  # service: (botocore method, parameters, what mjproxy.direct sends as X-Amz-Target)
    "dynamodb": ("get_item", GET_ITEM, "DynamoDB_20120810.GetItem"),
    "secretsmanager": ("get_secret_value", GET_SECRET, "secretsmanager.GetSecretValue"),
    "ssm": ("get_parameter", GET_PARAMETER, "AmazonSSM.GetParameter"),
}


def botocore_call(service, region, endpoint, creds):
    if service == "sqs":
        return botocore_sqs_request(region, endpoint, creds, '{"taskId":"1","step":"start"}', 5)
    method, params, _ = CALLS[service]
    return botocore_request(service, method, region, endpoint, creds, **params)


@pytest.mark.parametrize("service", ["sqs", *CALLS])
@pytest.mark.parametrize("region,endpoint", SQS_SHAPES)
@pytest.mark.parametrize("creds", CREDS, ids=["long-term", "session-token"])
def test_a_header_signed_request_carries_botocores_signature(service, region, endpoint, creds):
    """Given the request botocore's SQS, DynamoDB, Secrets Manager or SSM client sends (its URL,
    body and the headers it signed), sign_headers computes the same X-Amz-Date, token and
    Authorization."""
    theirs = botocore_call(service, region, endpoint, creds)
    headers = {
        name: value.decode() if isinstance(value, bytes) else value
        for name, value in theirs.headers.items()
    }
    signed = headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    ours_added = {"host", "x-amz-date", "x-amz-security-token"}
    given = {
        name: value
        for name, value in headers.items()
        if name.lower() in signed and name.lower() not in ours_added
    }
    assert {name.lower() for name in given} >= {"content-type", "x-amz-target"}
    body = theirs.body if isinstance(theirs.body, bytes) else theirs.body.encode()
    mine = sigv4.sign_headers("POST", theirs.url, given, body, service, region, creds, now=NOW)
    assert mine["X-Amz-Date"] == headers["X-Amz-Date"]
    assert mine.get("X-Amz-Security-Token") == headers.get("X-Amz-Security-Token")
    assert mine["Authorization"] == headers["Authorization"]


@pytest.mark.parametrize("service", ["sqs", *CALLS])
@pytest.mark.parametrize("region,endpoint", SQS_SHAPES)
def test_direct_calls_go_where_botocore_sends_them(service, region, endpoint, monkeypatch):
    """mjproxy.direct posts where botocore's client posts (the service's own endpoint variable
    included), with the same target and content type and the same parameters, so the
    signature above holds."""
    from mjproxy import direct
    from mjproxy.direct import dynamodb

    theirs = botocore_call(service, region, endpoint, CREDS[0])
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    if endpoint:
        variable = {"secretsmanager": "SECRETS_MANAGER"}.get(service, service.upper())
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{variable}", endpoint)
    assert direct.endpoint(service, region) + "/" == theirs.url
    if service == "sqs":
        return
    target = CALLS[service][2]
    assert theirs.headers["X-Amz-Target"].decode() == target
    if service == "dynamodb":
        monkeypatch.setattr("mjproxy.aws.credentials", lambda: CREDS[0])
        prepared, body = dynamodb.Client(region, None)._request("GetItem", GET_ITEM)
        assert prepared.headers["Content-Type"] == theirs.headers["Content-Type"].decode()
        assert json.loads(body) == json.loads(theirs.body)
    else:
        assert theirs.headers["Content-Type"].decode() == "application/x-amz-json-1.1"
        assert json.loads(theirs.body) == CALLS[service][1]


def test_the_body_is_signed():
    one, other = (
        sigv4.sign_headers("POST", "https://sqs.eu-west-1.amazonaws.com/", {}, body, "sqs",
                           "eu-west-1", CREDS[0], now=NOW)["Authorization"]
        for body in (b'{"a":1}', b'{"a":2}')
    )  # fmt: skip
    assert one != other

"""mjproxy.sigv4 gives the very URL botocore's generate_presigned_url gives (same clock, same
credentials), for every shape it accepts; and declines the shapes it does not know."""

from __future__ import annotations

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


def botocore_url(bucket, region, endpoint, creds, key, expires, operation="get_object") -> str:
    s3 = boto3.client(
        "s3",
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=creds.access_key,
        aws_secret_access_key=creds.secret_key,
        aws_session_token=creds.token,
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
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id=creds.access_key,
        aws_secret_access_key=creds.secret_key,
        aws_session_token=creds.token,
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

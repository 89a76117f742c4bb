"""Inside a Lambda runtime the functions read their keys (the image links' rotating key, the API
secret, the Discord account list) with one signed POST each (mjproxy.direct.secrets): no boto3
client, the same values botocore reads, a missing AWSPREVIOUS version raised as botocore raises
it, and botocore for anything else. Against moto's HTTP server, as over the network."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from mjproxy import config, direct, secrets
from mjproxy.api import auth

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])


def _secret(endpoint: str, value: str) -> tuple[object, str]:
    sm = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1")
    arn = sm.create_secret(Name=f"links-{uuid.uuid4().hex[:8]}", SecretString=value)["ARN"]
    return sm, arn


def test_the_link_keys_are_read_directly_and_follow_a_rotation(lambda_runtime, botocore_clients,
                                                               monkeypatch):  # fmt: skip
    sm, arn = _secret(lambda_runtime, "key-one")
    monkeypatch.setenv("MJ_IMAGE_URL_SECRET_ARN", arn)
    # Before any rotation there is no AWSPREVIOUS: Secrets Manager's ResourceNotFoundException.
    assert secrets.rotating("MJ_IMAGE_URL_SECRET", "MJ_IMAGE_URL_SECRET_ARN") == ("key-one",)
    sm.put_secret_value(SecretId=arn, SecretString="key-two")
    secrets.reset()
    assert secrets.rotating("MJ_IMAGE_URL_SECRET", "MJ_IMAGE_URL_SECRET_ARN") == (
        "key-two", "key-one")  # fmt: skip
    assert botocore_clients == []


def test_the_api_secret_and_the_account_list_are_read_directly(lambda_runtime, botocore_clients,
                                                                monkeypatch):  # fmt: skip
    ssm = boto3.client("ssm", endpoint_url=lambda_runtime, region_name="us-east-1")
    ssm.put_parameter(Name="/mjproxy/api", Value=" s3cret ", Type="SecureString")
    monkeypatch.setenv("MJ_API_SECRET_PARAM", "mjproxy/api")  # as the template passes it
    assert auth.api_secret() == "s3cret"
    instances = [{"id": "acct-1", "provider": "midjourney", "coreSize": 2, "channelId": "1"}]
    _, arn = _secret(lambda_runtime, json.dumps(instances))
    monkeypatch.setenv("MJ_INSTANCES_SECRET_ARN", arn)
    monkeypatch.setenv("MJ_PROVIDER", "midjourney")
    config.reset()
    assert [(i.id, i.coreSize) for i in config.settings().instances] == [("acct-1", 2)]
    assert botocore_clients == []


def test_a_refusal_is_read_through_botocore(lambda_runtime, botocore_clients, monkeypatch):
    _, arn = _secret(lambda_runtime, "key-one")
    real = direct.post
    monkeypatch.setattr(direct, "post", lambda *a: (500, b'{"__type":"InternalServiceError"}',
                                                    None))  # fmt: skip
    assert secrets.fetch("", arn) == "key-one"
    assert botocore_clients == ["secretsmanager"]
    # A bug in the direct path costs the attempt, not the read.
    monkeypatch.setattr(direct, "post", lambda *a: {}["bug"])
    assert secrets.fetch("", arn) == "key-one"
    monkeypatch.setattr(direct, "post", real)
    monkeypatch.setenv("MJ_SECRETS_DIRECT", "off")
    monkeypatch.setattr(direct, "prepare", lambda *a: pytest.fail("off: no direct call"))
    assert secrets.fetch("", arn) == "key-one"

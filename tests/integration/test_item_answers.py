"""mjproxy's DynamoDB client reads item answers with mjproxy.store.answers (json.loads unless
the body holds a binary value) and gets exactly what botocore's own parser gives: results,
binary values and errors, for every item operation the store uses."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws

from mjproxy.store import answers
from mjproxy.store.answers import use_item_answer_parser

from .test_local_direct import TABLE, _script, assert_same_script


def _run(fast: bool) -> tuple[list[Any], int]:
    taken = []
    original = answers.ItemAnswerParser._parse_body_as_json

    def counted(self: Any, body: Any) -> Any:
        taken.append(1)
        return original(self, body)

    with mock_aws(), pytest.MonkeyPatch.context() as mp:
        mp.setattr(answers.ItemAnswerParser, "_parse_body_as_json", counted)
        db = boto3.session.Session().client("dynamodb", region_name="us-east-1")
        db.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])  # fmt: skip
        if fast:
            use_item_answer_parser(db)
        taken.clear()
        return _script(db), len(taken)


def test_item_answers_equal_botocores_parse(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    slow, slow_taken = _run(fast=False)
    fast, fast_taken = _run(fast=True)
    assert slow_taken == 0 and fast_taken > 0  # the json.loads path is the one taken
    assert_same_script(slow, fast)
    by_call = {a[0] + str(i): a for i, a in enumerate(fast)}
    assert by_call["get_item5"][1]["Item"]["blob"] == {"B": b"\x00\x01png"}  # the slow path


def test_mjproxys_dynamodb_client_uses_it(system):
    from mjproxy.aws import client

    factory = client("dynamodb")._endpoint._response_parser_factory
    assert isinstance(factory.create_parser("json"), answers.ItemAnswerParser)
    assert not isinstance(
        client("s3")._endpoint._response_parser_factory.create_parser("json"),
        answers.ItemAnswerParser,
    )

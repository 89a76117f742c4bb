"""The local mode's direct DynamoDB path (mjproxy.local.direct) answers exactly as botocore's
HTTP round trip to the same moto does: results, binary values, errors, and the writes the data
directory's journal sees; and it is the path item operations take."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from mjproxy.local.direct import ITEM_OPERATIONS
from mjproxy.local.emulator import Emulator, Write

TABLE = "tasks"
ITEM = {
    "id": {"S": "1764064525123456"},
    "seq": {"N": "6"},
    "prompt": {"S": 'a "B": fox, 狐'},  # the binary marker inside a string: the slow path, same
    "buttons": {"L": [{"M": {"customId": {"S": "MJ::JOB::upsample::1::x"}, "type": {"N": "2"}}}]},
    "properties": {"M": {"notifyHook": {"NULL": True}, "flag": {"BOOL": False}}},
    "tags": {"SS": ["a", "b"]},
    "sizes": {"NS": ["1", "2.5"]},
}
BINARY = {"id": {"S": "2"}, "blob": {"B": b"\x00\x01png"}, "blobs": {"BS": [b"x", b"y"]}}


def same_answers(slow: dict[str, Any], fast: dict[str, Any]) -> bool:
    """Equal results once the per-request metadata (request id, date, length) is set aside."""

    def strip(d: dict[str, Any]) -> str:
        return json.dumps({k: v for k, v in d.items() if k != "ResponseMetadata"}, default=repr,
                          sort_keys=True)  # fmt: skip

    return strip(slow) == strip(fast)


def assert_same_script(slow: list[Any], fast: list[Any]) -> None:
    """Two runs of `_script` gave the same answers and the same errors, call by call."""
    assert len(slow) == len(fast)
    for a, b in zip(slow, fast, strict=True):
        if len(a) == 2:
            assert same_answers(a[1], b[1]), (a, b)
        else:
            assert a == b


def _script(db: Any) -> list[Any]:
    """Item operations in the shapes the store uses, answers and errors alike."""
    out: list[Any] = []

    def call(name: str, **kwargs: Any) -> None:
        try:
            out.append((name, getattr(db, name)(**kwargs)))
        except ClientError as exc:
            out.append((name, "error", exc.response["Error"], exc.response.get(
                "CancellationReasons")))  # fmt: skip

    call("put_item", TableName=TABLE, Item=ITEM)
    call("put_item", TableName=TABLE, Item=BINARY, ReturnValues="ALL_OLD")
    call("put_item", TableName=TABLE, Item={"id": {"S": "3"}, "seq": {"N": "1"}},
         ConditionExpression="attribute_not_exists(id)")  # fmt: skip
    call("put_item", TableName=TABLE, Item={"id": {"S": "3"}},
         ConditionExpression="attribute_not_exists(id)")  # fmt: skip
    call("get_item", TableName=TABLE, Key={"id": ITEM["id"]}, ConsistentRead=True)
    call("get_item", TableName=TABLE, Key={"id": {"S": "2"}})
    call("get_item", TableName=TABLE, Key={"id": {"S": "404"}})
    call("get_item", TableName=TABLE, Key={"id": ITEM["id"]}, ProjectionExpression="seq, tags")
    keys = [{"id": {"S": i}} for i in (ITEM["id"]["S"], "2", "3", "404")]
    call("batch_get_item", RequestItems={TABLE: {"Keys": keys}})
    call("batch_get_item", RequestItems={TABLE: {"Keys": keys + keys[:1]}})  # duplicates
    call("update_item", TableName=TABLE, Key={"id": {"S": "3"}},
         UpdateExpression="SET seq = seq + :one", ConditionExpression="seq = :s",
         ExpressionAttributeValues={":one": {"N": "1"}, ":s": {"N": "1"}},
         ReturnValues="ALL_NEW")  # fmt: skip
    call("update_item", TableName=TABLE, Key={"id": {"S": "3"}},
         UpdateExpression="SET seq = :s", ConditionExpression="seq = :s",
         ExpressionAttributeValues={":s": {"N": "99"}})  # fmt: skip
    call("query", TableName=TABLE, KeyConditionExpression="id = :i",
         ExpressionAttributeValues={":i": {"S": "3"}})  # fmt: skip
    call("scan", TableName=TABLE, Limit=2)
    call("batch_write_item", RequestItems={TABLE: [
        {"PutRequest": {"Item": {"id": {"S": "4"}}}},
        {"DeleteRequest": {"Key": {"id": {"S": "3"}}}},
    ]})  # fmt: skip
    call("transact_write_items", TransactItems=[
        {"Put": {"TableName": TABLE, "Item": {"id": {"S": "5"}}}},
        {"ConditionCheck": {"TableName": TABLE, "Key": {"id": {"S": "404"}},
                            "ConditionExpression": "attribute_exists(id)"}},
    ])  # fmt: skip
    call("delete_item", TableName=TABLE, Key={"id": {"S": "2"}}, ReturnValues="ALL_OLD")
    call("scan", TableName=TABLE)
    return out


def _run(monkeypatch: pytest.MonkeyPatch, direct: bool) -> tuple[list[Any], list[Write], int]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    emulator = Emulator().start()
    try:
        if not direct:
            emulator._remove_direct()
        writes: list[Write] = []
        emulator.hook = writes.append
        db = boto3.session.Session().client("dynamodb", region_name="us-east-1")
        db.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])  # fmt: skip
        sent: list[str] = []
        db.meta.events.register("before-send.dynamodb", lambda request, **_: sent.append(
            request.headers["X-Amz-Target"].decode().rsplit(".", 1)[-1]))  # fmt: skip
        answers = _script(db)
        over_http = sum(1 for op in sent if op in ITEM_OPERATIONS)
        return answers, writes, over_http
    finally:
        emulator.stop()


def test_direct_answers_equal_the_http_round_trip(monkeypatch):
    slow, slow_writes, slow_sent = _run(monkeypatch, direct=False)
    fast, fast_writes, fast_sent = _run(monkeypatch, direct=True)
    assert slow_sent > 0 and fast_sent == 0  # the direct path is the one taken
    assert_same_script(slow, fast)
    # Binary values come back as bytes, errors with their codes, as over HTTP.
    answers = dict((a[0] + str(i), a) for i, a in enumerate(fast))
    assert answers["get_item5"][1]["Item"]["blob"] == {"B": b"\x00\x01png"}
    assert answers["put_item3"][2]["Code"] == "ConditionalCheckFailedException"
    assert answers["transact_write_items15"][2]["Code"] == "TransactionCanceledException"
    assert [(w.operation, w.body) for w in fast_writes] == [
        (w.operation, w.body) for w in slow_writes
    ]

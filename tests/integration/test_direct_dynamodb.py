"""Inside a Lambda runtime the store's DynamoDB calls are signed POSTs (mjproxy.direct.dynamodb):
no boto3 import, no botocore client, and the same answers and errors botocore's client gives.
Whatever that POST cannot do goes through botocore, and a write is never lost or doubled by
it. Against moto's HTTP server (another thread), as a function reaches DynamoDB over the
network."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from mjproxy import aws, images
from mjproxy import direct as transport
from mjproxy.direct import dynamodb as direct_ddb
from mjproxy.domain.task import Task, TaskAction, TaskStatus
from mjproxy.store.tasks import Conflict, TaskRepository
from tests.harness import reset_caches

from .test_local_direct import _script, assert_same_script

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])
ROOT = Path(__file__).resolve().parents[2]


def _table(db, name: str) -> None:
    db.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                    KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])  # fmt: skip


@pytest.fixture
def lambda_env(lambda_runtime):
    """botocore's own DynamoDB client, on the same moto server."""
    return boto3.client("dynamodb", endpoint_url=lambda_runtime, region_name="us-east-1")


@pytest.fixture
def tasks_table(lambda_env, monkeypatch):
    name = f"tasks-{uuid.uuid4().hex[:8]}"
    _table(lambda_env, name)
    return name


def _task(task_id: str, status: TaskStatus = TaskStatus.SUBMITTED) -> Task:
    return Task(id=task_id, action=TaskAction.IMAGINE, status=status, prompt="a fox, 狐",
                submitTime=1764064525123, properties={"notifyHook": None, "n": 1.5})  # fmt: skip


def test_the_item_script_answers_as_botocore_does(lambda_env, botocore_clients):
    botocore_db = lambda_env
    _table(botocore_db, "tasks")
    slow = _script(botocore_db)
    botocore_db.delete_table(TableName="tasks")
    _table(botocore_db, "tasks")
    fast = _script(aws.client("dynamodb"))

    assert isinstance(aws.client("dynamodb"), direct_ddb.Client)
    assert_same_script(slow, fast)
    by_call = {a[0] + str(i): a for i, a in enumerate(fast)}
    assert by_call["get_item5"][1]["Item"]["blob"] == {"B": b"\x00\x01png"}  # decoded, as botocore
    # Only the put of bytes (JSON cannot carry them) needed botocore's client.
    assert botocore_clients == ["dynamodb"]


def test_the_task_store_round_trip_needs_no_botocore_client(tasks_table, botocore_clients):
    repo = TaskRepository(tasks_table)
    repo.create(_task("1764064525123001"))
    repo.create(_task("1764064525123002", TaskStatus.IN_PROGRESS))
    with pytest.raises(Conflict):
        repo.create(_task("1764064525123001"))  # a failed condition, raised as botocore's
    got = repo.get("1764064525123001")
    assert got is not None and got.prompt == "a fox, 狐" and got.properties == {"n": 1.5}
    assert got.status is TaskStatus.SUBMITTED and got.submitTime == 1764064525123
    ids = ["1764064525123002", "1764064525123001", "404"]
    assert sorted(t.id for t in repo.batch_get(ids)) == sorted(ids[:2])
    repo.delete("1764064525123002")
    assert repo.get("1764064525123002") is None
    assert botocore_clients == []


def test_a_condition_failure_carries_the_item_as_botocores_does(lambda_env, botocore_clients):
    db = aws.client("dynamodb")
    _table(lambda_env, "held")
    db.put_item(TableName="held", Item={"id": {"S": "a"}, "active": {"SS": ["x"]}})
    with pytest.raises(db.exceptions.ConditionalCheckFailedException) as caught:
        db.put_item(TableName="held", Item={"id": {"S": "a"}},
                    ConditionExpression="attribute_not_exists(id)",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD")  # fmt: skip
    with pytest.raises(ClientError) as real:
        lambda_env.put_item(TableName="held", Item={"id": {"S": "a"}},
                            ConditionExpression="attribute_not_exists(id)",
                            ReturnValuesOnConditionCheckFailure="ALL_OLD")  # fmt: skip
    assert caught.value.response["Item"] == real.value.response["Item"]
    assert caught.value.response["Error"] == real.value.response["Error"]
    assert str(caught.value) == str(real.value)
    assert botocore_clients == []


def test_a_refused_or_lost_call_goes_through_botocore(tasks_table, botocore_clients, monkeypatch):
    repo = TaskRepository(tasks_table)
    real = transport.request
    answers = iter([
        lambda *a: (503, b'{"__type":"ServiceUnavailable"}', http.client.HTTPMessage()),
        lambda *a: (_ for _ in ()).throw(ConnectionResetError("reset")),
        lambda *a: _bad_crc(real(*a)),
    ])  # fmt: skip
    monkeypatch.setattr(transport, "request", lambda *a: next(answers)(*a))

    repo.create(_task("1764064525123003"))  # a 503: botocore sends it
    assert repo.get("1764064525123003") is not None  # the connection reset: botocore reads it
    # The answer fails its CRC32: botocore reads again (a write would be sent again, as
    # botocore's own retry sends it).
    assert repo.get("1764064525123003").prompt == "a fox, 狐"
    assert botocore_clients == ["dynamodb"] * 3  # each of the three calls
    monkeypatch.setattr(transport, "request", real)
    # botocore's errors are raised as the direct client's classes: the store's except catches.
    monkeypatch.setattr(direct_ddb.Client, "_direct", lambda *a: None)
    with pytest.raises(Conflict):
        repo.create(_task("1764064525123003"))


def _bad_crc(reply):
    status, data, headers = reply
    assert headers["x-amz-crc32"]  # DynamoDB's (and moto's) checksum of the body
    del headers["x-amz-crc32"]
    headers["x-amz-crc32"] = "1"
    return status, data, headers


def test_a_bug_after_a_write_was_sent_does_not_send_it_twice(tasks_table, monkeypatch):
    repo = TaskRepository(tasks_table)
    monkeypatch.setattr(direct_ddb.Client, "_answer", _raise)
    with pytest.raises(RuntimeError):
        repo.create(_task("1764064525123004"))
    # A read is made again through botocore; the write above reached the table once.
    assert repo.get("1764064525123004").id == "1764064525123004"


def _raise(*_):
    raise RuntimeError("a bug")


def test_other_methods_and_outside_lambda_use_botocore(lambda_env, botocore_clients, monkeypatch):
    db = aws.client("dynamodb")
    _table(lambda_env, "other")
    assert db.describe_table(TableName="other")["Table"]["TableName"] == "other"
    assert botocore_clients == ["dynamodb"]
    for name, value in (("MJ_DYNAMODB_DIRECT", "off"), ("AWS_LAMBDA_FUNCTION_NAME", None)):
        if value is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, value)
        reset_caches()
        assert not isinstance(aws.client("dynamodb"), direct_ddb.Client)
        monkeypatch.delenv("MJ_DYNAMODB_DIRECT", raising=False)
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "TaskFetchFunction")
    monkeypatch.setenv("AWS_USE_FIPS_ENDPOINT", "true")
    assert transport.endpoint("dynamodb", "us-east-1") is None


def test_a_cold_fetch_imports_no_boto3(tasks_table, moto_server):
    """The task_fetch function, in a fresh interpreter as Lambda starts it, answers a finished
    task with its stable image link signed by the key in Secrets Manager (as the template
    configures it), without importing boto3 or botocore's client machinery."""
    task_id = "1764064525123005"
    done_task = _task(task_id, TaskStatus.SUCCESS)
    done_task.imageKey = f"tasks/{task_id}/grid.png"
    TaskRepository(tasks_table).create(done_task)
    sm = boto3.client("secretsmanager", endpoint_url=moto_server, region_name="us-east-1")
    arn = sm.create_secret(Name=f"links-{uuid.uuid4().hex[:8]}", SecretString="link-key")["ARN"]
    event = (ROOT / "events/task_fetch.json").read_text().replace("1717401234567123", task_id)
    code = (
        "import json, sys, app; "
        "out = app.lambda_handler(json.loads(sys.stdin.read()), None); "
        "print(json.dumps({'out': out, 'mods': sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('boto3', 's3transfer') or m in ('botocore.client', 'botocore.session'))}))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(PYTHONPATH=str(ROOT / "layers/common/python"), TABLE_NAME=tasks_table,
               MJ_IMAGE_URL_MODE="stable", MJ_PUBLIC_BASE_URL="https://mj.example.test",
               MJ_IMAGE_URL_SECRET_ARN=arn, MJ_IMAGE_URL_SECRET="")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "functions/task_fetch", env=env,
                          input=event, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    body = json.loads(result["out"]["body"])
    assert result["out"]["statusCode"] == 200
    assert body["id"] == task_id and body["status"] == "SUCCESS"
    signature = images.key_signature(done_task.imageKey, "link-key")
    assert (
        body["imageUrl"] == f"https://mj.example.test/mj/image/{task_id}/grid.png?sig={signature}"
    )
    assert result["mods"] == []

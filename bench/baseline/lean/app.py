"""Lean baseline handler for the benchmarks (issue 17): GET /mj/task/{id}/fetch with boto3 and
json only, one GetItem, nothing else (no framework, no validation, no logging library). The
reference of the cold-start table (every API function <= 1.2x of it). `handle(..., sign=True)`
also presigns the item's image keys (imageKey + quadrantKeys, five for a finished grid) with
botocore's generate_presigned_url, the usual way: the warm table's "same work" reference for
fetch. Not part of mjproxy."""

from __future__ import annotations

import json
import os

import boto3
from botocore.config import Config

TABLE_NAME = os.environ["TABLE_NAME"]
dynamodb = boto3.client("dynamodb")
_s3 = None


def _plain(attr: dict):
    ((kind, value),) = attr.items()
    if kind == "N":
        return int(value) if value.lstrip("-").isdigit() else float(value)
    if kind == "M":
        return {k: _plain(v) for k, v in value.items()}
    if kind == "L":
        return [_plain(v) for v in value]
    return value


def _presign(key: str) -> str:
    global _s3
    if _s3 is None:  # as mjproxy.aws configures it: SigV4, path-style against a local endpoint
        style = "path" if os.environ.get("AWS_ENDPOINT_URL") else "virtual"
        config = Config(signature_version="s3v4", s3={"addressing_style": style})
        _s3 = boto3.client("s3", config=config)
    return _s3.generate_presigned_url(
        "get_object", Params={"Bucket": os.environ["BUCKET_NAME"], "Key": key}, ExpiresIn=3600
    )


def handle(event: dict, context: object, sign: bool = False) -> dict:
    task_id = (event.get("pathParameters") or {}).get("id", "")
    item = dynamodb.get_item(TableName=TABLE_NAME, Key={"id": {"S": task_id}}).get("Item")
    task = {k: _plain(v) for k, v in item.items()} if item else None
    if task and sign:
        keys = [task.get("imageKey"), *(task.get("quadrantKeys") or [])]
        task["imageUrl"] = None
        task["imageUrls"] = [{"url": _presign(k)} for k in keys if k]
        if task["imageUrls"]:
            task["imageUrl"] = task["imageUrls"].pop(0)["url"]
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(task, separators=(",", ":")),
    }


def lambda_handler(event: dict, context: object) -> dict:
    return handle(event, context)

"""Baseline handler for the benchmarks: GET /mj/task/{id}/fetch written in the most common style
for a Python Lambda behind API Gateway (Powertools REST resolver with validation, a pydantic
response model, a module-level boto3 client, one GetItem). Not part of mjproxy: it exists only so
every figure in bench/ has a reference measured in the same run on the same machine."""

from __future__ import annotations

import os

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

logger = Logger(service="baseline")
app = APIGatewayRestResolver(enable_validation=True)
dynamodb = boto3.client("dynamodb")
TABLE_NAME = os.environ["TABLE_NAME"]


class Task(BaseModel):
    id: str
    action: str | None = None
    status: str | None = None
    prompt: str | None = None
    description: str | None = None
    submitTime: int | None = None
    startTime: int | None = None
    finishTime: int | None = None
    progress: str | None = None
    failReason: str | None = None
    imageKey: str | None = None


def _value(attr: dict) -> str | int | None:
    if "S" in attr:
        return attr["S"]
    if "N" in attr:
        return int(attr["N"])
    return None


@app.get("/mj/task/<task_id>/fetch")
def fetch(task_id: str) -> Task | None:
    item = dynamodb.get_item(TableName=TABLE_NAME, Key={"id": {"S": task_id}}).get("Item")
    if item is None:
        return None
    return Task(**{k: _value(v) for k, v in item.items() if k in Task.model_fields})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)

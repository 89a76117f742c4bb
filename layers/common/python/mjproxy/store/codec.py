"""Task <-> DynamoDB item (low-level client format, which is lighter at cold start than the
resource API). Floats become Decimals on the way in; Decimals become ints on the way out."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from ..domain.task import Task, TaskAction, TaskStatus

_ser = TypeSerializer()
_de = TypeDeserializer()
TASK_ATTRS = tuple(f.name for f in fields(Task))


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, (TaskAction, TaskStatus)):
        return value.value
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return [_plain(v) for v in value]
    return value


def to_av(value: Any) -> dict[str, Any]:
    return _ser.serialize(_clean(value))


def to_item(task: Task) -> dict[str, Any]:
    item = {}
    for name in TASK_ATTRS:
        value = getattr(task, name)
        if value is None:
            continue
        item[name] = to_av(value)
    return item


def from_item(item: dict[str, Any]) -> Task:
    data = {k: _plain(_de.deserialize(v)) for k, v in item.items() if k in TASK_ATTRS}
    data["action"] = TaskAction(data["action"])
    data["status"] = TaskStatus(data["status"])
    return Task(**data)

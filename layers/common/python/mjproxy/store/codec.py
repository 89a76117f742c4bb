"""Task <-> DynamoDB item (low-level client format, which is lighter at cold start than the
resource API). Floats become Decimals on the way in; Decimals become ints on the way out.

The AttributeValue mapping is boto3.dynamodb.types' (TypeSerializer/TypeDeserializer), written
here because importing boto3 costs an API function ~240 ms of its cold start and nothing else of
it is needed there (mjproxy.direct.dynamodb). tests/unit/test_codec.py checks both agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import fields
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

from ..domain.task import Task, TaskAction, TaskStatus

# DynamoDB's numbers: 38 significant digits, exponents -130..125; anything it would round or
# clamp is refused rather than stored changed (as boto3 refuses it).
NUMBERS = Context(
    Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow]
)
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


def serialize(value: Any) -> dict[str, Any]:
    """A Python value as an AttributeValue: None, bool, int/Decimal, str, bytes, sets of one of
    these, lists/tuples and mappings of them. A float is refused: Decimal(str(x)) it first."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, Decimal)):
        return {"N": _number(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (bytes, bytearray)):
        return {"B": value}
    if isinstance(value, Set) and value:
        members = list(value)
        if all(isinstance(v, str) for v in members):
            return {"SS": members}
        if all(isinstance(v, (int, Decimal)) and not isinstance(v, bool) for v in members):
            return {"NS": [_number(v) for v in members]}
        if all(isinstance(v, (bytes, bytearray)) for v in members):
            return {"BS": members}
    if isinstance(value, (list, tuple)):
        return {"L": [serialize(v) for v in value]}
    if isinstance(value, Mapping):
        return {"M": {str(k): serialize(v) for k, v in value.items()}}
    raise TypeError(f"Unsupported type {type(value)!r} for value {value!r}")


def _number(value: int | Decimal) -> str:
    text = str(NUMBERS.create_decimal(value))
    if text in ("Infinity", "-Infinity", "NaN", "sNaN", "-NaN", "-sNaN"):
        raise TypeError("Infinity and NaN not supported")
    return text


def deserialize(av: Mapping[str, Any]) -> Any:
    """An AttributeValue as a Python value: numbers as Decimals, sets as sets."""
    ((kind, value),) = av.items()
    if kind == "S":
        return value
    if kind == "N":
        return NUMBERS.create_decimal(value)
    if kind == "BOOL":
        return value
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: deserialize(v) for k, v in value.items()}
    if kind == "L":
        return [deserialize(v) for v in value]
    if kind == "SS":
        return set(value)
    if kind == "NS":
        return {NUMBERS.create_decimal(v) for v in value}
    if kind == "B":
        return value
    if kind == "BS":
        return set(value)
    raise TypeError(f"Unknown DynamoDB type {kind!r}")


def to_av(value: Any) -> dict[str, Any]:
    return serialize(_clean(value))


def to_item(task: Task) -> dict[str, Any]:
    item = {}
    for name in TASK_ATTRS:
        value = getattr(task, name)
        if value is None:
            continue
        item[name] = to_av(value)
    return item


def plain(av: Mapping[str, Any]) -> Any:
    """`_plain(deserialize(av))` in one walk (a list answer reads 100 items of ~60 values
    each): numbers as int (float if fractional), sets as lists."""
    ((kind, value),) = av.items()
    if kind == "S" or kind == "BOOL" or kind == "B":
        return value
    if kind == "N":
        # An integer literal DynamoDB can hold reads as the int the Decimal would give.
        digits = value[1:] if value[:1] == "-" else value
        if digits.isascii() and digits.isdigit() and len(digits) <= NUMBERS.prec:
            return int(value)
        return _plain(NUMBERS.create_decimal(value))
    if kind == "M":
        return {k: plain(v) for k, v in value.items()}
    if kind == "L":
        return [plain(v) for v in value]
    if kind == "NULL":
        return None
    return _plain(deserialize(av))


def from_item(item: dict[str, Any]) -> Task:
    data = {k: plain(v) for k, v in item.items() if k in TASK_ATTRS}
    data["action"] = TaskAction(data["action"])
    data["status"] = TaskStatus(data["status"])
    return Task(**data)

"""Four speed-ups of moto's DynamoDB emulation, same results (used by the local mode's emulator
and by bench/moto_fast.py's server).

moto 5.2 serializes every response by walking the botocore shape model node by node, and sizes
every item it returns the same way. For task items (~2.8 KB, nine nested buttons) that costs
about 10 ms per item. An `AttributeValue` moto hands to the serializer is already in its wire form
({"S": ...}, {"M": {...}}, ...), so it is copied as is instead of walked (unless it holds binary,
which takes moto's own path); DynamoType.size() runs the same rules without building a new
object per nested value; and the conversion of a result to plain values (dynamo_to_dict) does
without moto's generic probing per node (binary values still take moto's own path); within one
read operation (nothing changes an item during it) an item is sized once, not at every check
against the response size limits. `check()` proves both paths give identical answers for a realistic item.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from moto.core import serialize
from moto.dynamodb import responses as dynamo_responses
from moto.dynamodb.models import dynamo_type
from moto.dynamodb.models.utilities import bytesize

_original = serialize.BaseJSONSerializer._serialize_type_structure
_original_size = dynamo_type.DynamoType.size
_original_to_dict = dynamo_responses.dynamo_to_dict
_SCALARS = (str, int, float, bool, type(None))
_original_item_size = dynamo_type.Item.size
_original_call_action = dynamo_responses.DynamoHandler.call_action
READ_ACTIONS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
_reading = threading.local()  # .sizes: {id(item): (item, size)} while a read action runs
log = logging.getLogger("mjproxy.local")


def _plain(value: Any) -> bool:
    """True when `value` is an AttributeValue in wire form without binary anywhere inside."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    (kind, inner), = value.items()  # fmt: skip
    if kind in ("S", "N", "BOOL", "NULL"):
        return True
    if kind in ("SS", "NS"):
        return isinstance(inner, list)
    if kind == "L":
        return isinstance(inner, list) and all(_plain(v) for v in inner)
    if kind == "M":
        return isinstance(inner, dict) and all(_plain(v) for v in inner.values())
    return False  # B, BS, or anything unexpected: moto's own path


def _fast(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
    if key and shape.name == "AttributeValue" and _plain(value):
        self._default_serialize(serialized, value, shape, key)
        return
    _original(self, serialized, value, shape, key)


def _size(t: str, v: Any) -> int:
    """DynamoType.size() without building a DynamoType per nested value (same rules)."""
    if t == "N":
        return len(str(v))
    if t in ("SS", "NS", "BS"):
        return sum(_size(t[0], x) for x in v)
    if t == "L":
        return sum(_node_size(x) for x in v)
    if t == "M":
        return sum(bytesize(k) + _node_size(x) for k, x in v.items())
    if isinstance(v, bool):
        return 1
    return bytesize(v)


def _node_size(x: Any) -> int:
    if isinstance(x, dynamo_type.DynamoType):
        return _size(x.type, x.value)
    return _original_size(dynamo_type.DynamoType(x))


def _fast_size(self: Any) -> int:
    return _size(self.type, self.value)


def _to_dict(obj: Any) -> Any:
    """moto's dynamo_to_dict for results made of DynamoTypes, dicts, lists and scalars."""
    kind = type(obj)
    if kind is dynamo_type.DynamoType:
        t, v = obj.type, obj.value
        if t == "M" and type(v) is dict:
            return {"M": {k: _to_dict(x) for k, x in v.items()}}
        if t == "L" and type(v) is list:
            return {"L": [_to_dict(x) for x in v]}
        if t in ("S", "N", "BOOL", "NULL") and type(v) in _SCALARS:
            return {t: v}
        if t in ("SS", "NS") and type(v) is list:
            return {t: list(v)}
        return _original_to_dict(obj)  # binary, or anything unexpected
    if kind is dict or (isinstance(obj, dict) and not hasattr(obj, "to_json")):
        return {k: _to_dict(x) for k, x in obj.items()}  # (moto's item attributes: a subclass)
    if kind is list:
        return [_to_dict(x) for x in obj]
    if kind in _SCALARS:
        return obj
    return _original_to_dict(obj)


def _item_size(self: Any) -> int:
    sizes = getattr(_reading, "sizes", None)
    if sizes is None:
        return _original_item_size(self)
    known = sizes.get(id(self))
    if known is None or known[0] is not self:
        known = sizes[id(self)] = (self, _original_item_size(self))
    return known[1]


def _call_action(self: Any) -> Any:
    if self._get_action() not in READ_ACTIONS or getattr(_reading, "sizes", None) is not None:
        return _original_call_action(self)
    _reading.sizes = {}
    try:
        return _original_call_action(self)
    finally:
        _reading.sizes = None


def install() -> None:
    serialize.BaseJSONSerializer._serialize_type_structure = _fast
    # moto sizes every item it returns (response limits) node by node; DynamoDB does not.
    dynamo_type.DynamoType.size = _fast_size
    dynamo_responses.dynamo_to_dict = _to_dict
    dynamo_type.Item.size = _item_size
    dynamo_responses.DynamoHandler.call_action = _call_action


def uninstall() -> None:
    serialize.BaseJSONSerializer._serialize_type_structure = _original
    dynamo_type.DynamoType.size = _original_size
    dynamo_responses.dynamo_to_dict = _original_to_dict
    dynamo_type.Item.size = _original_item_size
    dynamo_responses.DynamoHandler.call_action = _original_call_action


def check() -> None:
    """Serialize a realistic BatchGetItem result both ways; they must be identical."""
    import json

    from moto.core.utils import get_service_model

    model = get_service_model("dynamodb").operation_model("BatchGetItem")
    button = {"M": {"customId": {"S": "MJ::JOB::upsample::1::x"}, "type": {"N": "2"}}}
    item = {
        "id": {"S": "1764064525123456"},
        "seq": {"N": "6"},
        "buttons": {"L": [button] * 9},
        "quadrantKeys": {"L": [{"S": f"tasks/1/{i}.png"} for i in range(1, 5)]},
        "properties": {"M": {"notifyHook": {"NULL": True}, "flag": {"BOOL": False}}},
        "active": {"SS": ["a", "b"]},
        "blob": {"B": "aGVsbG8="},
    }
    result = {"Responses": {"t": [item, {"id": {"S": "2"}}]}, "UnprocessedKeys": {}}

    def run() -> str:
        ser = serialize.JSONSerializer(operation_model=model, pretty_print=False)
        return json.dumps(json.loads(ser.serialize(result)["body"]), sort_keys=True)

    stored = dynamo_type.Item(
        dynamo_type.DynamoType(item["id"]), None, {k: v for k, v in item.items()}
    )
    # What moto's BatchGetItem hands to dynamo_to_dict: DynamoTypes inside plain containers.
    described = {"Responses": {"t": [stored.describe_attrs(None)["Item"]]}, "Count": 1}

    def converted() -> str:
        return repr(dynamo_responses.dynamo_to_dict(described))

    slow, slow_size, slow_dict = run(), stored.size(), converted()
    install()
    fast, fast_size, fast_dict = run(), stored.size(), converted()
    uninstall()
    assert slow == fast, (slow, fast)
    assert slow_size == fast_size, (slow_size, fast_size)
    assert slow_dict == fast_dict, (slow_dict, fast_dict)
    log.info(f"moto speed-ups: identical responses and item sizes ({fast_size} bytes)")

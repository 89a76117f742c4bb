"""The store's AttributeValue mapping (mjproxy.store.codec, written so an API function need not
import boto3) gives what boto3.dynamodb.types gives, both ways, and refuses what it refuses."""

from __future__ import annotations

from decimal import Decimal

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

from mjproxy.store import codec

VALUES = [
    None, True, False, 0, -7, 2**63, Decimal("1.5"), Decimal("-0.001"), Decimal("1E+2"),
    Decimal("12345678901234567890123456789012345678"), "", "a fox, 狐", b"\x00png", bytearray(b"x"),
    {"a", "b"}, {1, Decimal("2.5")}, {b"x", b"y"}, [], [1, "a", None, [True]], (1, 2),
    {}, {"customId": "MJ::JOB::upsample::1::x", "type": 2, "nested": {"k": [Decimal("0.1")]}},
]  # fmt: skip
REFUSED = [1.5, Decimal("Infinity"), Decimal("NaN"), Decimal("1.234567890123456789012345678901234567891"),
           Decimal("1E+200"), {1, "a"}, object()]  # fmt: skip


def _sorted_sets(av):
    """Set members in a fixed order (a set's iteration order is not part of either mapping)."""
    if isinstance(av, dict):
        return {k: sorted(v) if k in ("SS", "NS", "BS") else _sorted_sets(v) for k, v in av.items()}
    if isinstance(av, list):
        return [_sorted_sets(v) for v in av]
    return av


def _ids(values):  # stable across xdist workers: no set order or object address in them
    return [f"{i}-{type(v).__name__}" for i, v in enumerate(values)]


@pytest.mark.parametrize("value", VALUES, ids=_ids(VALUES))
def test_serialize_and_deserialize_agree_with_boto3(value):
    ours, theirs = codec.serialize(value), TypeSerializer().serialize(value)
    assert _sorted_sets(ours) == _sorted_sets(theirs)
    back, boto_back = codec.deserialize(theirs), TypeDeserializer().deserialize(theirs)
    # boto3 wraps binary values in its Binary; ours are the bytes it wraps.
    if isinstance(boto_back, Binary):
        boto_back = boto_back.value
    elif isinstance(boto_back, set):
        boto_back = {v.value if isinstance(v, Binary) else v for v in boto_back}
    assert back == boto_back and type(back) is type(boto_back)


@pytest.mark.parametrize("value", REFUSED, ids=_ids(REFUSED))
def test_what_boto3_refuses_is_refused(value):
    with pytest.raises(Exception) as theirs:
        TypeSerializer().serialize(value)
    with pytest.raises(type(theirs.value)):
        codec.serialize(value)


def test_a_task_item_round_trips_with_numbers_as_json_gives_them():
    from mjproxy.domain.task import Task, TaskAction, TaskStatus

    task = Task(id="1764064525123001", action=TaskAction.UPSCALE, status=TaskStatus.SUCCESS,
                prompt="狐", submitTime=1764064525123, progress="100%",
                properties={"n": 1.5, "flags": [1, 2], "none": None})  # fmt: skip
    item = codec.to_item(task)
    assert item["submitTime"] == {"N": "1764064525123"}
    back = codec.from_item(item)
    assert back.properties == {"n": 1.5, "flags": [1, 2]} and back.submitTime == 1764064525123
    assert isinstance(back.submitTime, int) and back.action is TaskAction.UPSCALE


# Number strings as DynamoDB answers them (it normalises: no "+", no leading zeros), and the
# forms a stored task has: epoch milliseconds, counters, fractions, exponents.
NUMBER_TEXTS = ["0", "-0", "7", "-7", "1764064525123", "1.5", "-0.001", "1E+2", "1E-130",
                "12345678901234567890123456789012345678", "-99999999999999999999999999999999999999",
                "9.9999999999999999999999999999999999999E+125"]  # fmt: skip


@pytest.mark.parametrize("value", VALUES, ids=_ids(VALUES))
def test_plain_reads_in_one_walk_what_deserialize_then_plain_reads(value):
    av = TypeSerializer().serialize(value)
    ours, two_walks = codec.plain(av), codec._plain(codec.deserialize(av))
    if isinstance(two_walks, list) and av.keys() & {"SS", "NS", "BS"}:
        ours, two_walks = sorted(ours), sorted(two_walks)
    assert ours == two_walks and type(ours) is type(two_walks)


@pytest.mark.parametrize("text", NUMBER_TEXTS)
def test_plain_numbers_are_the_ints_and_floats_the_decimals_give(text):
    ours, two_walks = codec.plain({"N": text}), codec._plain(codec.deserialize({"N": text}))
    assert ours == two_walks and type(ours) is type(two_walks)

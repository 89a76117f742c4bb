"""Pure parts of the new endpoints: simple-change grammar, list-by-condition ids, list cursors,
account views."""

from __future__ import annotations

import pytest

from mjproxy.api.accounts import account_view
from mjproxy.api.errors import BadRequest
from mjproxy.api.lists import decode_cursor, encode_cursor, requested_ids
from mjproxy.api.submit_more import ChangeParams, parse_simple_change
from mjproxy.config import Instance
from mjproxy.domain.prompts import BlendDimensions, blend_aspect
from mjproxy.domain.task import TaskAction


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("1320098173412546 U2", ChangeParams("1320098173412546", TaskAction.UPSCALE, 2)),
        ("1320098173412546 v3", ChangeParams("1320098173412546", TaskAction.VARIATION, 3)),
        ("1320098173412546 R", ChangeParams("1320098173412546", TaskAction.REROLL, None)),
        ("abc u12", ChangeParams("abc", TaskAction.UPSCALE, 1)),
        ("1 U", None),
        ("1 U0", None),
        ("1 V5", None),
        ("1 u١", None),  # a non-ASCII digit is not an index
        ("1 R2", None),
        ("1  U1", None),
        (" 1 U1", None),
        ("1 U1 ", None),
        ("1", None),
        ("", None),
        (None, None),
    ],
)
def test_simple_change_grammar(content, expected):
    assert parse_simple_change(content) == expected


def test_requested_ids():
    body = {"ids": ["1", 2, 3.0, 4.5, True, None, "", " 5 ", "1", 2, [6], {"id": 7}]}
    assert requested_ids(body) == ["1", "2", "3", "5"]
    assert requested_ids({"ids": None}) == [] == requested_ids({}) == requested_ids([1])
    assert requested_ids({"ids": "123"}) == []


def test_cursor_round_trip_and_rejection():
    from mjproxy.store.tasks import ACTIVE_INDEX, LIST_INDEX

    key = {"id": {"S": "1700000000000000"}, "gsiList": {"S": "TASK#3"}, "submitTime": {"N": "17"}}
    cursor = {mark: None for mark in LIST_INDEX.marks} | {"TASK#3": key}
    token = encode_cursor(cursor)
    assert "=" not in token and decode_cursor(token, LIST_INDEX) == cursor
    for bad in (
        "%%%",
        "e30",  # {}
        encode_cursor(key),  # a bare DynamoDB key (the cursor before the indexes were sharded)
        encode_cursor({"TASK#3": key}),  # not every shard
        encode_cursor(cursor | {"TASK#3": {"id": {"B": "x"}}}),
        encode_cursor(cursor | {"TASK#99": None}),
    ):
        with pytest.raises(BadRequest):
            decode_cursor(bad, LIST_INDEX)
    with pytest.raises(BadRequest):  # a list cursor is no queue cursor
        decode_cursor(token, ACTIVE_INDEX)


def test_account_view_whitelists_settings():
    inst = Instance(
        id="a",
        settings={"userToken": "t", "guildId": "g", "channelId": 5, "userAgent": True, "k": "v"},
    )
    view = account_view(inst, {"active": ["1", "2", "3"], "running": ["2"]})
    assert view["guildId"] == "g" and view["channelId"] == 5 and view["userAgent"] is None
    assert (view["runningCount"], view["waitingCount"]) == (1, 2)
    assert "t" not in view.values() and "userToken" not in view and "k" not in view


def test_blend_dimensions():
    assert [d.aspect for d in BlendDimensions] == [(2, 3), (1, 1), (3, 2)]
    assert blend_aspect(None) == (1, 1) == blend_aspect("WIDE")
    assert blend_aspect("LANDSCAPE") == (3, 2)

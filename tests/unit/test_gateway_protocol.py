"""The listener's protocol pieces (mjgateway.protocol): close-code policy, zlib-stream, IDENTIFY."""

from __future__ import annotations

import json
import zlib

import pytest

from mjgateway.protocol import (
    Forwarder,
    ListSink,
    ZlibStream,
    close_action,
    identify_payload,
    resume_payload,
)


@pytest.mark.parametrize("code", [4004, 4010, 4011, 4012, 4013, 4014])
def test_fatal_close_codes_disable_the_account(code):
    assert close_action(code) == "disable"


@pytest.mark.parametrize("code", [4000, 4001, 4002, 4005, 4008, 1000, 1001, 1006, 1011, None])
def test_other_close_codes_reconnect_and_resume(code):
    # The original disabled the account on every code >= 4000.
    assert close_action(code) == "resume"


@pytest.mark.parametrize("code", [4003, 4007, 4009])
def test_close_codes_that_end_the_session_identify_again(code):
    assert close_action(code) == "identify"


def test_zlib_stream_payloads_complete_only_at_the_sync_flush_suffix():
    comp = zlib.compressobj()
    stream = ZlibStream()
    for n in range(3):
        data = comp.compress(json.dumps({"op": 0, "s": n}).encode()) + comp.flush(zlib.Z_SYNC_FLUSH)
        assert data.endswith(b"\x00\x00\xff\xff")
        head, tail = data[:5], data[5:]  # a payload split over two frames
        assert stream.feed(head) is None
        assert json.loads(stream.feed(tail)) == {"op": 0, "s": n}


def test_identify_is_a_user_client_and_resume_carries_session_and_seq():
    ua = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/120.0.0.0 Safari/537.36")  # fmt: skip
    d = identify_payload("tok", ua)["d"]
    assert d["token"] == "tok" and d["capabilities"] == 16381 and d["compress"] is False
    props = d["properties"]
    assert props["browser"] == "Chrome" and props["browser_version"] == "120.0.0.0"
    assert props["os"] == "Windows" and props["browser_user_agent"] == ua
    assert "intents" not in d  # user accounts send none
    assert resume_payload("tok", "sess", 41) == {
        "op": 6,
        "d": {"token": "tok", "session_id": "sess", "seq": 41},
    }


def test_only_the_accounts_channel_and_the_users_interactions_are_forwarded():
    sink = ListSink()
    fwd = Forwarder("acct", "100", sink)
    assert fwd.dispatch("MESSAGE_CREATE", {"channel_id": "100", "flags": 64}, 5, "s")
    assert fwd.dispatch("MESSAGE_UPDATE", {"channel_id": "100"}, 6, "s")
    assert not fwd.dispatch("MESSAGE_CREATE", {"channel_id": "999"}, 7, "s")
    assert not fwd.dispatch("MESSAGE_DELETE", {"channel_id": "100"}, 8, "s")
    assert not fwd.dispatch("PRESENCE_UPDATE", {}, 9, "s")
    for t in ("INTERACTION_CREATE", "INTERACTION_SUCCESS", "INTERACTION_FAILURE"):
        assert fwd.dispatch(t, {"id": "1", "nonce": "2"}, 10, "s")
    assert [b["t"] for b in sink.bodies][:2] == ["MESSAGE_CREATE", "MESSAGE_UPDATE"]
    assert all(b["instanceId"] == "acct" and b["kind"] == "dispatch" for b in sink.bodies)

"""The pieces of Discord's gateway protocol the listener needs (protocol.md §6.5), free of I/O so
they can be tested alone: the zlib-stream inflater, the close-code policy, IDENTIFY / RESUME
payloads for a user account, and what gets forwarded."""

from __future__ import annotations

import re
import time
import zlib
from dataclasses import dataclass
from typing import Any, Literal, Protocol

GATEWAY_URL = "wss://gateway.discord.gg/?encoding=json&v=9&compress=zlib-stream"
ZLIB_SUFFIX = b"\x00\x00\xff\xff"
CLIENT_BUILD_NUMBER = 222963
CAPABILITIES = 16381

# op codes
DISPATCH, HEARTBEAT, IDENTIFY, RESUME = 0, 1, 2, 6
RECONNECT, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 7, 9, 10, 11

FORWARDED_MESSAGES = ("MESSAGE_CREATE", "MESSAGE_UPDATE")
FORWARDED_INTERACTIONS = (
    "INTERACTION_CREATE", "INTERACTION_SUCCESS", "INTERACTION_FAILURE",
    # Session-scoped modals: remix / Custom Zoom (MODAL), Vary (Region) and the captcha (IFRAME).
    "INTERACTION_MODAL_CREATE", "INTERACTION_IFRAME_MODAL_CREATE",
)  # fmt: skip

# Discord: only these close codes are not recoverable (4004 authentication failed, 4010 invalid
# shard, 4011 sharding required, 4012 invalid API version, 4013/4014 invalid/disallowed intents).
# The original proxy disabled the account on every code >= 4000.
FATAL_CLOSE_CODES = frozenset({4004, 4010, 4011, 4012, 4013, 4014})
# The session is gone (not authenticated, invalid seq, session timed out): identify afresh.
FRESH_CLOSE_CODES = frozenset({4003, 4007, 4009})

CloseAction = Literal["disable", "identify", "resume"]


def close_action(code: int | None) -> CloseAction:
    """What to do after the connection closed with `code` (None: no close frame)."""
    if code in FATAL_CLOSE_CODES:
        return "disable"
    if code in FRESH_CLOSE_CODES:
        return "identify"
    return "resume"  # 1000/1001/1006, 4000 unknown error, 4001, 4002, 4005, 4008 rate limited …


class ZlibStream:
    """zlib-stream transport: frames are pieces of one zlib stream; a payload is complete when
    the buffered bytes end with 00 00 FF FF; one decompressor for the whole connection."""

    def __init__(self) -> None:
        self._inflate = zlib.decompressobj()
        self._buffer = bytearray()

    def feed(self, frame: bytes | str) -> str | None:
        if isinstance(frame, str):  # an uncompressed text frame
            return frame
        self._buffer.extend(frame)
        if len(self._buffer) < 4 or self._buffer[-4:] != ZLIB_SUFFIX:
            return None
        data = self._inflate.decompress(bytes(self._buffer))
        self._buffer.clear()
        return data.decode("utf-8")


_UA = re.compile(r"(Chrome|Firefox|Edg|Safari)/([\d.]+)")


def _browser(user_agent: str) -> tuple[str, str, str]:
    m = _UA.search(user_agent)
    browser, version = (m.group(1), m.group(2)) if m else ("Chrome", "112.0.0.0")
    browser = {"Edg": "Edge"}.get(browser, browser)
    if "Windows" in user_agent:
        os_name = "Windows"
    elif "Mac OS" in user_agent:
        os_name = "Mac OS X"
    elif "Linux" in user_agent:
        os_name = "Linux"
    else:
        os_name = "Mac OS X"
    return browser, version, os_name


def identify_payload(token: str, user_agent: str) -> dict[str, Any]:
    """IDENTIFY as the Discord web client of a user account (§6.5)."""
    browser, version, os_name = _browser(user_agent)
    return {
        "op": IDENTIFY,
        "d": {
            "token": token,
            "capabilities": CAPABILITIES,
            "compress": False,
            "presence": {"status": "online", "since": 0, "activities": [], "afk": False},
            "properties": {
                "browser": browser, "browser_user_agent": user_agent,
                "browser_version": version, "os": os_name, "device": "",
                "client_build_number": CLIENT_BUILD_NUMBER, "client_event_source": None,
                "release_channel": "stable", "system_locale": "en-US",
                "referer": "https://www.midjourney.com", "referring_domain": "www.midjourney.com",
                "referrer_current": "", "referring_domain_current": "",
            },
            "client_state": {
                "api_code_version": 0, "guild_versions": {}, "highest_last_message_id": "0",
                "private_channels_version": "0", "read_state_version": 0,
                "user_guild_settings_version": -1, "user_settings_version": -1,
            },
        },
    }  # fmt: skip


def resume_payload(token: str, session_id: str, seq: int | None) -> dict[str, Any]:
    return {"op": RESUME, "d": {"token": token, "session_id": session_id, "seq": seq}}


def now_ms() -> int:
    return int(time.time() * 1000)


class Sink(Protocol):
    def send(self, body: dict[str, Any]) -> None: ...


@dataclass
class Forwarder:
    """Turns one account's dispatches and status into the bodies the events Lambda reads
    (mjproxy.providers.midjourney.gateway_events)."""

    instance_id: str
    channel_id: str
    sink: Sink
    ttl_seconds: int = 60

    def relevant(self, event: str | None, data: dict[str, Any]) -> bool:
        if event in FORWARDED_INTERACTIONS:
            return True  # user-only events: ours by construction
        return event in FORWARDED_MESSAGES and str(data.get("channel_id")) == self.channel_id

    def dispatch(
        self, event: str | None, data: dict[str, Any], seq: int | None = None,
        session: str | None = None,
    ) -> bool:  # fmt: skip
        if not self.relevant(event, data):
            return False
        self.sink.send({"v": 1, "kind": "dispatch", "instanceId": self.instance_id, "t": event,
                        "d": data, "seq": seq, "session": session,
                        "at": now_ms()})  # fmt: skip
        return True

    def status(
        self, state: str, since: int | None = None, reason: str | None = None,
        session: str | None = None,
    ) -> None:  # fmt: skip
        body: dict[str, Any] = {"v": 1, "kind": "status", "instanceId": self.instance_id,
                                "state": state, "at": now_ms(),
                                "ttl": self.ttl_seconds}  # fmt: skip
        if since is not None:
            body["since"] = since
        if session:
            body["session"] = session  # the live session id: interactions name it
        if reason:
            body["reason"] = reason
        self.sink.send(body)


class SqsSink:
    def __init__(self, queue_url: str) -> None:
        import boto3

        self.queue_url = queue_url
        self.sqs = boto3.client("sqs")

    def send(self, body: dict[str, Any]) -> None:
        import json

        self.sqs.send_message(QueueUrl=self.queue_url,
                              MessageBody=json.dumps(body, separators=(",", ":")))  # fmt: skip


class ListSink:
    """For tests: keeps the bodies."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def send(self, body: dict[str, Any]) -> None:
        self.bodies.append(body)

"""One Discord gateway connection per account (protocol.md §6.5), asyncio + websockets.

HELLO -> heartbeats every `heartbeat_interval` (the first after a random fraction of it); a beat
not ACKed by the next tick means the connection is dead -> close and RESUME. IDENTIFY for a fresh
session, RESUME (session id + last sequence) after a drop, op 7, or a resumable op 9. Reconnects
back off exponentially (with jitter) and reset after READY/RESUMED. Close codes: 4004 and
4010–4014 disable the account; 4003/4007/4009 start a fresh session; any other code resumes.

Status to the events Lambda: "ready" (with the session's start: the time from which every event
was seen) every `status_seconds` while the session is live; "down" when the session is lost
(events in the gap can only be read over REST: the poller takes over); "disabled" on a fatal
close code.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass
from typing import Any

from .protocol import (
    DISPATCH,
    HEARTBEAT,
    HEARTBEAT_ACK,
    HELLO,
    INVALID_SESSION,
    RECONNECT,
    Forwarder,
    ZlibStream,
    close_action,
    identify_payload,
    now_ms,
    resume_payload,
)

log = logging.getLogger("mjgateway")


@dataclass
class Options:
    url: str
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    status_seconds: float = 20.0
    ready_timeout: float = 20.0


class _Zombie(Exception):
    """A heartbeat went unanswered."""


class GatewayConnection:
    def __init__(
        self, instance_id: str, token: str, user_agent: str, forwarder: Forwarder, opts: Options
    ) -> None:
        self.instance_id = instance_id
        self.token = token
        self.user_agent = user_agent
        self.forwarder = forwarder
        self.opts = opts
        self.session_id: str | None = None
        self.resume_url: str | None = None
        self.seq: int | None = None
        self.since: int | None = None  # the session covers every event since then
        self.ready = False
        self.disabled: str | None = None
        self.connects = 0
        self.last_close: int | None = None
        self._out: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._stop = asyncio.Event()
        self._ws: Any = None

    # ---- forwarding (one sender: events keep their order) ----------------------------------
    async def _sender(self) -> None:
        while True:
            body = await self._out.get()
            for attempt in range(8):
                try:
                    await asyncio.to_thread(self.forwarder.sink.send, body)
                    break
                except Exception:
                    log.exception("forwarding failed (attempt %d)", attempt + 1)
                    await asyncio.sleep(min(2**attempt, 30))

    def _status(self, state: str, reason: str | None = None) -> None:
        body: dict[str, Any] = {"v": 1, "kind": "status", "instanceId": self.instance_id,
                                "state": state, "at": now_ms(),
                                "ttl": self.forwarder.ttl_seconds}  # fmt: skip
        if state == "ready" and self.since is not None:
            body["since"] = self.since
            body["session"] = self.session_id  # interactions name it (session-scoped events)
        if reason:
            body["reason"] = reason
        self._out.put_nowait(body)

    def _forward(self, event: str | None, data: dict[str, Any], seq: int | None) -> None:
        if self.forwarder.relevant(event, data):
            self._out.put_nowait({"v": 1, "kind": "dispatch", "instanceId": self.instance_id,
                                  "t": event, "d": data, "seq": seq,
                                  "session": self.session_id, "at": now_ms()})  # fmt: skip

    def _lose_session(self) -> None:
        if self.session_id is not None or self.ready:
            self._status("down")
        self.session_id = self.resume_url = self.seq = self.since = None
        self.ready = False

    # ---- lifecycle -----------------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()
        if self._ws is not None:
            asyncio.ensure_future(self._ws.close(1000))

    async def run(self) -> None:
        sender = asyncio.create_task(self._sender())
        status = asyncio.create_task(self._status_loop())
        failures = 0
        try:
            while not self._stop.is_set() and self.disabled is None:
                code = await self._connect_once()
                self.last_close = code
                if self._stop.is_set():
                    break
                action = close_action(code)
                if self.ready:
                    failures = 0
                self.ready = False
                if action == "disable":
                    self.disabled = f"Discord gateway closed the connection with {code}"
                    log.error("account %s disabled: close code %s", self.instance_id, code)
                    self.session_id = None
                    self._status("disabled", self.disabled)
                    break
                if action == "identify":
                    self._lose_session()
                failures += 1
                delay = min(self.opts.backoff_max, self.opts.backoff_base * 2 ** (failures - 1))
                delay *= 0.5 + random.random() / 2
                try:
                    await asyncio.wait_for(self._stop.wait(), delay)
                except TimeoutError:
                    pass
            # Clean shutdown: the session is given up, the poller takes over.
            if self.disabled is None:
                self._lose_session()
            while not self._out.empty():
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)
        finally:
            status.cancel()
            sender.cancel()

    async def _status_loop(self) -> None:
        while True:
            await asyncio.sleep(self.opts.status_seconds)
            if self.ready:
                self._status("ready")

    async def _connect_once(self) -> int | None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        url = self.resume_url if (self.session_id and self.resume_url) else self.opts.url
        url = _with_query(url)
        self.connects += 1
        headers = {"User-Agent": self.user_agent, "Accept-Language": "en-US,en;q=0.9",
                   "Cache-Control": "no-cache", "Pragma": "no-cache"}  # fmt: skip
        heart: asyncio.Task | None = None
        try:
            async with connect(url, additional_headers=headers, compression=None,
                               max_size=2**24, open_timeout=self.opts.ready_timeout,
                               ping_interval=None) as ws:  # fmt: skip
                self._ws = ws
                inflater = ZlibStream()
                acked = asyncio.Event()
                try:
                    async for frame in ws:
                        text = inflater.feed(frame)
                        if text is None:
                            continue
                        msg = json.loads(text)
                        op = msg.get("op")
                        if msg.get("s") is not None:
                            self.seq = msg["s"]
                        if op == HELLO:
                            interval = msg["d"]["heartbeat_interval"] / 1000
                            heart = asyncio.create_task(self._heartbeat(ws, interval, acked))
                            if self.session_id:
                                await ws.send(
                                    json.dumps(
                                        resume_payload(self.token, self.session_id, self.seq)
                                    )
                                )
                            else:
                                await ws.send(
                                    json.dumps(identify_payload(self.token, self.user_agent))
                                )
                        elif op == HEARTBEAT_ACK:
                            acked.set()
                        elif op == HEARTBEAT:
                            await ws.send(json.dumps({"op": HEARTBEAT, "d": self.seq}))
                        elif op == RECONNECT:
                            await ws.close(4000, "reconnect requested")
                        elif op == INVALID_SESSION:
                            if not msg.get("d"):
                                self._lose_session()
                            await ws.close(4000, "invalid session")
                        elif op == DISPATCH:
                            self._on_dispatch(msg.get("t"), msg.get("d") or {}, msg.get("s"))
                except ConnectionClosed:
                    pass
                close = ws.protocol.close_rcvd  # None: the connection died without a frame
                rcvd = close.code if close is not None else None
                if heart is not None and heart.done() and isinstance(heart.exception(), _Zombie):
                    return None
                return rcvd
        except (OSError, TimeoutError, ConnectionClosed) as exc:
            log.warning("gateway connection failed: %r", exc)
            return None
        except Exception as exc:  # handshake refused (e.g. HTTP 4xx/5xx)
            log.warning("gateway connection failed: %r", exc)
            return None
        finally:
            self._ws = None
            if heart is not None:
                heart.cancel()

    def _on_dispatch(self, event: str | None, data: dict[str, Any], seq: int | None) -> None:
        if event == "READY":
            self.session_id = data.get("session_id")
            self.resume_url = data.get("resume_gateway_url")
            self.since = now_ms()
            self.ready = True
            self._status("ready")
            log.info("account %s: READY", self.instance_id)
        elif event == "RESUMED":
            self.ready = True
            self._status("ready")
            log.info("account %s: RESUMED", self.instance_id)
        else:
            self._forward(event, data, seq)

    async def _heartbeat(self, ws: Any, interval: float, acked: asyncio.Event) -> None:
        await asyncio.sleep(interval * random.random())
        acked.set()
        while True:
            if not acked.is_set():
                log.warning("account %s: heartbeat not acknowledged", self.instance_id)
                await ws.close(4000, "heartbeat not acknowledged")
                raise _Zombie()
            acked.clear()
            await ws.send(json.dumps({"op": HEARTBEAT, "d": self.seq}))
            await asyncio.sleep(interval)


def _with_query(url: str) -> str:
    if "?" in url:
        return url
    return url.rstrip("/") + "/?encoding=json&v=9&compress=zlib-stream"


class Background:
    """Connections run on an event loop of their own thread (local runs, tests, benchmarks)."""

    def __init__(self, conns: list[GatewayConnection]) -> None:
        import threading

        self.conns = conns
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True, name="mjgateway")

    def _run(self) -> None:
        async def all_of() -> None:
            await asyncio.gather(*(c.run() for c in self.conns))

        self.loop.run_until_complete(all_of())

    def start(self) -> Background:
        self.thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        for c in self.conns:
            self.loop.call_soon_threadsafe(c.stop)
        self.thread.join(timeout)

    def kill(self) -> None:
        """Die without a word (no "down" status), like a SIGKILL."""
        for c in self.conns:
            c.forwarder = _Dead(c.forwarder)  # type: ignore[assignment]
            c._status = lambda *a, **k: None  # type: ignore[method-assign]
            self.loop.call_soon_threadsafe(c.stop)
        self.thread.join(10)


class _Dead:
    def __init__(self, fwd: Forwarder) -> None:
        self.ttl_seconds = fwd.ttl_seconds
        self.sink = self

    def relevant(self, *_: Any) -> bool:
        return False

    def send(self, body: dict[str, Any]) -> None:
        return None

"""Discord's gateway, simulated (protocol.md §6.5): sessions, sequence numbers and replay in a
sockets-free `Hub`, and a websocket `GatewayServer` speaking the wire protocol on 127.0.0.1.

Wire: `?encoding=json&v=9&compress=zlib-stream` — every payload goes through one zlib stream per
connection, flushed with Z_SYNC_FLUSH (so each ends in 00 00 FF FF). HELLO (op 10) with the
heartbeat interval; heartbeats (op 1) are ACKed (op 11); IDENTIFY (op 2) -> READY with a session
id and `resume_gateway_url`; RESUME (op 6) -> the missed dispatches, then RESUMED; dispatches
(op 0) with `s` = the session's sequence. Test controls: `reconnect()` (op 7), `invalidate()`
(op 9, not resumable), `drop()` (the TCP connection dies without a close frame), `close(code)`,
`stop_acks()` (heartbeats go unanswered: the client must notice and resume).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .core import Account, Simulator

log = logging.getLogger("mjsim.gateway")

REPLAY_MAX = 2000  # dispatches kept per session for RESUME


@dataclass
class Session:
    id: str
    account: Account
    seq: int = 0
    buffer: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    sink: Callable[[dict[str, Any]], None] | None = None  # the live connection, if any
    valid: bool = True


class Hub:
    """Sessions of the simulated gateway; `sim.gateway_hooks` feeds it every dispatch."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.sessions: dict[str, Session] = {}
        self.identifies = 0
        self.resumes = 0
        sim.gateway_hooks.append(self._on_event)

    def _on_event(
        self, acct: Account, event: str, data: dict[str, Any], session: str | None = None
    ) -> None:
        for s in list(self.sessions.values()):
            if session is not None and s.id != session:
                continue  # session-scoped: only the session the interaction named
            if s.valid and s.account.token == acct.token:
                s.seq += 1
                s.buffer.append((s.seq, event, data))
                del s.buffer[:-REPLAY_MAX]
                if s.sink is not None:
                    s.sink({"op": 0, "t": event, "s": s.seq, "d": data})

    def identify(self, token: str) -> Session | None:
        with self.sim.lock:
            acct = self.sim.accounts.get(token)
            if acct is None or acct.revoked:
                return None
            self.identifies += 1
            s = Session(uuid.uuid4().hex, acct)
            self.sessions[s.id] = s
            return s

    def resume(self, token: str, session_id: str, seq: int) -> tuple[Session, list] | None:
        with self.sim.lock:
            s = self.sessions.get(session_id)
            if s is None or not s.valid or s.account.token != token or s.account.revoked:
                return None
            missed = [(n, t, d) for n, t, d in s.buffer if n > seq]
            if len(s.buffer) >= REPLAY_MAX and s.buffer[0][0] > seq + 1:
                return None  # too far behind: the buffer no longer reaches back
            self.resumes += 1
            return s, missed

    def ready_payload(self, s: Session, resume_url: str) -> dict[str, Any]:
        acct = s.account
        return {"v": 9, "session_id": s.id, "resume_gateway_url": resume_url,
                "user": acct.user, "guilds": [{"id": acct.guild_id}],
                "session_type": "normal"}  # fmt: skip


class _Conn:
    def __init__(self, ws: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.ws = ws
        self.loop = loop
        self.zlib = zlib.compressobj()
        self.session: Session | None = None
        self.out: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    def push(self, payload: dict[str, Any]) -> None:
        """Thread-safe: called by the hub under the simulator's lock."""
        self.loop.call_soon_threadsafe(self.out.put_nowait, payload)

    def encode(self, payload: dict[str, Any]) -> bytes:
        data = json.dumps(payload, separators=(",", ":")).encode()
        return self.zlib.compress(data) + self.zlib.flush(zlib.Z_SYNC_FLUSH)


class GatewayServer:
    """The hub over websockets, served from a thread with its own event loop."""

    def __init__(
        self, sim: Simulator, host: str = "127.0.0.1", port: int = 0,
        heartbeat_interval_ms: int = 41250,
    ) -> None:  # fmt: skip
        self.sim = sim
        self.hub = Hub(sim)
        self.host = host
        self.port = port
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.acks = True
        self.conns: set[_Conn] = set()
        self.loop = asyncio.new_event_loop()
        self._server: Any = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/"

    def start(self) -> GatewayServer:
        from websockets.asyncio.server import serve

        self._thread.start()

        async def boot() -> None:
            self._server = await serve(self._handle, self.host, self.port, compression=None)
            self.port = self._server.sockets[0].getsockname()[1]

        asyncio.run_coroutine_threadsafe(boot(), self.loop).result(10)
        return self

    def stop(self) -> None:
        async def down() -> None:
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()

        try:
            asyncio.run_coroutine_threadsafe(down(), self.loop).result(10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)

    # ---- test controls (thread-safe) ------------------------------------------------------
    def _each(self, action: Callable[[_Conn], Any]) -> None:
        async def run() -> None:
            for c in list(self.conns):
                await action(c)

        asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def reconnect(self) -> None:
        """op 7: the client should resume on a new connection."""
        self._each(lambda c: c.ws.send(c.encode({"op": 7, "d": None})))

    def invalidate(self) -> None:
        """op 9 with d=false: the session is gone, the client must IDENTIFY again."""

        async def inv(c: _Conn) -> None:
            if c.session is not None:
                c.session.valid = False
                c.session.sink = None
            await c.ws.send(c.encode({"op": 9, "d": False}))

        self._each(inv)

    def drop(self) -> None:
        """The connection dies without a close frame (a network failure)."""

        async def kill(c: _Conn) -> None:
            if c.session is not None:
                c.session.sink = None
            c.ws.transport.abort()

        self._each(kill)

    def close(self, code: int, reason: str = "") -> None:
        self._each(lambda c: c.ws.close(code, reason))

    def stop_acks(self, stop: bool = True) -> None:
        self.acks = not stop

    def connected(self) -> int:
        return sum(1 for c in self.conns if c.session is not None and c.session.sink is not None)

    # ---- one connection -----------------------------------------------------------------------
    async def _handle(self, ws: Any) -> None:
        conn = _Conn(ws, asyncio.get_running_loop())
        self.conns.add(conn)
        sender = asyncio.create_task(self._send_loop(conn))
        try:
            await conn.out.put({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
            async for raw in ws:
                msg = json.loads(raw)
                await self._on_message(conn, msg)
        except Exception as exc:  # the client went away
            log.debug("gateway connection ended: %r", exc)
        finally:
            if conn.session is not None:
                with self.sim.lock:
                    if conn.session.sink == conn.push:
                        conn.session.sink = None
            self.conns.discard(conn)
            await conn.out.put(None)
            sender.cancel()

    async def _send_loop(self, conn: _Conn) -> None:
        while True:
            payload = await conn.out.get()
            if payload is None:
                return
            try:
                await conn.ws.send(conn.encode(payload))
            except Exception:
                return

    async def _on_message(self, conn: _Conn, msg: dict[str, Any]) -> None:
        op, d = msg.get("op"), msg.get("d")
        if op == 1:
            if self.acks:
                await conn.out.put({"op": 11})
        elif op == 2:
            token = str((d or {}).get("token") or "")
            session = self.hub.identify(token)
            if session is None:
                await conn.ws.close(4004, "Authentication failed.")
                return
            with self.sim.lock:
                conn.session = session
                session.sink = conn.push
                session.seq += 1
                ready = self.hub.ready_payload(session, self.url)
                conn.out.put_nowait({"op": 0, "t": "READY", "s": session.seq, "d": ready})
        elif op == 6:
            d = d or {}
            found = self.hub.resume(str(d.get("token")), str(d.get("session_id")),
                                    int(d.get("seq") or 0))  # fmt: skip
            if found is None:
                await conn.out.put({"op": 9, "d": False})
                return
            session, missed = found
            with self.sim.lock:
                for n, t, data in missed:
                    conn.out.put_nowait({"op": 0, "t": t, "s": n, "d": data})
                conn.session = session
                session.sink = conn.push
                session.seq += 1
                conn.out.put_nowait({"op": 0, "t": "RESUMED", "s": session.seq, "d": {}})

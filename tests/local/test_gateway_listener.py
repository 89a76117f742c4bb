"""The listener (mjgateway) against the simulator's websocket gateway on 127.0.0.1: zlib-stream,
heartbeats, IDENTIFY/READY, RESUME with replay after a drop, op 7, op 9, missed ACKs, and the
close-code policy."""

from __future__ import annotations

import asyncio
import threading

import pytest

from mjgateway.listener import GatewayConnection, Options
from mjgateway.protocol import Forwarder, ListSink
from mjsim import ManualClock, Simulator
from mjsim.gateway import GatewayServer
from tests.waiting import wait_until


class Harness:
    def __init__(self, heartbeat_ms: int = 41250, token: str | None = None) -> None:
        self.sim = Simulator("http://mjsim.test", ManualClock())
        self.account = self.sim.add_account()
        self.server = GatewayServer(self.sim, heartbeat_interval_ms=heartbeat_ms).start()
        self.sink = ListSink()
        fwd = Forwarder(self.account.channel_id, self.account.channel_id, self.sink)
        opts = Options(self.server.url, backoff_base=0.05, backoff_max=0.2, status_seconds=0.2)
        self.conn = GatewayConnection(self.account.channel_id, token or self.account.token,
                                      "Mozilla/5.0 Chrome/120.0.0.0", fwd, opts)  # fmt: skip
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.loop.run_until_complete(self.conn.run())

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.conn.stop)
        self.thread.join(10)
        self.server.stop()

    def wait(self, cond, timeout: float = 10.0) -> None:
        wait_until(cond, timeout, "the condition", interval=0.02)

    def post(self, text: str, **fields) -> None:
        with self.sim.lock:
            self.sim._post(self.account, content=text, **fields)

    def contents(self) -> list[str]:
        return [b["d"].get("content") for b in self.sink.bodies
                if b["kind"] == "dispatch" and b["t"] == "MESSAGE_CREATE"]  # fmt: skip

    def statuses(self) -> list[str]:
        return [b["state"] for b in self.sink.bodies if b["kind"] == "status"]


@pytest.fixture
def gw():
    h = Harness()
    yield h
    h.stop()


def test_identify_ready_and_dispatches_including_ephemeral_are_forwarded(gw):
    gw.wait(lambda: gw.conn.ready)
    assert gw.server.hub.identifies == 1
    gw.post("hello")
    gw.post("only you can see this", flags=64)  # ephemeral: never on REST
    gw.wait(lambda: len(gw.contents()) == 2)
    assert gw.contents() == ["hello", "only you can see this"]
    assert "ready" in gw.statuses()


def test_a_dropped_connection_resumes_and_replays_every_missed_event(gw):
    gw.wait(lambda: gw.conn.ready)
    session = gw.conn.session_id
    gw.post("m0")
    gw.wait(lambda: len(gw.contents()) == 1)
    gw.server.drop()  # no close frame
    for n in range(1, 6):
        gw.post(f"m{n}")  # while the listener is away
    gw.wait(lambda: len(gw.contents()) == 6)
    assert gw.contents() == [f"m{n}" for n in range(6)]  # in order, none lost, none twice
    assert gw.conn.session_id == session and gw.server.hub.resumes == 1
    assert gw.server.hub.identifies == 1
    assert "down" not in gw.statuses()  # the session never ended: the poller is not needed


def test_op7_reconnect_resumes(gw):
    gw.wait(lambda: gw.conn.ready)
    gw.server.reconnect()
    gw.wait(lambda: gw.server.hub.resumes == 1 and gw.conn.ready)
    gw.post("after")
    gw.wait(lambda: gw.contents() == ["after"])


def test_op9_invalid_session_identifies_afresh_and_reports_the_gap(gw):
    gw.wait(lambda: gw.conn.ready)
    first = gw.conn.session_id
    gw.server.invalidate()
    gw.wait(lambda: gw.server.hub.identifies == 2 and gw.conn.ready)
    assert gw.conn.session_id != first
    # events of the gap are gone from the gateway: "down" lets the REST poller read them
    assert "down" in gw.statuses()


def test_unacknowledged_heartbeats_mean_a_dead_connection():
    h = Harness(heartbeat_ms=200)
    try:
        h.wait(lambda: h.conn.ready)
        h.server.stop_acks()
        h.wait(lambda: h.conn.connects >= 2, timeout=5)
        h.server.stop_acks(False)
        h.wait(lambda: h.conn.ready and h.server.hub.resumes >= 1, timeout=5)
    finally:
        h.stop()


def test_close_4004_disables_the_account():
    h = Harness(token="not-a-valid-token")  # the simulator closes with 4004
    try:
        h.wait(lambda: h.conn.disabled is not None)
        assert h.conn.last_close == 4004 and h.conn.connects == 1
        h.wait(lambda: "disabled" in h.statuses())
    finally:
        h.stop()


@pytest.mark.parametrize("code", [4000, 4008, 4009])
def test_other_close_codes_reconnect(gw, code):
    gw.wait(lambda: gw.conn.ready)
    gw.server.close(code)
    gw.wait(lambda: gw.conn.connects >= 2 and gw.conn.ready)
    assert gw.conn.disabled is None
    if code == 4009:  # session timed out: a fresh one
        assert gw.server.hub.identifies == 2
    else:
        assert gw.server.hub.resumes == 1

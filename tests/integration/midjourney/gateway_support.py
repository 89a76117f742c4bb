"""The gateway listener as the event source, in-process: the simulator's gateway hub (sessions,
sequence numbers, the nonce echo, ephemeral messages) feeds the listener's Forwarder, which sends
to the DiscordEventsQueue on moto; the events Lambda is one of the template's functions."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from mjgateway.protocol import Forwarder, SqsSink, now_ms
from mjsim.gateway import Hub
from tests.harness import Harness, drain_rounds


@dataclass
class GatewaySystem:
    """Like MjSystem, with time driven by the delivery rounds: each round moves the simulated
    clock on one second (as the poller's read does with advance_per_read=1), and an idle round
    waits for the simulator's next event."""

    system: Harness
    sim: Any
    account: Any
    hub: Hub
    forwarder: Forwarder
    session: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.system, name)

    def connect(self) -> None:
        self.session = self.hub.identify(self.account.token)
        sid = self.session.id
        self.session.sink = lambda p: self.forwarder.dispatch(p["t"], p["d"], p["s"], sid)
        self.forwarder.status("ready", since=now_ms() - 10_000, session=sid)
        self.system.drain()

    def disconnect(self, lost: bool = True) -> None:
        self.session.sink = None
        if lost:
            self.session.valid = False
            self.forwarder.status("down")

    def pending(self) -> bool:
        with self.sim.lock:
            return bool(self.sim._events)

    def deliver_once(self, crash: Any = None) -> int:
        if self.pending():
            self.sim.advance(1.0)
        n = self.system.deliver_once(crash)
        while n == 0 and self.pending():
            self.sim.advance(1.0)
            n = self.system.deliver_once(crash)
        return n

    def drain(self, rounds: int = 400, crash: Any = None) -> int:
        return drain_rounds(lambda: self.deliver_once(crash), rounds)

    def channel_reads(self) -> int:
        return sum(1 for c in self.sim.calls if c.method == "GET" and "messages" in c.route)


def gateway_system(system: Harness, sim: Any, account: Any) -> GatewaySystem:
    fwd = Forwarder(account.channel_id, account.channel_id,
                    SqsSink(os.environ["DISCORD_EVENTS_QUEUE_URL"]))  # fmt: skip
    gw = GatewaySystem(system, sim, account, Hub(sim), fwd)
    gw.connect()
    return gw

"""Fixtures for the midjourney provider on moto in-process with the simulator in-process (its
transport injected: no sockets)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from moto import mock_aws

from mjsim import ManualClock, Simulator, transport_for
from tests.harness import Harness

SIM_BASE = "http://mjsim.test"


@dataclass
class MjSystem:
    system: Harness
    sim: Simulator
    account: Any

    def __getattr__(self, name: str) -> Any:  # post/get/drain/deliver_once of the harness
        return getattr(self.system, name)


def mj_env(sim: Simulator, instances: list[dict[str, Any]], **extra: str) -> dict[str, str]:
    return {
        "MJ_PROVIDER": "midjourney",
        "MJ_INSTANCES": json.dumps(instances),
        "MJ_DISCORD_API_BASE": f"{SIM_BASE}/api/v9",
        "MJ_DISCORD_CDN_HOSTS": "mjsim.test",
        # Zero pacing: the simulator's clock, not wall time, paces these tests.
        "MJ_DISCORD_POLL_SECONDS": "0",
        "MJ_DISCORD_INTERACTION_INTERVAL_SECONDS": "0",
        # Midjourney's own moderation is what these tests exercise, not the local pre-filter.
        "MJ_BANNED_WORDS_ENABLED": "false",
        **extra,
    }


def make_system(monkeypatch: Any, sim: Simulator, instances: list[dict[str, Any]], **extra: str):
    from mjproxy.providers.midjourney import commands, http

    monkeypatch.setenv("MJ_LOCAL_STEP_SECONDS", "0")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    import mjproxy.worker as worker

    monkeypatch.setattr(worker, "EARLY_RETRY_DELAY", 0)
    commands.clear_cache()
    http.set_transport(transport_for(sim))
    on_sim_clock(monkeypatch, sim)
    return Harness.create(monkeypatch, mj_env(sim, instances, **extra))


@pytest.fixture
def sim() -> Simulator:
    # Every channel read moves the simulated time on by one second: draining the queues is
    # enough to see Midjourney's jobs start, progress and finish.
    return Simulator(SIM_BASE, ManualClock(), advance_per_read=1.0)


def on_sim_clock(monkeypatch: Any, sim: Simulator) -> None:
    """The system reads the simulator's clock, the one Midjourney's messages are stamped with:
    sentAt, submitTime, the poller's lease and the answer deadline then move only when the
    channel is read, so how fast this machine runs changes nothing. (On its own the system
    reads the wall clock: on a loaded machine wall time outran the simulated time, the
    poller's read floor passed Midjourney's answers and the tasks never finished.) moto's SQS
    keeps its own clock (datetime), so queue delays are not affected."""
    if isinstance(sim.clock, ManualClock):  # a RealClock is time.time itself
        monkeypatch.setattr(time, "time", sim.clock.now)


@contextmanager
def one_account(monkeypatch: Any, sim: Simulator, wrap: Any) -> Iterator[Any]:
    """One simulator account (coreSize 3) on moto; `wrap(system, sim, account)` builds what the
    test gets (MjSystem, or the gateway system)."""
    from mjproxy.providers.midjourney import commands, http

    account = sim.add_account()
    with mock_aws():
        system = make_system(monkeypatch, sim, [sim.instance_config(account, coreSize=3)])
        yield wrap(system, sim, account)
    http.set_transport(None)
    commands.clear_cache()


@pytest.fixture
def mj(monkeypatch, sim):
    with one_account(monkeypatch, sim, MjSystem) as system:
        yield system

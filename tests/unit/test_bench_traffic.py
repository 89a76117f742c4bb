"""bench/traffic.py's midjourney rows (issue 17): table 3's measured midjourney lifecycle and the
busy account's poller hour share out every unit once; and bench/api_calls.py's poller queue,
which keeps that lifecycle on the simulator's clock."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

# traffic.py imports the poller (for its back-off rule) when first used; imported here, at
# collection, urllib3's IPv6 probe (a socket, at its first import) runs before the socket guard.
import mjproxy.providers.midjourney.poller  # noqa: F401
from mjsim import ManualClock, Simulator

ROOT = Path(__file__).resolve().parents[2]
LABEL = "imagine lifecycle, midjourney provider (Discord simulator)"
RUN = {"quiet_runs": 5, "rru": 6.0, "wru": 10.0, "sqs_send_requests": 1.0, "esm_messages": 1.0,
       "calls": 7.0, "wall_s": 0.05, "cpu_s": 0.02, "task_rru": 2.0}  # fmt: skip


def _bench(name: str) -> ModuleType:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(ROOT / "bench"))


TRAFFIC = _bench("traffic")
API_CALLS = _bench("api_calls")


@pytest.fixture
def traffic() -> ModuleType:
    return TRAFFIC


@pytest.fixture
def api_calls() -> ModuleType:
    return API_CALLS


def lifecycle(runs: int = 12) -> dict[str, Any]:
    """A table-3 row of the midjourney lifecycle: `runs` poller runs, the last one releasing
    the lease (no SendMessage), the submit's job message."""
    poller = [{"wall_s": 0.06, "cpu_s": 0.03, "provider_s": 0.001}] * runs
    return {
        "rru": 150.0, "wru": 190.0, "wru_gsi": 3.0, "sqs_send_requests": runs + 1,
        "esm_messages": runs + 1, "s3_put": 1, "s3_get": 0, "poller_runs": runs,
        "poller_run": RUN, "account_item_bytes": 9000, "account_item_bytes_fresh": 1300,
        "durations": {"WorkerFunction": [{"wall_s": 0.1, "cpu_s": 0.04, "provider_s": 0.01}],
                      "DiscordPollerFunction": poller},
    }  # fmt: skip


def test_the_lifecycle_keeps_the_task_part_and_the_hour_prices_the_runs(traffic):
    op = lifecycle()
    poller = traffic.busy_poller({"operations": {LABEL: op}})
    part = traffic.midjourney_task_part(op, poller, task_seconds=60.0)
    n = op["poller_runs"]
    # What every run costs the account leaves the task's lifecycle whole...
    assert part["wru"] + n * RUN["wru"] == op["wru"]
    assert part["sqs_send_requests"] + n * RUN["sqs_send_requests"] == op["sqs_send_requests"]
    assert part["esm_messages"] + n * RUN["esm_messages"] == op["esm_messages"]
    assert part["wru_gsi"] == op["wru_gsi"] and part["s3_put"] == op["s3_put"]
    # ... the task's own read in each run is counted at the busy account's pace ...
    busy_runs = poller.runs_per_hour * 60.0 / 3600
    expected = op["rru"] - n * (RUN["rru"] + RUN["task_rru"]) + busy_runs * RUN["task_rru"]
    assert part["rru"] == pytest.approx(expected)
    # ... and the poller's invocations are the hour's, not the task's worker steps.
    assert list(part["durations"]) == ["WorkerFunction"]
    assert part["poller_extra"]["wall_s"] >= 0.0 and part["poller_extra"]["cpu_s"] >= 0.0


def test_the_busy_account_hour_is_priced_at_the_measured_units_of_a_run(traffic):
    prices = traffic.PRICES
    measured = traffic.busy_poller({"operations": {LABEL: lifecycle()}})
    assumed = traffic.busy_poller({"operations": {}})
    assert measured.measured and not assumed.measured
    assert (measured.rru, measured.wru, measured.sqs_requests) == (6.0, 10.0, 3.0)
    assert (assumed.rru, assumed.wru, assumed.sqs_requests) == (1.0, 0.0, 3.0)
    hour = measured.per_hour(256)
    runs = measured.runs_per_hour
    assert hour["dynamodb"] == pytest.approx(
        runs * (6.0 * prices["ddb_rru_per_million"] + 10.0 * prices["ddb_wru_per_million"]) / 1e6
    )
    assert hour["sqs"] == pytest.approx(runs * 3.0 * prices["sqs_per_million"] / 1e6)
    per_hour = sum(v for k, v in hour.items() if k != "invocations")
    assert measured.per_task(256) == pytest.approx(per_hour / measured.tasks_per_hour)
    assert "measured in table 3" in traffic.poller_source(measured)
    assert "assumed" in traffic.poller_source(assumed)


def test_a_fresh_account_variant_swaps_in_the_warm_up_units(traffic):
    op = lifecycle()
    assert traffic.fresh_account_calls({"operations": {LABEL: op}}) is None
    fresh_run = {**RUN, "rru": 2.0, "wru": 2.0}
    op.update(poller_run_fresh_account=fresh_run, fresh_account={
        "rru": 80.0, "wru": 60.0, "wru_gsi": 3.0, "sqs_send_requests": 13, "esm_messages": 13,
        "poller_runs": 12})  # fmt: skip
    small = traffic.fresh_account_calls({"operations": {LABEL: op}})["operations"][LABEL]
    assert (small["rru"], small["wru"], small["poller_run"]) == (80.0, 60.0, fresh_run)
    assert small["account_item_bytes"] == 1300
    assert traffic.busy_poller({"operations": {LABEL: small}}).wru == 2.0


def _send(clock: Any, url: str, body: str, delay: int) -> Any:
    model = SimpleNamespace(service_model=SimpleNamespace(service_name="sqs"), name="SendMessage")
    params = {"QueueUrl": url, "MessageBody": body, "DelaySeconds": delay}
    return clock.before_call(model=model, context={"bench_params": params})


def test_the_poller_queue_delivers_on_the_simulators_clock_in_due_order(api_calls):
    sim = Simulator("http://mjsim.test", ManualClock(1_000.0))
    queue = api_calls.PollerClock(sim, "https://sqs/poller")
    assert _send(queue, "https://sqs/poller", "early", 0) is None  # inactive: sent as usual
    queue.active = True
    assert _send(queue, "https://sqs/jobs", "job", 0) is None  # another queue: sent as usual
    http, parsed = _send(queue, "https://sqs/poller", "late", 6)
    assert http.status_code == 200 and parsed["MessageId"]
    _send(queue, "https://sqs/poller", "now", 0)
    first = queue.receive()
    assert first["Body"] == "now" and sim.clock.now() == 1_000.0
    second = queue.receive()
    assert second["Body"] == "late" and sim.clock.now() == 1_006.0
    assert queue.receive() is None

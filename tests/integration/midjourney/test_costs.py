"""Issue 17's two midjourney levers against the simulator: the Discord poller reads less often
while Midjourney shows nothing new (and goes back to its interval at any change or new job), and
progress previews are Discord's own CDN URLs instead of S3 copies (MJ_MIDJOURNEY_PREVIEWS)."""

from __future__ import annotations

import heapq
import json
import os
from typing import Any

import boto3
import pytest

from mjproxy.providers.midjourney import poller as poller_mod
from tests.integration.midjourney.conftest import SIM_BASE
from tests.scenarios import fetch, submit_ok


# ---- the poller's queue on the simulator's clock -----------------------------------------------
class PollerQueue:
    """Stands in for SQS on the poller's queue: each message is due `DelaySeconds` after it was
    sent, on the simulator's clock, and `step` delivers the earliest one, moving the clock to
    its due time. A backed-off chain then runs in test time, and a wake's copy (due sooner)
    really runs before the message it overtakes."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.pending: list[tuple[float, int, str]] = []
        self.sent: list[dict[str, Any]] = []  # bodies as sent, in order
        self.runs: list[tuple[dict[str, Any], poller_mod.RunReport | None]] = []  # body, report

    def send_message(self, QueueUrl: str, MessageBody: str, DelaySeconds: int = 0) -> None:  # noqa: N803 - boto3's names
        self.sent.append(json.loads(MessageBody))
        due = self.clock.now() + DelaySeconds
        heapq.heappush(self.pending, (due, len(self.sent), MessageBody))

    def step(self) -> bool:
        if not self.pending:
            return False
        due, _, body = heapq.heappop(self.pending)
        if due > self.clock.now():
            self.clock.advance(due - self.clock.now())
        self.runs.append((json.loads(body), poller_mod.handle_message(body)))
        return True

    @property
    def delays(self) -> list[float]:
        return [float(b["delay"]) for b in self.sent]


@pytest.fixture
def queue(monkeypatch, mj) -> PollerQueue:
    real = poller_mod.aws_client
    fake = PollerQueue(mj.sim.clock)
    monkeypatch.setattr(
        poller_mod, "aws_client", lambda name: fake if name == "sqs" else real(name)
    )
    mj.sim.advance_per_read = 0.0  # time moves only as the poller's delays say
    return fake


def run_until(mj, queue: PollerQueue, done: Any, steps: int = 300) -> None:
    """Worker jobs first (as Lambda would, they run at once), then the next poller message."""
    for _ in range(steps):
        mj.drain()
        if done() or not queue.step():
            return
    raise AssertionError("the poller chain did not finish")


def imagine(mj, prompt: str) -> str:
    return submit_ok(mj, "/mj/submit/imagine", {"prompt": prompt})


def succeeded(mj, *ids: str) -> bool:
    return all(fetch(mj, i)["status"] == "SUCCESS" for i in ids)


def final_to_success(mj, task_id: str) -> float:
    task = fetch(mj, task_id)
    final = next(e["t"] for e in mj.sim.log if e["event"] == "final"
                 and e["nonce"] == task["properties"]["nonce"])  # fmt: skip
    return task["finishTime"] / 1000 - final


# ---- back-off --------------------------------------------------------------------------------
@pytest.mark.parametrize("ceiling", ["4", "1"])
def test_the_delay_doubles_while_quiet_resets_on_a_change_and_the_task_finishes(
    monkeypatch, mj, queue, ceiling
):
    monkeypatch.setenv("MJ_DISCORD_POLL_SECONDS", "1")
    monkeypatch.setenv("MJ_DISCORD_POLL_MAX_SECONDS", ceiling)
    mj.sim.step_seconds = 10.0  # Midjourney edits its progress message every 10 s
    task_id = imagine(mj, "a slow heron")
    run_until(mj, queue, lambda: succeeded(mj, task_id))
    assert succeeded(mj, task_id)
    delays = queue.delays
    assert delays[0] == 0  # the chain starts at once
    if ceiling == "1":  # MJ_DISCORD_POLL_MAX_SECONDS = the interval: no back-off at all
        assert set(delays[1:]) == {1.0}
        return
    # Between two progress edits the delay grows 1 -> 2 -> 4 (the ceiling) and stays there;
    # the run that sees the next edit brings it back to 1.
    assert max(delays) == 4.0 and "1.0,2.0,4.0,4.0" in ",".join(map(str, delays))
    resets = [i for i in range(1, len(delays)) if delays[i - 1] == 4.0 and delays[i] == 1.0]
    assert len(resets) >= 5  # one per progress step (6 steps, then the grid)
    quiet = [r for _, r in queue.runs if r is not None and r.messages]
    assert any(r.quiet for r in quiet) and any(not r.quiet for r in quiet)
    # Results are seen at most one ceiling late; reads are far fewer than at a fixed 1 s.
    assert final_to_success(mj, task_id) <= 4.0
    assert mj.sim.count("messages") < 0.5 * (mj.sim.now() - fetch(mj, task_id)["submitTime"] / 1000)


def test_a_new_job_wakes_a_backed_off_chain(monkeypatch, mj, queue):
    monkeypatch.setenv("MJ_DISCORD_POLL_SECONDS", "1")
    monkeypatch.setenv("MJ_DISCORD_POLL_MAX_SECONDS", "8")
    mj.sim.step_seconds = 30.0
    first = imagine(mj, "a patient tortoise")
    run_until(mj, queue, lambda: bool(queue.delays) and queue.delays[-1] == 8.0)  # backed off
    pending = queue.sent[-1]
    token = pending["lease"]
    second = imagine(mj, "an eager hare")
    mj.drain()  # the worker sends the interaction and wakes the chain
    wake = queue.sent[-1]
    assert wake == {"instanceId": mj.account.channel_id, "lease": token, "delay": 1.0}
    sent_at = mj.sim.now()
    queue.step()  # the copy, due in 1 s, runs before the message due in 8 s
    assert mj.sim.now() - sent_at == pytest.approx(1.0)
    body, report = queue.runs[-1]
    assert body == wake and report is not None and report.api_calls >= 1  # it read the channel
    run_until(mj, queue, lambda: succeeded(mj, first, second))
    assert succeeded(mj, first, second)
    # The overtaken message found its lease handed on and stopped without reading.
    overtaken = [r for b, r in queue.runs if b == pending]
    assert len(overtaken) == 1 and overtaken[0] is not None and overtaken[0].api_calls == 0


def test_a_wake_is_not_sent_to_a_chain_at_its_base_interval(monkeypatch, mj, queue):
    monkeypatch.setenv("MJ_DISCORD_POLL_SECONDS", "3")
    monkeypatch.setenv("MJ_DISCORD_POLL_MAX_SECONDS", "3")
    imagine(mj, "a steady ox")
    mj.drain()
    queue.step()
    sent = len(queue.sent)
    imagine(mj, "a second ox")
    mj.drain()
    assert len(queue.sent) == sent  # its next read is due within the interval anyway


# ---- previews ----------------------------------------------------------------------------------
def preview_objects(task_id: str) -> list[str]:
    out = boto3.client("s3").list_objects_v2(
        Bucket=os.environ["BUCKET_NAME"], Prefix=f"tasks/{task_id}/"
    )
    return [o["Key"] for o in out.get("Contents", []) if "preview" in o["Key"]]


def watch(mj, task_id: str) -> list[dict]:
    seen = []
    for _ in range(60):
        if not mj.deliver_once():
            break
        seen.append(fetch(mj, task_id))
    return seen


@pytest.mark.parametrize("mode", ["link", "store"])
def test_progress_previews_are_linked_or_stored(monkeypatch, mj, mode):
    monkeypatch.setenv("MJ_MIDJOURNEY_PREVIEWS", mode)
    monkeypatch.setenv("MJ_PREVIEW_MIN_SECONDS", "0")  # store: every preview would be stored
    mj.sim.advance_per_read = 0.5
    task_id = imagine(mj, "a glowing jellyfish")
    seen = watch(mj, task_id)
    running = [t["imageUrl"] for t in seen if t["status"] == "IN_PROGRESS" and t["imageUrl"]]
    final = seen[-1]
    assert final["status"] == "SUCCESS"
    assert "grid.png" in final["imageUrl"] and not final["imageUrl"].startswith(SIM_BASE)
    cdn = mj.sim.count("cdn")  # the simulator's CDN: previews + the grid
    if mode == "link":
        # Discord's URL of each new preview as it arrives; nothing downloaded or stored.
        assert running and all(u.startswith(f"{SIM_BASE}/") for u in running)
        assert len(set(running)) >= 3
        assert preview_objects(task_id) == [] and cdn == 1
    else:
        assert running and all("preview.png" in u for u in running)
        assert preview_objects(task_id) == [f"tasks/{task_id}/preview.png"] and cdn > 1

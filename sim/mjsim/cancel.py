"""Midjourney's Cancel Job button in the simulator: a running grid job's start and progress
messages carry `MJ::CancelJob::ByJobid::<job uuid>` (style 4, "Cancel Job"; the shape of the
"Waiting to start" message in Guinsoo1989/midjourney-proxy@60a9a50
src/main/java/com/github/novicezk/midjourney/MainTest.java (its version before that commit),
tests/fixtures/midjourney/cancel.json).
Pressing it stops the job: no further progress, no result, its progress message deleted and its
concurrency slot given to the next queued job. (What the real bot posts after a cancel no peer
records; the simulator posts nothing.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core import Account, Simulator

PREFIX = "MJ::CancelJob::ByJobid::"


def components(job_id: str) -> list[dict[str, Any]]:
    return [{"type": 1, "components": [
        {"type": 2, "style": 4, "label": "Cancel Job", "custom_id": f"{PREFIX}{job_id}"}
    ]}]  # fmt: skip


def press(sim: Simulator, acct: Account, custom_id: str) -> bool:
    """The Cancel Job button of one of the account's jobs; False when it is no such button."""
    if not custom_id.startswith(PREFIX):
        return False
    job = sim.jobs.get(custom_id[len(PREFIX) :])
    if job is None or job.account is not acct or job.finished_at is not None or job.cancelled:
        return True  # Midjourney answers the press and does nothing: the job is over
    job.cancelled = True
    job.finished_at = sim.now()
    running = sim._running.setdefault(acct.token, [])
    if job.id in running:
        running.remove(job.id)
    queue = sim._queued.setdefault(acct.token, [])
    if job in queue:
        queue.remove(job)
    if job.message_id:
        sim.deleted.add(job.message_id)
        sim._emit(acct, "MESSAGE_DELETE", {"id": job.message_id, "channel_id": acct.channel_id})
    sim.log.append({"t": sim.now(), "event": "cancel", "job": job.id, "nonce": job.nonce})
    sim._start_queued(acct)
    return True

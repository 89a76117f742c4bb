"""The sweeper (scheduled every minute): after any crash, restart or lost message, no task stays
unfinished forever and no instance counter stays wrong (protocol.md §5.4, §5.5).

Each run reads the sparse active index only (never a table scan), oldest first, and:
- fails a SUBMITTED/IN_PROGRESS task whose clock, started when the generator accepted it
  (`startTime`, as the original: not reset by progress), is past its instance's `timeoutMinutes`,
  with failReason `任务超时`. This also ends a task whose job chain was lost (nothing will move it
  again) and tasks of instances that were disabled or removed since (the original never swept
  those); a running task without `startTime` counts from `submitTime`;
- fails a task still waiting for a slot `MJ_NOT_START_TIMEOUT_MINUTES` (the wait limit, longer
  than a run's timeout) after its submit, with a reason that says it waited; a task that holds a
  slot but is still NOT_START counts its `timeoutMinutes` from when it got the slot (a timeout
  counts from the start of running, never from the queueing);
- fails a MODAL task (a button that needs /mj/submit/modal) not confirmed within
  `MJ_MODAL_TIMEOUT_MINUTES` of its creation, so it never stays MODAL forever;
- repairs every instance's `active`/`running` counters, dropping ids whose task is finished or
  gone (a crash between a task finishing and its release);
- repairs the waiting queue (mjproxy.queueing): gives a NOT_START task that holds no place in its
  instance's counters its place back (a submit that failed after its task was written released
  it), re-sends a start job lost between a slot claim and its send, and starts waiting tasks
  wherever a slot is free (a lost "task ended" event).
Failing goes through Worker.fail: the same conditional write as any failure (a task that finished
meanwhile is left alone), the slot is released and the callback is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import observability, queueing
from .config import Instance, settings
from .domain import codes
from .domain.task import Task, TaskStatus, now_ms
from .observability import logger
from .store.instances import IdTaken, InstancePool, QueueFull, Slots
from .store.tasks import TaskRepository
from .worker import Worker

log = logging.getLogger(__name__)

PAGE_SIZE = 100
MAX_PAGES = 50  # 5,000 unfinished tasks per run; the rest are reached on the next run
# An id reserved in an instance counter before its task item is written (api/submit.accept) is
# not "gone" yet: ids start with their creation time in ms, so young ones are left alone.
RESERVATION_GRACE_MS = 120_000

Clock = Callable[[], int]


@dataclass
class SweepReport:
    checked: int = 0
    timed_out: list[str] = field(default_factory=list)
    not_started: list[str] = field(default_factory=list)
    repaired: dict[str, list[str]] = field(default_factory=dict)
    requeued: list[str] = field(default_factory=list)  # waiting tasks given their place back
    restarted: list[str] = field(default_factory=list)  # lost start jobs re-sent
    started: list[str] = field(default_factory=list)  # waiting tasks started into free slots


def _id_time(task_id: str) -> int | None:
    return int(task_id[:13]) if len(task_id) >= 13 and task_id[:13].isdigit() else None


class Sweeper:
    def __init__(
        self,
        repo: TaskRepository | None = None,
        pool: InstancePool | None = None,
        worker: Worker | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.repo = repo or TaskRepository()
        self.pool = pool or InstancePool()
        self.worker = worker or Worker(self.repo, self.pool)
        self.clock = clock or now_ms

    def instance_of(self, task: Task) -> Instance:
        # A removed instance still has tasks to end: the default timeout applies to them.
        return self.pool.instance(task.instanceId) or Instance(id=task.instanceId or "")

    def overdue(self, task: Task, now: int, slot_since: dict[str, int | None]) -> str | None:
        """The failReason if `task` must be failed now, else None. `slot_since`: task id -> when
        it got its slot, for the tasks holding one."""
        if task.status == TaskStatus.MODAL:
            limit = settings().modal_timeout_minutes
            if task.submitTime is not None and now - int(task.submitTime) > limit * 60_000:
                return codes.MODAL_TIMEOUT_FMT.format(minutes=limit)
            return None
        if task.status == TaskStatus.NOT_START and task.id not in slot_since:
            limit = settings().not_start_timeout_minutes
            if task.submitTime is not None and now - int(task.submitTime) > limit * 60_000:
                return codes.NOT_START_TIMEOUT_FMT.format(minutes=limit)
            return None
        started = task.startTime
        if started is None:
            started = slot_since.get(task.id) or task.submitTime
        timeout_ms = self.instance_of(task).timeoutMinutes * 60_000
        if started is not None and now - int(started) > timeout_ms:
            return codes.TIMEOUT_REASON
        return None

    def run(self) -> SweepReport:
        report = SweepReport()
        now = self.clock()
        instances = self.pool.instances()
        slots: dict[str, Slots] = {i.id: self.pool.slots(i.id) for i in instances}
        slot_since = queueing.holders(slots)
        unfinished: dict[str, Task] = {}
        cursor = None
        for _ in range(MAX_PAGES):
            tasks, cursor = self.repo.list_active(limit=PAGE_SIZE, cursor=cursor)
            for task in tasks:
                report.checked += 1
                reason = self.overdue(task, now, slot_since)
                if reason is None:
                    unfinished[task.id] = task
                    continue
                if self.worker.fail(task, reason) is not None:
                    waited = task.status == TaskStatus.MODAL or (
                        task.status == TaskStatus.NOT_START and task.id not in slot_since
                    )
                    (report.not_started if waited else report.timed_out).append(task.id)
                    log.warning("task swept", extra={"taskId": task.id, "reason": reason})
                    # Alarmed on (template TasksTimedOutAlarm): a provider that hangs.
                    observability.metric("TasksTimedOut", 1)
            if not cursor:
                break
        report.requeued = self.requeue(unfinished, instances, slots, now)
        for instance in instances:
            stale = self.pool.repair(instance.id, lambda ids: self.finished_or_gone(ids, now))
            if stale:
                report.repaired[instance.id] = stale
            report.restarted += queueing.restart_lost(
                instance.id, slots[instance.id], unfinished, now
            )
            report.started += queueing.start_waiting(instance.id, pool=self.pool)[0]
        return report

    def requeue(
        self, tasks: dict[str, Task], instances: tuple[Instance, ...], slots: dict[str, Slots],
        now: int,
    ) -> list[str]:  # fmt: skip
        """Reserve again the place of NOT_START tasks that have none (they would only ever end
        by the wait limit). Young ones may be a submit between its reserve and its write."""
        by_id = {i.id: i for i in instances}
        out = []
        for task in tasks.values():
            instance = by_id.get(task.instanceId or "")
            created = _id_time(task.id)
            if (
                task.status != TaskStatus.NOT_START
                or instance is None
                or task.id in slots[instance.id].active
                or created is None
                or now - created <= RESERVATION_GRACE_MS
            ):
                continue
            fresh = self.repo.get(task.id)  # it may have ended since the page was read
            if fresh is None or fresh.status != TaskStatus.NOT_START:
                continue
            try:
                self.pool.reserve(instance, task.id)
            except (QueueFull, IdTaken):  # full: it waits for a place like a new submit would
                continue
            out.append(task.id)
            log.warning("waiting task had lost its place", extra={"taskId": task.id})
        return out

    def finished_or_gone(self, ids: list[str], now: int) -> set[str]:
        found = {t.id: t for t in self.repo.batch_get(ids)}
        out = set()
        for task_id in ids:
            task = found.get(task_id)
            if task is not None:
                if task.terminal:
                    out.add(task_id)
                continue
            created = _id_time(task_id)
            if created is None or now - created > RESERVATION_GRACE_MS:
                out.add(task_id)
        return out


# ---- Lambda entry (EventBridge schedule) --------------------------------------------------

# Module-level so tests can freeze it: `monkeypatch.setattr(sweeper, "clock", lambda: ...)`.
clock: Clock = now_ms


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    report = Sweeper(clock=lambda: clock()).run()
    return {
        "checked": report.checked,
        "timedOut": report.timed_out,
        "notStarted": report.not_started,
        "repaired": report.repaired,
        "requeued": report.requeued,
        "restarted": report.restarted,
        "started": report.started,
    }

"""Starting waiting tasks (issue 13): event driven, first come first served, no polling.

The queue of an instance is `active - running` on its counters item (store/instances.py), in id
order; task ids begin with the submit time in ms, so that is submit order (per instance, and so
per speed mode too: every mode of an instance shares its coreSize slots, the oldest waiting task
of any mode is next). A waiting task has no job in the jobs queue and costs nothing.

Who starts a task (`start_waiting`): whoever may have made a slot free or a task wait, i.e.
- the submit, right after it reserved its place (an idle instance starts the new task at once);
- `task_ended`, THE hook for every way a task can end (SUCCESS, FAILURE, CANCEL, timeout,
  account disabled). Call `queueing.task_ended(task)` with the task as written in its final
  status: it frees the task's slot and queue place, then starts the next waiting tasks of its
  instance. Idempotent: calling it twice, or for a task that never got a slot, is harmless.
  The worker (Worker.after_change) and the sweeper call it; so must any other code that ends a
  task (the cancel route, an account being disabled);
- the sweeper every minute, which repairs what a lost event left behind (`restart_lost` and
  `start_waiting` for every instance).

Exact counts under duplicates, crashes and races: a task is started only by the caller whose
conditional `claim_slot` succeeded (a free slot, the task still queued, not yet holding a slot),
so two finishes racing for the same waiting task start it once, and each fills every free slot
it sees. The start job is sent after the claim; a crash between the two leaves a task holding a
slot without a job, which `restart_lost` re-sends once its claim is older than START_GRACE_MS.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .. import jobs
from ..config import Instance, settings
from ..domain.task import Task, TaskStatus, now_ms
from ..store.instances import InstancePool, Slots

log = logging.getLogger(__name__)

# A claimed slot whose task is still NOT_START at seq 0 this long after the claim lost its start
# job. Start steps take seconds (the generator's reply comes in later steps), so two minutes
# leaves a wide margin before a slow start could be doubled (the seq check would then drop the
# second write), and stays under the run timeout (`timeoutMinutes`, default 5) counted from the
# same claim. A crashed start is redelivered by SQS anyway; this only covers a job never sent.
START_GRACE_MS = 120_000
MAX_CLAIM_ROUNDS = 5  # re-reads after losing a claim race; the sweeper covers anything beyond

Send = Callable[[jobs.Job], None]


def _send(job: jobs.Job) -> None:
    jobs.send(job)


def configured(instance_id: str | None) -> Instance | None:
    """The instance as configured (its coreSize). A run-time disabled one still starts its
    waiting tasks: the worker then ends each with the account's reason instead of leaving it."""
    for inst in settings().instances:
        if inst.id == instance_id:
            return inst
    return None


def start_waiting(
    instance_id: str | None,
    slots: Slots | None = None,
    *,
    pool: InstancePool | None = None,
    send: Send = _send,
    clock: Callable[[], int] = now_ms,
) -> tuple[list[str], list[str]]:
    """Fill the instance's free slots with its oldest waiting tasks and send their start jobs.

    `slots` is a fresh read of the counters when the caller has one (saves a read). Returns
    (started ids, ids whose slot was claimed but whose job could not be sent: the sweeper
    re-sends those)."""
    instance = configured(instance_id)
    if instance is None:
        return [], []
    pool = pool or InstancePool()
    current = slots if slots is not None else pool.slots(instance.id)
    started: list[str] = []
    unsent: list[str] = []
    for _ in range(MAX_CLAIM_ROUNDS):
        free = instance.coreSize - len(current.running)
        waiting = current.waiting()
        if free <= 0 or not waiting:
            break
        lost_race = False
        for task_id in waiting[:free]:
            if not pool.claim_slot(instance, task_id, clock()):
                lost_race = True  # someone else changed the counters: read them again
                break
            try:
                send(jobs.Job(task_id, jobs.START, 0))
                started.append(task_id)
            except Exception:
                log.exception("start job not sent", extra={"taskId": task_id})
                unsent.append(task_id)
        if not lost_race:
            break
        current = pool.slots(instance.id)
    return started, unsent


def task_ended(task: Task, pool: InstancePool | None = None) -> list[str]:
    """The task ended (any way): free its slot and queue place, start whoever is next.

    Never raises: the task is already written in its final status, and a failure here is
    repaired by the sweeper. Returns the ids started."""
    pool = pool or InstancePool()
    try:
        after = pool.release(task)
        if after is None:
            return []
        return start_waiting(task.instanceId, after, pool=pool)[0]
    except Exception:
        log.exception("could not start the next waiting task", extra={"taskId": task.id})
        return []


def restart_lost(
    instance_id: str,
    slots: Slots,
    tasks: dict[str, Task],
    now: int,
    send: Send = _send,
) -> list[str]:
    """Re-send the start job of tasks that hold a slot but never started (their job was lost
    between the claim and the send). `tasks` are the unfinished tasks as last read."""
    restarted = []
    for task_id in sorted(slots.running):
        task = tasks.get(task_id)
        if task is None or task.status != TaskStatus.NOT_START or task.seq != 0:
            continue
        since = slots.since.get(task_id)
        if since is not None and now - since <= START_GRACE_MS:
            continue
        send(jobs.Job(task_id, jobs.START, 0))
        restarted.append(task_id)
        log.warning("lost start job re-sent", extra={"taskId": task_id, "instance": instance_id})
    return restarted


def holders(slots_by_instance: dict[str, Slots]) -> dict[str, int | None]:
    """Task id -> when it got its slot, for every task holding one."""
    out: dict[str, int | None] = {}
    for slots in slots_by_instance.values():
        for task_id in slots.running:
            out[task_id] = slots.since.get(task_id)
    return out

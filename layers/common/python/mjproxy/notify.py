"""Callbacks (notifyHook), the enqueueing side. The worker calls `task_changed` after every
status/progress change; delivery happens on the notify queue (notifier.py) so a slow or broken
receiver never delays a task. A message only names the task: the notifier reads the task fresh
when it sends, so a callback always carries the newest state, never a stale snapshot."""

from __future__ import annotations

import json
import logging
import os

from .direct import sqs as direct_sqs
from .domain.task import Task, TaskStatus

log = logging.getLogger(__name__)

MAX_DELAY_SECONDS = 900  # SQS limit


def queue_url() -> str:
    return os.environ.get("NOTIFY_QUEUE_URL", "")


def enqueue(
    task_id: str,
    *,
    attempt: int = 0,
    retry_of: str | None = None,
    waits: int = 0,
    delay: float = 0,
    status: str | None = None,
    progress: str | None = None,
) -> None:
    body = {"taskId": task_id, "attempt": attempt, "retryOf": retry_of, "waits": waits}
    if status is not None:  # for people reading the queue; the notifier reads the task itself
        body.update(status=status, progress=progress)
    direct_sqs.send(
        queue_url(),
        json.dumps(body, separators=(",", ":")),
        max(0, min(MAX_DELAY_SECONDS, int(round(delay)))),
    )


def task_changed(task: Task) -> None:
    """Queue a callback for `task`'s new state when it has a notifyHook (never for NOT_START)."""
    hook = task.properties.get("notifyHook")
    if not hook or not str(hook).strip() or not queue_url():
        return
    if task.status == TaskStatus.NOT_START:
        return
    try:
        enqueue(task.id, status=task.status.value, progress=task.progress)
    except Exception:
        # The task's step already happened; failing here would only replay it. A lost callback
        # is the lesser harm, and the next change (or the final state) enqueues again.
        log.exception("could not queue a callback", extra={"taskId": task.id})

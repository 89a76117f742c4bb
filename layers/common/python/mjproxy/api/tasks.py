"""Read side: a task as clients see it (fetch, lists, callbacks all use wire.task_json)."""

from __future__ import annotations

from typing import Any

from .. import images, wire
from ..domain.task import Task, now_ms
from ..store.tasks import TaskRepository


def visible(task: Task | None) -> bool:
    """DynamoDB deletes expired items lazily (up to days later): hide them on read."""
    return task is not None and not (task.expiresAt and task.expiresAt < now_ms() // 1000)


def task_view(task: Task) -> dict[str, Any]:
    return wire.task_json(task, images.public_url, images.quadrant_url)


def list_view(task: Task) -> dict[str, Any]:
    """A task in a list answer: the same JSON without `properties.notifyHook`, whose URL may carry
    a client's token and should not be readable by whoever can list every task (protocol.md §9)."""
    view = task_view(task)
    view["properties"].pop("notifyHook", None)
    return view


def fetch(task_id: str, repo: TaskRepository | None = None) -> dict[str, Any] | None:
    """The task, or None (sent as the JSON `null`) when unknown: the original's empty body makes
    JSON-parsing clients throw, `null` reads as "no such task" everywhere."""
    task = (repo or TaskRepository()).get(task_id.strip()) if task_id.strip() else None
    return task_view(task) if visible(task) else None

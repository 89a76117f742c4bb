"""Callbacks (notifyHook). The worker calls `task_changed` after every status/progress change;
delivery happens on the notifier queue so a slow receiver never delays a task."""

from __future__ import annotations

import json
import os

from .aws import client
from .domain.task import Task


def task_changed(task: Task) -> None:
    hook = task.properties.get("notifyHook")
    queue_url = os.environ.get("NOTIFY_QUEUE_URL", "")
    if not hook or not queue_url:
        return
    client("sqs").send_message(
        QueueUrl=queue_url,
        MessageBody=json.dumps(
            {"taskId": task.id, "status": task.status.value, "progress": task.progress},
            separators=(",", ":"),
        ),
    )

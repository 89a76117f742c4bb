"""The waiting queue: tasks wait for a slot without polling and start the moment one frees up."""

from .starter import START_GRACE_MS, holders, restart_lost, start_waiting, task_ended

__all__ = ["START_GRACE_MS", "holders", "restart_lost", "start_waiting", "task_ended"]

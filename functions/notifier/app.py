"""Notify queue consumer: POSTs the task's current JSON to its notifyHook (mjproxy.notifier)."""

from mjproxy.notifier import lambda_handler

__all__ = ["lambda_handler"]

"""Every minute: fail timed-out and stranded tasks, repair instance counters (mjproxy.sweeper)."""

from mjproxy.sweeper import lambda_handler

__all__ = ["lambda_handler"]

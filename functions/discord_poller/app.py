"""SQS: one message per Discord account with running tasks; each reads the channel once and
re-enqueues itself (mjproxy.providers.midjourney.poller)."""

from mjproxy.providers.midjourney.handler import lambda_handler

__all__ = ["lambda_handler"]

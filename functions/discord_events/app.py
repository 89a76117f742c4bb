"""SQS: Discord gateway events forwarded by the listener (mjproxy-gateway), fed to the matcher
(mjproxy.providers.midjourney.gateway_events)."""

from mjproxy.providers.midjourney.events_handler import lambda_handler

__all__ = ["lambda_handler"]

"""Module singletons for logging: Powertools structured JSON logs, imported on first use."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


class _LazyLogger:
    """Powertools' Logger(service="mjproxy"), created when something first uses it: an API
    function that answers without logging never imports Powertools (~30 ms of its cold start,
    bench/results/1_cold_start.md). Any attribute (info, exception, inject_lambda_context, ...)
    loads it."""

    def __init__(self) -> None:
        self._real: Any = None
        self._context: tuple[Any, bool] | None = None  # (Lambda context, cold start) to apply

    def _load(self) -> Any:
        if self._real is None:
            from aws_lambda_powertools import Logger

            self._real = Logger(service="mjproxy")
        if self._context is not None:
            self._apply(*self._context)
        return self._real

    def _apply(self, context: Any, cold_start: bool) -> None:
        """What inject_lambda_context(clear_state=True) does at the start of an invocation."""
        from aws_lambda_powertools.logging.lambda_context import build_lambda_context_model

        self._context = None
        self._real.structure_logs(
            cold_start=cold_start, **build_lambda_context_model(context).__dict__
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._load(), name)


logger: Any = _LazyLogger()
_invocations = 0


def lazy_lambda_context(handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """Like `logger.inject_lambda_context(clear_state=True)` (the invocation's context and
    cold_start on every log line, nothing kept from the previous invocation), without loading
    Powertools for an invocation that logs nothing."""

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        global _invocations
        _invocations += 1
        cold = _invocations == 1
        if logger._real is not None:
            logger._apply(context, cold)
        else:
            logger._context = (context, cold)
        return handler(event, context)

    return wrapper


# ---- metrics (CloudWatch embedded metric format, namespace mjproxy; docs/observability.md)

NAMESPACE = "mjproxy"


def metric(name: str, value: float, unit: str = "Count", **dimensions: str) -> None:
    """One metric with its own dimensions, written at once as an EMF log line (a no-op with
    POWERTOOLS_METRICS_DISABLED, as in tests and the local runner). Powertools loads on use."""
    import os

    # single_metric itself ignores POWERTOOLS_METRICS_DISABLED (Powertools 3.37).
    if os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() in ("1", "true", "yes", "on"):
        return
    from aws_lambda_powertools.metrics import single_metric

    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or NAMESPACE
    with single_metric(name=name, unit=unit, value=value, namespace=namespace) as m:
        for key, val in dimensions.items():
            m.add_dimension(name=key, value=val or "none")


def task_changed(before: Any, after: Any, provider: str) -> None:
    """Metrics for one task state change: queue wait when it starts running, one
    `TasksFinished` by outcome/provider/action when it ends, time to SUCCESS."""
    action = str(getattr(after.action, "value", after.action) or "")
    if after.startTime and not before.startTime and after.submitTime:
        metric("QueueWait", after.startTime - after.submitTime, "Milliseconds", provider=provider)
    if after.terminal and not before.terminal:
        status = str(getattr(after.status, "value", after.status))
        metric("TasksFinished", 1, outcome=status, provider=provider, action=action)
        if status == "SUCCESS" and after.finishTime and after.submitTime:
            metric("TimeToSuccess", after.finishTime - after.submitTime, "Milliseconds",
                   provider=provider, action=action)


def set_task(task_id: str | None) -> None:
    """The task id is the correlation id of every log line until the next task."""
    logger.set_correlation_id(task_id)

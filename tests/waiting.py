"""Waiting on a condition of a system running in another process or thread (the local tier, the
browser, the gateway listener): poll with a generous bound, never a fixed sleep and never a
timing assertion. In-process tests inject clocks instead (tests/harness.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    probe: Callable[[], T], timeout: float, what: str | Callable[[], str], interval: float = 0.05
) -> T:
    """The first truthy value `probe()` returns; AssertionError naming `what` after `timeout`
    seconds. `what` may be a callable, evaluated only on failure (for a description of the
    last state seen)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            described = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout:g} s waiting for {described}")
        time.sleep(interval)

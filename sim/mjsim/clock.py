"""Clocks for the simulator: real time for the standalone server, a manual clock for tests (no
sleeps: the test advances time itself, or lets every channel read advance it)."""

from __future__ import annotations

import time


class RealClock:
    def now(self) -> float:
        return time.time()


class ManualClock:
    def __init__(self, start: float | None = None) -> None:
        self.t = time.time() if start is None else start

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds

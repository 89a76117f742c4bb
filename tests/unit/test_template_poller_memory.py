"""The Discord poller's and events function's memory (issue 17): chosen from the poller's
measured peak RSS (bench/worker_memory.py), not left at the worker's size."""

from __future__ import annotations

import sys
from pathlib import Path

from mjproxy.local.template import Template

ROOT = Path(__file__).resolve().parents[2]


def test_poller_and_events_functions_are_256_mb_which_the_bench_prices():
    template = Template(ROOT / "template.yaml")
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import common  # bench/common.py: what bench/traffic.py prices the poller at
    finally:
        sys.path.remove(str(ROOT / "bench"))
    for name in ("DiscordPollerFunction", "DiscordEventsFunction"):
        assert common.memory_mb(template, name) == 256, name

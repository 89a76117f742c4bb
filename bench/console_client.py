"""The console's and the Python client's costs as a user meets them in the local mode: the page's
size and load time (GET /console and its two files), the client's per-call overhead over a bare
`requests` call, and how many fetches `wait` spends on one imagine (polling with jitter).

Run: .venv/bin/python bench/console_client.py
"""

from __future__ import annotations

import statistics
import time

import requests
from common import local_mode

from mjclient import Client

CALLS = 50


def median_ms(fn, n: int = CALLS) -> float:
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def main() -> None:
    with local_mode() as base:
        session = requests.Session()
        files = ["/console", "/console/console.js", "/console/console.css"]
        sizes = {f: len(session.get(base + f, timeout=10).content) for f in files}
        page_ms = median_ms(lambda: [session.get(base + f, timeout=10) for f in files], 20)
        print(f"console: {sum(sizes.values())} bytes in 3 files {sizes}; "
              f"all three in {page_ms:.1f} ms (median of 20)")  # fmt: skip

        with Client(base) as client:
            task_id = client.imagine("a red fox in snow --ar 3:2").task_id
            polls = []
            t = time.perf_counter()
            original = client.ops.fetch

            def counting_fetch(tid):
                polls.append(tid)
                return original(tid)

            client.ops.fetch = counting_fetch
            task = client.wait(task_id, timeout=60)
            waited = time.perf_counter() - t
            client.ops.fetch = original
            print(f"wait: {task.status} after {waited:.1f} s with {len(polls)} fetches "
                  f"(server-side duration {(task.finish_time - task.submit_time) / 1000:.1f} s)")  # fmt: skip
            raw = median_ms(lambda: session.get(f"{base}/mj/task/{task_id}/fetch", timeout=10))
            typed = median_ms(lambda: client.fetch(task_id))
            print(f"fetch: requests {raw:.2f} ms, mjclient {typed:.2f} ms "
                  f"(median of {CALLS}; overhead {typed - raw:+.2f} ms)")  # fmt: skip


if __name__ == "__main__":
    main()

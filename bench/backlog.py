"""Backlog drain on the local mode (issue 13): one instance with coreSize 10 and a queueSize above
the backlog, N imagines submitted at once by 16 clients over HTTP, the whole system running as
`make run` runs it (mjproxy.local.runner: moto, HTTP server, SQS pollers, schedules).

Prints, per N: the drain time (first submit to last finish) against the ideal
N x single-task time / coreSize, the jobs-queue messages and worker invocations per task against
one task on an idle pool, and how many tasks ended FAILURE or never ended. Then the write
capacity the sharded task indexes allow, reasoned from the key design with the measured item
sizes and shard spread. A figure is a figure: nothing here fails on timing.

Run: .venv/bin/python bench/backlog.py [N ...]      (default: 200 1000)
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import common
import requests

CORE = 10
CLIENTS = 16
STEP_SECONDS = 1  # MJ_LOCAL_STEP_SECONDS: the local generator's pause between steps
PROGRESS_STEPS = 2  # MJ_LOCAL_PROGRESS_STEPS
PARTITION_WCU = 1000  # DynamoDB: write units per second one partition (key value) takes
# Concurrent worker invocations the runner allows per queue (Lambda scales far beyond): enough
# for coreSize tasks to each have their step running when it is due.
POLLERS = CORE
DEADLINE_FACTOR = 4  # give up waiting at 4x the ideal drain time (then count what is left)


class Counters:
    """Jobs sent and worker invocations/records, counted in-process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent = Counter()
        self.invocations = 0
        self.records = 0
        self.busy = 0.0  # seconds spent inside the worker function

    def install(self) -> None:
        from mjproxy import jobs
        from mjproxy.local import runner

        real_send, real_invoke = jobs.send, runner.invoke

        def send(job, delay_seconds=0, queue_url=None):
            with self.lock:
                self.sent[job.step] += 1
            return real_send(job, delay_seconds, queue_url)

        def invoke(fn, handler, event, timeout_s=900):
            if fn.name != "WorkerFunction":
                return real_invoke(fn, handler, event, timeout_s)
            t = time.perf_counter()
            try:
                return real_invoke(fn, handler, event, timeout_s)
            finally:
                with self.lock:
                    self.invocations += 1
                    self.records += len(event.get("Records", []))
                    self.busy += time.perf_counter() - t

        jobs.send = send
        runner.invoke = invoke

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return {
                "messages": sum(self.sent.values()),
                "start": self.sent["start"],
                "invocations": self.invocations,
                "records": self.records,
                "worker_busy_seconds": round(self.busy, 2),
            }


def cheap_drawing() -> None:
    """Replace the local generator's Pillow drawing with one small fixed PNG: on Midjourney the
    picture is drawn elsewhere and a task's time is waiting, which is what the queue must use
    well. (Drawing costs ~1-2 CPU seconds a step on a shared 2-core machine, which would measure
    the CPU instead of the queue.) Steps, delays, S3 writes and quadrant splitting stay real."""
    import io

    from PIL import Image

    from mjproxy.providers.local import LocalProvider

    buf = io.BytesIO()
    Image.new("RGB", (128, 128), (180, 60, 40)).save(buf, format="PNG")
    png = buf.getvalue()
    LocalProvider._draw = lambda self, task, ctx, size: png
    LocalProvider._preview = lambda self, task, ctx, pct: png


def submit(base: str, n: int) -> list[str]:
    session = requests.Session()

    def one(i: int) -> str:
        r = session.post(f"{base}/mj/submit/imagine", json={"prompt": f"cat {i}"}, timeout=60)
        body = r.json()
        assert body["code"] in (1, 22), body
        return body["result"]

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(one, range(n)))


def wait_all(base: str, ids: list[str], deadline: float) -> list[dict[str, Any]]:
    """Poll list-by-condition (as new-api does) until every task ended or the deadline."""
    tasks: list[dict[str, Any]] = []
    while True:
        tasks = []
        for start in range(0, len(ids), 1000):
            body = {"ids": ids[start : start + 1000]}
            r = requests.post(f"{base}/mj/task/list-by-condition", json=body, timeout=60)
            tasks += r.json()
        if all(t["status"] in ("SUCCESS", "FAILURE") for t in tasks) and len(tasks) == len(ids):
            return tasks
        if time.time() > deadline:
            return tasks
        time.sleep(0.5)


def run(base: str, counters: Counters, n: int, single: float | None) -> dict[str, Any]:
    before = counters.snapshot()
    started = time.time()
    ids = submit(base, n)
    submitted = time.time()
    ideal = (n * single / CORE) if single else None
    limit = started + max(120.0, DEADLINE_FACTOR * (ideal or 60.0))
    tasks = wait_all(base, ids, limit)
    after = counters.snapshot()
    finished = [t for t in tasks if t["status"] in ("SUCCESS", "FAILURE")]
    last = max((t["finishTime"] for t in finished), default=int(time.time() * 1000))
    first = min(t["submitTime"] for t in tasks)
    durations = [(t["finishTime"] - t["startTime"]) / 1000 for t in finished if t["startTime"]]
    out = {
        "n": n,
        "submit_seconds": round(submitted - started, 2),
        "drain_seconds": round((last - first) / 1000, 2),
        "ideal_seconds": round(ideal, 2) if ideal else None,
        "single_task_seconds": round(common.median(durations), 2) if durations else None,
        "failed": sum(1 for t in tasks if t["status"] == "FAILURE"),
        "stuck": n - len(finished),
        "ids": ids,
        **{k: after[k] - before[k] for k in after},
    }
    shown = {k: v for k, v in out.items() if k != "ids"}
    print(f"N={n}: {shown}", flush=True)
    return out


def index_capacity(ids: list[str]) -> dict[str, Any]:
    """Write capacity of the task indexes from the key design, with the measured item size and
    spread of this run's ids over the shards."""
    import boto3

    from mjproxy.config import settings
    from mjproxy.store.shards import SHARDS

    table = settings().table_name
    ddb = boto3.client("dynamodb")
    sizes = []
    kwargs: dict[str, Any] = {"TableName": table, "Limit": 200}
    for item in ddb.scan(**kwargs)["Items"]:  # a sample of the finished tasks (bench only)
        sizes.append(sum(len(k) + len(str(v)) for k, v in item.items()))
    mean_bytes = sum(sizes) / len(sizes)
    wcu = max(1, math.ceil(mean_bytes / 1024))  # one index write of an item this size
    spread = Counter(zlib.crc32(i.encode()) % SHARDS for i in ids)
    hottest = max(spread.values()) / (len(ids) / SHARDS)  # 1.0 = perfectly even
    before = PARTITION_WCU / wcu
    after = SHARDS * PARTITION_WCU / wcu / hottest
    return {
        "shards": SHARDS,
        "item_bytes": round(mean_bytes),
        "wcu_per_write": wcu,
        "hottest_shard_vs_even": round(hottest, 3),
        "writes_per_second_before": round(before),
        "writes_per_second_after": round(after),
    }


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [200, 1000]
    os.environ.update(
        {
            "MJ_PROVIDER": "local",
            "MJ_INSTANCES": (
                f'[{{"id":"local-1","provider":"local","coreSize":{CORE},'
                f'"queueSize":{max(sizes)},"timeoutMinutes":60}}]'
            ),
            "MJ_NOT_START_TIMEOUT_MINUTES": "240",
            "MJ_LOCAL_STEP_SECONDS": str(STEP_SECONDS),
            "MJ_LOCAL_PROGRESS_STEPS": str(PROGRESS_STEPS),
            "POWERTOOLS_LOG_LEVEL": "ERROR",
        }
    )
    sys.path.insert(0, str(common.LAYER))
    from mjproxy.local.runner import LocalSystem

    cheap_drawing()
    counters = Counters()
    counters.install()
    system = LocalSystem(port=common.free_port(), pollers_per_queue=POLLERS).start()
    try:
        base = system.base_url
        idle = run(base, counters, 1, None)
        single = idle["single_task_seconds"] or 1.0
        results = [run(base, counters, n, single) for n in sizes]
        capacity = index_capacity(sum((r["ids"] for r in results), []))
    finally:
        system.stop()

    drain = common.Table(
        f"Backlog drain, one instance coreSize {CORE}, {CLIENTS} clients, local generator "
        f"{PROGRESS_STEPS} steps of {STEP_SECONDS} s",
        ["N", "drain", "ideal", "drain/ideal", "msgs/task", "worker inv./task",
         "records/task", "failed", "stuck", "submit all"],
    )  # fmt: skip
    for r in [idle, *results]:
        n = r["n"]
        drain.add(
            n if n > 1 else "1 (idle pool)",
            f"{r['drain_seconds']:.1f} s",
            f"{r['ideal_seconds']:.1f} s" if r["ideal_seconds"] else "-",
            f"{r['drain_seconds'] / r['ideal_seconds']:.2f}x" if r["ideal_seconds"] else "-",
            f"{r['messages'] / n:.2f}",
            f"{r['invocations'] / n:.2f}",
            f"{r['records'] / n:.2f}",
            r["failed"],
            r["stuck"],
            f"{r['submit_seconds']:.1f} s",
        )
    drain.notes += [
        f"ideal = N x single-task time ({single:.2f} s, start to finish, measured on the idle "
        f"pool) / coreSize {CORE}; drain = first submitTime to last finishTime",
        "msgs/task: jobs-queue messages sent (start + poll steps + retries); worker inv./task: "
        "worker Lambda invocations (a batch of up to 10 records is one); a waiting task sends none",
    ]
    cap = common.Table(
        "Task index write capacity (list and queue GSIs, projection ALL)",
        ["design", "partition keys", "writes/s (at ~1,000 WCU/s per key)"],
    )
    cap.add("before: one key per index", 1, capacity["writes_per_second_before"])
    cap.add(
        f"sharded: {capacity['shards']} keys per index (+ the legacy key, read only)",
        capacity["shards"],
        capacity["writes_per_second_after"],
    )
    cap.notes += [
        f"measured task item ~{capacity['item_bytes']} bytes = {capacity['wcu_per_write']} WCU "
        "per index write; each task write updates both indexes while unfinished",
        f"hottest shard held {capacity['hottest_shard_vs_even']}x its even share of this run's "
        "ids (crc32 of the id); capacity divided by that",
    ]
    for r in results:
        r.pop("ids")
    idle.pop("ids")
    common.write_results(
        "backlog",
        "Backlog drain (issue 13)",
        [drain, cap],
        {"idle": idle, "runs": results, "capacity": capacity},
        common.run_script("backlog.py"),
    )


if __name__ == "__main__":
    main()

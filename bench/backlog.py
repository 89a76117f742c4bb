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

import http.client
import json
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

CORE = 10
CLIENTS = 16
STEP_SECONDS = 1  # MJ_LOCAL_STEP_SECONDS: the local generator's pause between steps
PROGRESS_STEPS = 2  # MJ_LOCAL_PROGRESS_STEPS
PARTITION_WCU = 1000  # DynamoDB: write units per second one partition (key value) takes
# Concurrent worker invocations the runner allows per queue (Lambda scales far beyond): enough
# for coreSize tasks to each have their step running when it is due.
POLLERS = CORE
ENDED = ("SUCCESS", "FAILURE")
# new-api polls list-by-condition every 15 s with the unfinished ids of a channel (clients.md).
# The drain time comes from the tasks' own submitTime/finishTime, not from when a poll saw them.
POLL_SECONDS = 15
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


_local = threading.local()


def post(base: str, path: str, body: Any, retry: bool = True) -> Any:
    """POST JSON over http.client, one keep-alive connection per thread. Not `requests`: moto,
    running in this process, answers `requests` calls to the API's address itself (the local
    mode serves S3 on that address)."""
    conn = getattr(_local, "conn", None)
    if conn is None:
        host, port = base.removeprefix("http://").split(":")
        conn = _local.conn = http.client.HTTPConnection(host, int(port), timeout=120)
    data = json.dumps(body).encode()
    try:
        conn.request("POST", path, data, {"Content-Type": "application/json"})
        return json.loads(conn.getresponse().read())
    except (OSError, http.client.HTTPException):
        _local.conn = None
        conn.close()
        if not retry:
            raise
        return post(base, path, body, retry=False)  # a dropped keep-alive connection: once more


def submit(base: str, n: int) -> list[str]:
    def one(i: int) -> str:
        body = post(base, "/mj/submit/imagine", {"prompt": f"cat {i}"})
        assert body["code"] in (1, 22), body
        return body["result"]

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(one, range(n)))


def wait_all(base: str, ids: list[str], deadline: float) -> list[dict[str, Any]]:
    """Poll as new-api does (clients.md): list-by-condition with the ids not yet finished, every
    POLL_SECONDS, in requests of at most 1000 ids, until every task ended or the deadline."""
    tasks: dict[str, dict[str, Any]] = {}
    while True:
        pending = [i for i in ids if tasks.get(i, {}).get("status") not in ENDED]
        for start in range(0, len(pending), 1000):
            for t in post(
                base, "/mj/task/list-by-condition", {"ids": pending[start : start + 1000]}
            ):
                tasks[t["id"]] = t
        if all(tasks.get(i, {}).get("status") in ENDED for i in ids) or time.time() > deadline:
            return [tasks[i] for i in ids if i in tasks]
        time.sleep(POLL_SECONDS)


def start_lag(tasks: list[dict[str, Any]]) -> float | None:
    """Median seconds from a finish to the start of the task that took its slot: with one
    instance served first come first served, the k-th start after the first coreSize follows the
    k-th finish. (startTime is the first step's write, so this includes the start job's trip.)"""
    starts = sorted(t["startTime"] for t in tasks if t.get("startTime"))
    finishes = sorted(t["finishTime"] for t in tasks if t.get("finishTime"))
    lags = [(s - f) / 1000 for s, f in zip(starts[CORE:], finishes, strict=False)]
    return round(common.median(lags), 3) if lags else None


def slot_use(tasks: list[dict[str, Any]], first: int, last: int) -> float | None:
    """Share of the coreSize slots busy with a started task between first submit and last finish."""
    busy = sum(
        t["finishTime"] - t["startTime"]
        for t in tasks
        if t.get("startTime") and t.get("finishTime")
    )
    return round(busy / (CORE * (last - first)), 3) if last > first else None


def run(base: str, counters: Counters, n: int, single: float | None) -> dict[str, Any]:
    before = counters.snapshot()
    started = time.time()
    cpu = time.process_time()  # the whole local system runs in this process
    ids = submit(base, n)
    submitted = time.time()
    ideal = (n * single / CORE) if single else None
    limit = started + max(120.0, DEADLINE_FACTOR * (ideal or 60.0))
    tasks = wait_all(base, ids, limit)
    after = counters.snapshot()
    cpu_cores = (time.process_time() - cpu) / (time.time() - started)
    finished = [t for t in tasks if t["status"] in ("SUCCESS", "FAILURE")]
    last = max((t["finishTime"] for t in finished), default=int(time.time() * 1000))
    first = min(t["submitTime"] for t in tasks)
    durations = [(t["finishTime"] - t["startTime"]) / 1000 for t in finished if t["startTime"]]
    load = os.getloadavg()[0]
    out = {
        "n": n,
        "submit_seconds": round(submitted - started, 2),
        "drain_seconds": round((last - first) / 1000, 2),
        "ideal_seconds": round(ideal, 2) if ideal else None,
        "single_task_seconds": round(common.median(durations), 2) if durations else None,
        "start_lag_seconds": start_lag(finished),
        "slot_use": slot_use(finished, first, last),
        "load_average": round(load, 2),
        "process_cpu_cores": round(cpu_cores, 2),
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
        ["N", "drain", "ideal", "drain/ideal", "median task", "start lag", "slot use",
         "msgs/task", "worker inv./task", "records/task", "failed", "stuck", "submit all",
         "CPU (cores)", "load avg"],
    )  # fmt: skip
    for r in [idle, *results]:
        n = r["n"]
        drain.add(
            n if n > 1 else "1 (idle pool)",
            f"{r['drain_seconds']:.1f} s",
            f"{r['ideal_seconds']:.1f} s" if r["ideal_seconds"] else "-",
            f"{r['drain_seconds'] / r['ideal_seconds']:.2f}x" if r["ideal_seconds"] else "-",
            f"{r['single_task_seconds']:.2f} s",
            f"{r['start_lag_seconds']:.2f} s" if r["start_lag_seconds"] is not None else "-",
            f"{r['slot_use']:.0%}" if n > 1 and r["slot_use"] is not None else "-",
            f"{r['messages'] / n:.2f}",
            f"{r['invocations'] / n:.2f}",
            f"{r['records'] / n:.2f}",
            r["failed"],
            r["stuck"],
            f"{r['submit_seconds']:.1f} s",
            f"{r['process_cpu_cores']:.2f}",
            f"{r['load_average']:.2f}",
        )
    drain.notes += [
        f"ideal = N x single-task time ({single:.2f} s, start to finish, measured on the idle "
        f"pool) / coreSize {CORE}; drain = first submitTime to last finishTime",
        "median task: start to finish of one task in this run; start lag: median time from a "
        "finish to the start (first step written) of the waiting task that took its slot; slot "
        "use: share of the coreSize slots holding a started task over the drain",
        f"the clients poll as new-api does: list-by-condition with the unfinished ids every "
        f"{POLL_SECONDS} s; CPU: this process's CPU seconds per second of the run (the whole "
        "system and the clients run in it, under one GIL: near 1.0 it is CPU-bound); load avg: "
        "1-minute load average of the machine when the run ended",
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
        "6_backlog",
        "Backlog drain (issue 13)",
        [drain, cap],
        {"idle": idle, "runs": results, "capacity": capacity},
        common.run_script("backlog.py"),
    )


if __name__ == "__main__":
    main()

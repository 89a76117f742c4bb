"""(2) Warm latency, in-process: the real handlers (loaded from template.yaml, as on a warm
Lambda) called back to back against the moto server, against the baseline handler doing one
GetItem. p50/p99 of wall time per call, and the handler thread's own CPU time per call (what
this code costs, without the AWS stand-in's share). Calls are interleaved in blocks so load from
elsewhere on the machine hits every operation alike.

    .venv/bin/python bench/warm_latency.py [--calls 500] [--calls-1000 20]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import common

BLOCKS = 10
WARM_TARGET = 1.3
SAME_WORK = "baseline: lean handler, GetItem + 5 presigned URLs (botocore)"
FETCH = "fetch (finished task)"
LIST_100 = "list-by-condition, 100 ids"
LIST_1000 = "list-by-condition, 1,000 ids"


class Timers:
    """Time spent inside botocore's API calls (the wall time of each call, moto's answer
    included) and inside images.presign, accumulated per handler call."""

    def __init__(self) -> None:
        self.aws = 0.0
        self.presign = 0.0

    def install(self) -> None:
        import botocore.client

        from mjproxy import direct, images

        def timed(original: Callable, attr: str) -> Callable:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                t = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    setattr(self, attr, getattr(self, attr) + time.perf_counter() - t)

            return wrapper

        botocore.client.BaseClient._make_api_call = timed(
            botocore.client.BaseClient._make_api_call, "aws"
        )
        # The requests sent without botocore (a job's SendMessage, an upload's PUT) too.
        direct.request = timed(direct.request, "aws")
        images.presign = timed(images.presign, "presign")

    def reset(self) -> None:
        self.aws = self.presign = 0.0


TIMERS = Timers()


@dataclass
class Op:
    label: str
    calls: int
    next_event: Callable[[int], dict[str, Any]]
    handler: Callable
    check: Callable[[dict[str, Any]], bool]
    after: Callable[[], None] | None = None  # untimed clean-up after each call
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    aws: list[float] = field(default_factory=list)
    presign: list[float] = field(default_factory=list)
    failed: int = 0


def run_call(op: Op, i: int, ctx: Any, timed: bool) -> None:
    event = op.next_event(i)
    TIMERS.reset()
    t0, c0 = time.perf_counter(), time.thread_time()
    out = op.handler(event, ctx)
    t1, c1 = time.perf_counter(), time.thread_time()
    aws, presign = TIMERS.aws, TIMERS.presign
    if op.after:
        op.after()
    if not timed:
        return
    if out.get("statusCode") == 200 and op.check(out):
        op.wall.append(t1 - t0)
        op.cpu.append(c1 - c0)
        op.aws.append(aws)
        op.presign.append(presign)
    else:
        op.failed += 1


def body_has(fragment: str) -> Callable[[dict[str, Any]], bool]:
    return lambda out: fragment in (out.get("body") or "")


ANSWERED: dict[int, int] = {}  # ids asked -> tasks in the last answer


def list_check(n: int) -> Callable[[dict[str, Any]], bool]:
    """Every id answered, or left out and counted in X-Ids-Truncated (an answer stops at 2 MB:
    the 1,000 ids of finished tasks with five URLs each are more than that)."""

    def check(out: dict[str, Any]) -> bool:
        answered = (out.get("body") or "").count('"action":')
        left = int((out.get("headers") or {}).get("X-Ids-Truncated") or 0)
        ANSWERED[n] = answered
        return answered + left == n

    return check


def build_ops(stack: common.Stack, calls: int, calls_1000: int) -> tuple[list[Op], list[str]]:
    parent = stack.finished_task()
    ids = stack.seed_tasks(1000, parent)

    def api(method: str, path: str, body: Any = None) -> tuple[dict[str, Any], Callable]:
        name, event = stack.route_event(method, path, body)
        return event, stack.handler(name)[1]

    baseline = common.load_baseline()
    lean = common.load_lean()
    base_events = [common.baseline_event(i) for i in ids[:100]]
    imagine_event, imagine = api("POST", "/mj/submit/imagine", {"prompt": common.IMAGINE_PROMPT})
    fetch_events = [api("GET", f"/mj/task/{i}/fetch")[0] for i in ids[:100]]
    _, fetch = api("GET", f"/mj/task/{ids[0]}/fetch")
    windows = [ids[k * 100 : (k + 1) * 100] for k in range(10)]
    list_events = [api("POST", "/mj/task/list-by-condition", {"ids": w})[0] for w in windows]
    list_1000_event, listing = api("POST", "/mj/task/list-by-condition", {"ids": ids})
    ops = [
        Op(SAME_WORK, calls, lambda i: base_events[i % 100],
           lambda e, c: lean.handle(e, c, sign=True), body_has('"status":"SUCCESS"')),
        Op("lean baseline, 1 GetItem only", calls, lambda i: base_events[i % 100],
           lean.lambda_handler, body_has('"status":"SUCCESS"')),
        Op("conventional handler (Powertools + pydantic), 1 GetItem", calls,
           lambda i: base_events[i % 100], baseline, body_has('"status":"SUCCESS"')),
        Op("submit/imagine", calls, lambda i: imagine_event, imagine,
           body_has('"code":1,'), after=stack.reset_instance_counters),
        Op(FETCH, calls, lambda i: fetch_events[i % 100], fetch,
           body_has('"status":"SUCCESS"')),
        Op(LIST_100, calls, lambda i: list_events[i % 10], listing,
           list_check(100)),
        Op(LIST_1000, calls_1000, lambda i: list_1000_event, listing,
           list_check(1000)),
    ]  # fmt: skip
    return ops, ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=500, help="timed calls per operation")
    parser.add_argument("--calls-1000", type=int, default=20, help="timed calls, 1,000 ids")
    args = parser.parse_args()
    # Set by Lambda's runtime: the code takes what it does only there (a job's SendMessage and
    # an upload's PUT without botocore, mjproxy.direct), here against the moto server over HTTP.
    os.environ["AWS_LAMBDA_FUNCTION_NAME"] = "bench-warm-latency"

    with common.Stack() as stack:
        ops, _ids = build_ops(stack, max(1, args.calls), max(1, args.calls_1000))
        TIMERS.install()
        ctx = common.lambda_context()
        print("warm-up ...", flush=True)
        for op in ops:
            for i in range(2 if op.calls < 100 else 10):
                run_call(op, i, ctx, timed=False)
        started = time.time()
        for block in range(BLOCKS):
            for op in ops:
                share = op.calls // BLOCKS + (1 if block < op.calls % BLOCKS else 0)
                for i in range(share):
                    run_call(op, block * 1000 + i, ctx, timed=True)
            print(f"  block {block + 1}/{BLOCKS} ({time.time() - started:.0f} s)", flush=True)
        stack.discard_queues()

    base = ops[0]
    base_p50 = common.percentile(base.wall, 50)
    base_p99 = common.percentile(base.wall, 99)
    base_cpu = common.percentile(base.cpu, 50)
    table = common.Table(
        "Warm latency per call, in-process against the moto server (ms)",
        ["Operation", "Calls", "Failed", "p50", "p99", "p50 vs baseline", "p99 vs baseline",
         "CPU p50", "CPU vs baseline", "in AWS calls", "in presign", "rest"],
    )  # fmt: skip
    data: dict[str, Any] = {}
    for op in ops:
        p50, p99 = common.percentile(op.wall, 50), common.percentile(op.wall, 99)
        cpu50 = common.percentile(op.cpu, 50)
        aws50, pre50 = common.median(op.aws), common.median(op.presign)
        rest = common.median(w - a - p for w, a, p in zip(op.wall, op.aws, op.presign, strict=True))
        table.add(op.label, len(op.wall), op.failed, common.ms(p50), common.ms(p99),
                  common.ratio(p50, base_p50), common.ratio(p99, base_p99), common.ms(cpu50),
                  common.ratio(cpu50, base_cpu), common.ms(aws50), common.ms(pre50),
                  common.ms(rest))  # fmt: skip
        data[op.label] = {
            "calls": len(op.wall),
            "failed": op.failed,
            "p50_ms": p50 * 1000,
            "p99_ms": p99 * 1000,
            "mean_ms": sum(op.wall) / len(op.wall) * 1000 if op.wall else None,
            "cpu_p50_ms": cpu50 * 1000,
            "cpu_mean_ms": sum(op.cpu) / len(op.cpu) * 1000 if op.cpu else None,
            "aws_p50_ms": aws50 * 1000,
            "presign_p50_ms": pre50 * 1000,
            "rest_p50_ms": rest * 1000,
        }
    by_label = {op.label: op for op in ops}
    big, hundred = data[LIST_1000], data[LIST_100]
    fetch_ratio = data[FETCH]["p50_ms"] / data[SAME_WORK]["p50_ms"]
    fetch_cpu_ratio = data[FETCH]["cpu_p50_ms"] / data[SAME_WORK]["cpu_p50_ms"]
    big_n = ANSWERED.get(1000, 1000)
    per_id = (big["cpu_p50_ms"] - hundred["cpu_p50_ms"]) / (big_n - 100)
    per_task = big["cpu_p50_ms"] / big_n
    table.notes += [
        f"Warm fetch vs the baseline doing the same work (lean handler: GetItem + the same 5 "
        f"presigned URLs with botocore): p50 {fetch_ratio:.2f}x, CPU {fetch_cpu_ratio:.2f}x; "
        f"target <= {WARM_TARGET}x: {'met' if fetch_ratio <= WARM_TARGET else 'NOT met'}.",
        f"Growth of list-by-condition: {per_id:.3f} ms of CPU per task answered (slope from 100 "
        f"to {big_n} tasks), linear: one BatchGetItem per 100 ids and 5 signatures per finished "
        "task.",
        f"{LIST_1000}: {len(by_label[LIST_1000].wall)} calls, each answering {big_n} tasks (the "
        f"answer stops at 2 MB; the other {1000 - big_n} ids are counted in X-Ids-Truncated for "
        f"the next poll); the other operations {len(ops[0].wall)} calls each.",
        "p50/p99 are wall time of `lambda_handler(event, context)` in this process, the AWS "
        "calls going over HTTP to the moto server (another process, started through "
        "bench/moto_fast.py). CPU = time.thread_time() of the calling thread: this code, "
        "botocore and JSON included, the stand-in excluded.",
        "in AWS calls / in presign / rest: medians of the time spent inside botocore's "
        "_make_api_call (request, moto's answer, response parsing), inside images.presign, "
        "and everything else (mjproxy, Powertools, JSON) per call.",
        f"The finished tasks are clones of a real one (a ~1.7 KB item, 5 presigned URLs when "
        f"read): list-by-condition costs about {per_task:.2f} ms of CPU per task, of which "
        f"presigning (mjproxy.sigv4, 5 per task) is about "
        f"{big['presign_p50_ms'] / big_n:.2f} ms; the BatchGetItem answers are read with "
        "json.loads (mjproxy.store.answers), not botocore's model walk.",
        "submit/imagine: every call creates a real task (reserve, PutItem, SendMessage); the "
        "instance's counters are emptied between calls, untimed, so no call hits the queue "
        "limit (code 23). The baseline (first row) reads one task with one GetItem and "
        "presigns its five image keys with botocore, what a lean handler would do.",
        f"Calls are interleaved in {BLOCKS} blocks after an untimed warm-up; "
        "POWERTOOLS_LOG_LEVEL=WARNING.",
    ]
    common.write_results(
        "2_warm_latency",
        "2. Warm latency in-process",
        [table],
        {
            "operations": data,
            "baseline_label": base.label,
            "fetch_ratio": fetch_ratio,
            "fetch_cpu_ratio": fetch_cpu_ratio,
            "list_cpu_ms_per_id": per_id,
            # Tasks in one answer to the 1,000 ids (2 MB cap; the rest in X-Ids-Truncated).
            "list_1000_answered": big_n,
        },
        common.run_script("warm_latency.py"),
    )


if __name__ == "__main__":
    main()

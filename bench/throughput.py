"""(4) Throughput of the local mode under a bounded load from a second process, on loopback.

`python -m mjproxy.local` runs as a subprocess (its own embedded moto, pollers and HTTP server,
exactly as `make run` starts it). This process is the load generator: N threads, one
keep-alive http.client connection each, as many requests as they can for a fixed time per level,
at concurrency 1, 4 and 16. Each level is bounded in time and in request count; only 127.0.0.1
is used. The in-run baseline is an unrouted path on the same server (HTTP parsing and routing
only, no handler, no AWS): the ceiling of the server and of this client on this machine.

    .venv/bin/python bench/throughput.py [--seconds 10] [--levels 1,4,16]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import common

MAX_REQUESTS_PER_LEVEL = 100_000
STORM_CLIENTS = 32
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass
class Target:
    label: str
    method: str
    path: str
    body: bytes | None
    ok: Callable[[int, bytes], bool]
    seconds: float


@dataclass
class Level:
    target: str
    concurrency: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    server_cpu_s: float = 0.0


class LocalMode:
    """`python -m mjproxy.local --port N` in a subprocess; stopped by its own pid."""

    def __init__(self, extra_env: dict[str, str] | None = None) -> None:
        self.port = common.free_port()
        self.log = tempfile.NamedTemporaryFile("w+", prefix="mjproxy-local-", suffix=".log")
        self.data_dir = tempfile.TemporaryDirectory(prefix="mj-bench-data-")
        # MOTO_PORT=0: the emulated AWS side is also served over HTTP, for seed() only; the local
        # mode's own functions reach it in-process. The data directory is on (as `make run`).
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "MOTO_PORT": "0",
               "MJ_DATA_DIR": self.data_dir.name, **(extra_env or {})}  # fmt: skip
        env.pop("AWS_ENDPOINT_URL", None)
        self.proc = subprocess.Popen(
            [common.PYTHON, "-m", "mjproxy.local", "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=env,
        )
        self.moto_url = ""
        deadline = time.time() + 90
        assert self.proc.stdout is not None
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("local mode exited: " + self._tail())
            m = re.search(r"other processes at (http://\S+)\)", line)
            if m:
                self.moto_url = m.group(1)
            if line.strip() == "ready":
                break
        else:
            raise RuntimeError("local mode did not print 'ready'")
        # Keep reading stdout so the child never blocks on a full pipe.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def _tail(self) -> str:
        self.log.seek(0)
        return self.log.read()[-2000:]

    def cpu_seconds(self) -> float:
        """user + system CPU of the local-mode process so far (Linux /proc)."""
        with open(f"/proc/{self.proc.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        self.data_dir.cleanup()


PLAIN_SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def do_GET(self):
        body = b'{"status":"SUCCESS"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


class PlainServer:
    """The ceiling: the standard library's ThreadingHTTPServer answering a fixed JSON body, in
    its own process, measured in the same run with the same client."""

    def __init__(self) -> None:
        self.port = common.free_port()
        self.proc = subprocess.Popen([common.PYTHON, "-c", PLAIN_SERVER, str(self.port)])
        common.wait_port(self.port)

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def request(conn: http.client.HTTPConnection, t: Target) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"} if t.body is not None else {}
    conn.request(t.method, t.path, body=t.body, headers=headers)
    resp = conn.getresponse()
    return resp.status, resp.read()


def connect(port: int, target: Target) -> http.client.HTTPConnection:
    """A keep-alive connection, accepted and warm (one untimed request)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    request(conn, target)
    return conn


def run_level(port: int, target: Target, concurrency: int, server: LocalMode) -> Level:
    """`concurrency` threads on their own connections, opened one after another before the
    clock starts (a burst of simultaneous connects is measured separately: storm())."""
    level = Level(target.label, concurrency)
    lock = threading.Lock()
    budget = [MAX_REQUESTS_PER_LEVEL]
    start_gate = threading.Barrier(concurrency + 1)
    deadline = [0.0]
    conns = [connect(port, target) for _ in range(concurrency)]

    def worker(conn: http.client.HTTPConnection) -> None:
        mine: list[float] = []
        failed, errors = 0, []
        start_gate.wait()
        while time.perf_counter() < deadline[0]:
            with lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            t0 = time.perf_counter()
            try:
                status, body = request(conn, target)
                good = target.ok(status, body)
            except Exception as exc:  # noqa: BLE001 - a failed request is counted, not fatal
                good, status, body = False, -1, repr(exc).encode()
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            if good:
                mine.append(time.perf_counter() - t0)
            else:
                failed += 1
                if len(errors) < 3:
                    errors.append(f"{status}: {body[:200]!r}")
        conn.close()
        with lock:
            level.latencies.extend(mine)
            level.failed += failed
            level.errors.extend(errors)

    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in conns]
    for th in threads:
        th.start()
    cpu0 = server.cpu_seconds()
    t0 = time.perf_counter()
    deadline[0] = t0 + target.seconds
    start_gate.wait()
    for th in threads:
        th.join()
    level.seconds = time.perf_counter() - t0
    level.server_cpu_s = server.cpu_seconds() - cpu0
    return level


def storm(port: int, target: Target, clients: int) -> tuple[int, list[str]]:
    """`clients` threads each open a new connection at the same moment and send 3 `target`
    requests: how many fail."""
    failures: list[str] = []
    lock = threading.Lock()
    gate = threading.Barrier(clients)

    def client() -> None:
        gate.wait()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for _ in range(3):
                status, body = request(conn, target)
                if not target.ok(status, body):
                    raise RuntimeError(f"{status}: {body[:100]!r}")
            conn.close()
        except Exception as exc:  # noqa: BLE001 - counted
            with lock:
                failures.append(repr(exc))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return len(failures), failures[:3]


def burst_target() -> Target:
    """list-by-condition for 100 ids that do not exist: a BatchGetItem, an empty answer."""
    body = json.dumps({"ids": [f"{n:016d}" for n in range(1, 101)]}).encode()
    return Target("burst", "POST", "/mj/task/list-by-condition", body,
                  lambda s, b: s == 200 and b == b"[]", 0)  # fmt: skip


def seed(server: LocalMode, n: int) -> list[str]:
    """One real imagine taken to SUCCESS by the local mode, cloned n times in its moto."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    body = json.dumps({"prompt": common.IMAGINE_PROMPT}).encode()
    conn.request("POST", "/mj/submit/imagine", body, {"Content-Type": "application/json"})
    task_id = json.loads(conn.getresponse().read())["result"]
    deadline = time.time() + 60
    while time.time() < deadline:
        conn.request("GET", f"/mj/task/{task_id}/fetch")
        task = json.loads(conn.getresponse().read())
        if task["status"] == "SUCCESS":
            break
        time.sleep(0.2)
    else:
        raise RuntimeError(f"seed task did not finish: {task}")
    conn.close()
    os.environ.update(common.aws_env(server.moto_url))
    from mjproxy.local.provision import physical_name

    return common.clone_tasks(physical_name("TasksTable"), task_id, n)


def targets(ids: list[str], seconds: float, ceiling_seconds: float) -> list[Target]:
    list_body = json.dumps({"ids": ids[:100]}).encode()
    return [
        Target("baseline: unrouted path (HTTP + routing only)", "GET", "/bench/none", None,
               lambda s, b: s in (403, 404), ceiling_seconds),
        Target("fetch (finished task)", "GET", f"/mj/task/{ids[0]}/fetch", None,
               lambda s, b: s == 200 and b'"status":"SUCCESS"' in b, seconds),
        Target("list-by-condition, 100 ids", "POST", "/mj/task/list-by-condition", list_body,
               lambda s, b: s == 200 and b.count(b'"action":') == 100, seconds),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per level, fetch and list")
    parser.add_argument("--ceiling-seconds", type=float, default=3.0, help="per level, baseline")
    parser.add_argument("--levels", default="1,4,16", help="concurrency levels")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]

    server = LocalMode({"MJ_LOCAL_STEP_SECONDS": "0", "POWERTOOLS_LOG_LEVEL": "WARNING"})
    results: list[Level] = []
    try:
        ids = seed(server, 100)
        all_targets = targets(ids, args.seconds, args.ceiling_seconds)
        plain = PlainServer()
        try:
            ceiling = Target("ceiling: plain http.server, fixed JSON (same run)", "GET", "/",
                             None, lambda s, b: s == 200, args.ceiling_seconds)  # fmt: skip
            for c in levels:
                lvl = run_level(plain.port, ceiling, c, plain)  # type: ignore[arg-type]
                results.append(lvl)
                print(f"  {ceiling.label} @ {c}: {len(lvl.latencies) / lvl.seconds:.1f} req/s",
                      flush=True)  # fmt: skip
        finally:
            plain.stop()
        for target in all_targets:
            for c in levels:
                lvl = run_level(server.port, target, c, server)
                results.append(lvl)
                print(f"  {target.label} @ {c}: {len(lvl.latencies) / lvl.seconds:.1f} req/s, "
                      f"{lvl.failed} failed", flush=True)  # fmt: skip
        storm_failed, storm_errors = storm(server.port, burst_target(), STORM_CLIENTS)
    finally:
        server.stop()
    report(results, args, storm_failed, storm_errors)


OLD_FETCH_RPS = 25.0  # the local mode's fetch at concurrency 4 when issue 14 was opened
TARGET_FACTOR = 4


def target_note(data: list[dict[str, Any]]) -> str:
    """Issue 14's target: fetch at concurrency 4 at least 4x the ~25 req/s of before."""
    fetch4 = next((d for d in data if d["operation"].startswith("fetch")
                   and d["concurrency"] == 4), None)  # fmt: skip
    if fetch4 is None:
        return "Issue 14's fetch target (concurrency 4) was not measured in this run (--levels)."
    ceiling = next((d["rps"] for d in data if d["operation"].startswith("ceiling")
                    and d["concurrency"] == 4), 0.0)  # fmt: skip
    target = OLD_FETCH_RPS * TARGET_FACTOR
    verdict = "met" if fetch4["rps"] >= target else "NOT met"
    return (
        f"Issue 14's target: fetch at concurrency 4 >= {target:.0f} req/s ({TARGET_FACTOR}x the "
        f"~{OLD_FETCH_RPS:.0f} req/s of before): {fetch4['rps']:.1f} req/s, {verdict} "
        f"({fetch4['rps'] / OLD_FETCH_RPS:.1f}x); "
        + (f"{fetch4['rps'] / ceiling:.3f}x the same run's plain http.server ceiling "
           f"({ceiling:.0f} req/s)." if ceiling else "no ceiling measured.")
    )  # fmt: skip


def report(results: list[Level], args: Any, storm_failed: int, storm_errors: list[str]) -> None:
    table = common.Table(
        "Local mode throughput on loopback (python -m mjproxy.local, client in another process)",
        ["Operation", "Concurrency", "Seconds", "Requests", "Failed", "Requests/s",
         "vs ceiling", "p50 ms", "p99 ms", "Server CPU (cores)"],
    )  # fmt: skip
    base_rps = {
        r.concurrency: len(r.latencies) / r.seconds for r in results if r.target.startswith("ceil")
    }
    data = []
    for r in results:
        rps = len(r.latencies) / r.seconds if r.seconds else 0.0
        p50, p99 = common.percentile(r.latencies, 50), common.percentile(r.latencies, 99)
        table.add(r.target, r.concurrency, f"{r.seconds:.1f}", len(r.latencies), r.failed,
                  f"{rps:.1f}", common.ratio(rps, base_rps.get(r.concurrency, 0)),
                  common.ms(p50), common.ms(p99), f"{r.server_cpu_s / r.seconds:.2f}")  # fmt: skip
        data.append({
            "operation": r.target, "concurrency": r.concurrency, "seconds": r.seconds,
            "requests": len(r.latencies), "failed": r.failed, "rps": rps,
            "p50_ms": p50 * 1000, "p99_ms": p99 * 1000,
            "server_cpu_cores": r.server_cpu_s / r.seconds, "errors": r.errors,
        })  # fmt: skip
    failed = sum(r.failed for r in results)
    table.add(f"burst: {STORM_CLIENTS} new connections at once, 3 list-by-condition each "
              "(unknown ids)", STORM_CLIENTS, "-", 3 * STORM_CLIENTS, f"{storm_failed} clients",
              "-", "-", "-", "-", "-")  # fmt: skip
    table.notes += [
        f"Failed requests in the timed levels: {failed} (a failure is a non-200 answer, a wrong "
        "body or a connection error; the baseline's expected answer is 403). Failed in the "
        f"connection burst (last row): {storm_failed} of {STORM_CLIENTS} clients.",
        f"Each level runs {args.seconds:g} s ({args.ceiling_seconds:g} s for the baseline) or "
        f"{MAX_REQUESTS_PER_LEVEL:,} requests, whichever comes first (requests in flight at the "
        "deadline still finish, so a slow level runs over); one keep-alive connection per "
        "client thread, opened and warmed with one request before the clock starts; all on "
        "127.0.0.1. The local mode runs with MJ_LOCAL_STEP_SECONDS=0 (the seed task finishes "
        "at once) and POWERTOOLS_LOG_LEVEL=WARNING.",
        f"Connection burst, measured apart: {STORM_CLIENTS} clients open a connection at the "
        "same moment and each send 3 list-by-condition requests (100 ids that do not exist: "
        f"one BatchGetItem, answer []): {storm_failed} of {STORM_CLIENTS} failed"
        + (f" ({storm_errors[0]})" if storm_errors else "")
        + " (the server's listen backlog is 128, not socketserver's 5, which reset such bursts; "
        "the request handler sets TCP_NODELAY, without which every keep-alive answer waited "
        "40 ms for the client's delayed ACK).",
        target_note(data),
        "The local mode is one Python process: HTTP server threads, the handlers, the embedded "
        "moto and 12 SQS poller threads share one GIL, so it tops out near one core (Server CPU "
        "column) whatever the concurrency; more concurrency adds queueing (p99), not "
        "throughput. The load generator and the ceiling's server share the machine's other "
        "core.",
        "What a fetch costs in the local mode: the handler as on AWS (one GetItem, five image "
        "URLs presigned by mjproxy.sigv4, the wire JSON), plus moto answering the GetItem "
        "in-process. The DynamoDB item calls reach moto from a botocore before-call hook "
        "(mjproxy/local/direct.py: no HTTP request built or signed, json.loads for answers "
        "without binary), and moto's DynamoDB serialization, item sizing and result conversion "
        "are sped up (mjproxy/local/moto_speedups.py, checked at every start). "
        "list-by-condition does the same for 100 tasks: one BatchGetItem of 100 items "
        "(~2.8 KB each), 500 presigned URLs, 100 task JSONs; most of its time is now the "
        "library's own decoding and encoding of the items plus moto's serializer.",
    ]
    common.write_results(
        "4_throughput",
        "4. Local mode throughput under bounded load",
        [table],
        {
            "levels": data,
            "failed_total": failed,
            "burst": {"clients": STORM_CLIENTS, "failed": storm_failed, "errors": storm_errors},
        },
        common.run_script("throughput.py"),
    )
    if failed:
        print(f"WARNING: {failed} requests failed", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Shared helpers for the benchmarks in bench/: tables (printed and written as Markdown),
statistics, a moto server in a subprocess with the template's resources, the real handlers
loaded from template.yaml, SQS delivery like Lambda's event source mapping, and seeding.

Every script writes bench/results/<name>.md (what a person reads) and <name>.json (what
cost_model.py reads). Nothing here ever fails on timing: a figure is a figure.
"""

from __future__ import annotations

import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
LAYER = ROOT / "layers" / "common" / "python"
TEMPLATE = ROOT / "template.yaml"
BASELINE_APP = BENCH / "baseline" / "app.py"
LEAN_APP = BENCH / "baseline" / "lean" / "app.py"
PYTHON = sys.executable
REGION = "us-east-1"

# Lambda allocates CPU in proportion to memory: 1,769 MB is one full vCPU (AWS Lambda docs).
LAMBDA_MB_PER_VCPU = 1769

# A tiny valid PNG (1x1, red) as a data URL, for describe / blend requests.
PNG_1X1 = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ"
    "/pLvAAAAAElFTkSuQmCC"
)


# ---- tables ------------------------------------------------------------------------------
@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: Any) -> None:
        self.rows.append(list(cells))

    def _cells(self) -> list[list[str]]:
        return [[str(c) for c in row] for row in self.rows]

    def text(self) -> str:
        cells = self._cells()
        widths = [len(h) for h in self.headers]
        for row in cells:
            for i, c in enumerate(row):
                widths[i] = max(widths[i], len(c))

        def line(values: list[str]) -> str:
            return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=False)).rstrip()

        out = [self.title, line(self.headers), line(["-" * w for w in widths])]
        out += [line(r) for r in cells]
        out += [f"  * {n}" for n in self.notes]
        return "\n".join(out)

    def markdown(self) -> str:
        def esc(v: str) -> str:
            return v.replace("|", "\\|")

        out = [f"### {self.title}", ""]
        out.append("| " + " | ".join(esc(h) for h in self.headers) + " |")
        out.append("|" + "|".join("---" for _ in self.headers) + "|")
        out += ["| " + " | ".join(esc(c) for c in row) + " |" for row in self._cells()]
        if self.notes:
            out.append("")
            out += [f"- {n}" for n in self.notes]
        return "\n".join(out) + "\n"


def _load_average() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


LOAD_AT_START = _load_average()  # when this script started (common is imported first)


def commit() -> str:
    """The code measured: HEAD's short hash, `+changes` when the work tree (bench/results aside)
    differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            # bench/results is what a run writes: the earlier scripts of one `make bench` run
            # must not mark the code the later ones measure as changed.
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit"
    return f"commit {head}" + (" +uncommitted changes" if dirty else "")  # fmt: skip


# The commit measured is the one checked out when the script started (a long run may end after
# another commit was made).
COMMIT_AT_START = commit()


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{COMMIT_AT_START}, load average {LOAD_AT_START:.2f} at the start and {_load_average():.2f} "
        "at the end of the run (2 cores shared with other work: compare ratios within a table)"
    )


def write_results(
    name: str, heading: str, tables: list[Table], data: dict[str, Any], command: str
) -> Path:
    """Print the tables and write bench/results/<name>.md and <name>.json."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    for t in tables:
        print()
        print(t.text())
    md = [
        f"## {heading}",
        "",
        f"Generated {stamp} by `{command}` on {machine()}.",
        "",
    ]
    md += [t.markdown() for t in tables]
    path = RESULTS / f"{name}.md"
    path.write_text("\n".join(md), encoding="utf-8")
    (RESULTS / f"{name}.json").write_text(
        json.dumps({"generated": stamp, "machine": machine(), **data}, indent=2, default=str)
        + "\n",
        encoding="utf-8",
    )
    print(f"\nwrote {path.relative_to(ROOT)} and {name}.json")
    return path


def read_result(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


# ---- statistics --------------------------------------------------------------------------
def percentile(values: Iterable[float], p: float) -> float:
    """Linear-interpolated percentile (p in 0..100)."""
    xs = sorted(values)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def median(values: Iterable[float]) -> float:
    xs = list(values)
    return statistics.median(xs) if xs else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "n/a"


# ---- moto server -------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def local_mode(env: dict[str, str] | None = None) -> Iterator[str]:
    """`python -m mjproxy.local` on a free port, as `make run` starts it: yields its base URL once
    it printed "ready", stops it afterwards."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mjproxy.local", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == "ready":
                break
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout:.0f} s")


class MotoServer:
    """moto's server on 127.0.0.1 in its own process (the stand-in for AWS), started through
    bench/moto_fast.py (moto with a faster DynamoDB response serializer, see there)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoServer:
        self.proc = subprocess.Popen(
            [PYTHON, str(BENCH / "moto_fast.py"), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)
        # The first request loads moto's backends; do it before anything is timed.
        urllib.request.urlopen(self.url + "/moto-api/", timeout=30).read()
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def aws_env(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_DISABLED": "1",
    }


# ---- the stack: moto + template resources + real handlers ---------------------------------
class Stack:
    """A moto server with template.yaml's tables, queues and buckets, this process's
    environment set as every function's (as on Lambda), and the real handlers on demand."""

    def __init__(self, extra_env: dict[str, str] | None = None) -> None:
        self.moto = MotoServer()
        # Zero delays between the local provider's steps: the worker runs back to back.
        self.extra_env = {"MJ_LOCAL_STEP_SECONDS": "0", **(extra_env or {})}
        self.env: dict[str, str] = {}
        self.template: Any = None
        self._handlers: dict[str, tuple[Any, Callable]] = {}

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> Stack:
        self.moto.start()
        os.environ.update(aws_env(self.moto.url))
        os.environ.update(self.extra_env)
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        from mjproxy.local.provision import function_environment, provision
        from mjproxy.local.template import Template

        self.template = Template(TEMPLATE)
        provision(self.template, visibility_timeout=0, region=REGION)
        fn_env = function_environment(self.template, dict(os.environ))
        os.environ.update(fn_env)
        os.environ.update(self.extra_env)
        self.env = {**aws_env(self.moto.url), **fn_env, **self.extra_env}
        self.reset_caches()
        return self

    def stop(self) -> None:
        self.moto.stop()

    @staticmethod
    def reset_caches() -> None:
        """Forget mjproxy's per-process caches (settings, clients, secrets, providers): the
        modules holding them register with config.reset() when imported."""
        import importlib

        from mjproxy import config

        for name in ("mjproxy.aws", "mjproxy.banned_words", "mjproxy.api.auth",
                     "mjproxy.providers"):  # fmt: skip
            importlib.import_module(name)
        config.reset()

    # ---- functions ----------------------------------------------------------------------
    def functions(self) -> list[Any]:
        return self.template.functions()

    def function(self, name: str) -> Any:
        return next(f for f in self.functions() if f.name == name)

    def handler(self, name: str) -> tuple[Any, Callable]:
        if name not in self._handlers:
            from mjproxy.local.runner import load_handler

            fn = self.function(name)
            self._handlers[name] = (fn, load_handler(fn))
        return self._handlers[name]

    def route_event(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """(function name, API Gateway proxy event) for a request, routed as API Gateway does."""
        return route_event(self.functions(), method, path, body, headers)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Invoke the real handler for `method path` in-process; (status, parsed JSON body)."""
        from mjproxy.local.runner import invoke

        name, event = self.route_event(method, path, body)
        fn, handler = self.handler(name)
        out = invoke(fn, handler, event)
        text = out.get("body") or ""
        return out["statusCode"], (json.loads(text) if text else None)

    # ---- SQS, as Lambda's event source mapping delivers it ------------------------------
    def queue_bindings(self) -> list[tuple[str, str, Any]]:
        out = []
        for fn in self.functions():
            for logical, _batch in fn.queues:
                out.append((self.template.physical[logical], self.template.arns[logical], fn))
        return out

    def deliver_once(self, on_invoke: Callable[[Any, Callable, dict], Any] | None = None) -> int:
        """One receive per bound queue, each batch handed to its function; messages not
        reported in batchItemFailures are deleted. Uses its own boto3 session, so these calls
        (the event source mapping's, not ours) never reach the counters of api_calls.py."""
        from mjproxy.local.runner import invoke

        sqs = side_client("sqs")
        seen = 0
        for url, arn, fn in self.queue_bindings():
            got = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            if not got:
                continue
            seen += len(got)
            event = {"Records": [sqs_record(m, arn) for m in got]}
            _, handler = self.handler(fn.name)
            result = (on_invoke or (lambda f, h, e: invoke(f, h, e)))(fn, handler, event) or {}
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            for m in got:
                if m["MessageId"] not in failed:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return seen

    def drain(self, on_invoke: Callable | None = None, rounds: int = 200) -> int:
        total = 0
        for _ in range(rounds):
            n = self.deliver_once(on_invoke)
            total += n
            if n == 0:
                return total
        raise RuntimeError(f"queues still busy after {rounds} rounds")

    def discard_queues(self) -> int:
        """Receive and delete whatever waits in every queue, invoking nothing (PurgeQueue is
        limited to once a minute per queue)."""
        sqs = side_client("sqs")
        dropped = 0
        for logical in self.template.of_type("AWS::SQS::Queue"):
            url = self.template.physical[logical]
            while True:
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages")
                if not got:
                    break
                dropped += len(got)
                sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(got)
                    ],
                )
        return dropped

    # ---- data ---------------------------------------------------------------------------
    @property
    def tasks_table(self) -> str:
        return self.template.physical["TasksTable"]

    @property
    def instances_table(self) -> str:
        return self.template.physical["InstancesTable"]

    def reset_instance_counters(self) -> None:
        """Empty the instance's active/running sets, so repeated submits never hit code 23
        (the queue limit is coreSize + queueSize = 13 by default) and the item stays small."""
        ddb = side_client("dynamodb")
        for inst in instance_ids():
            ddb.update_item(
                TableName=self.instances_table,
                Key={"id": {"S": inst}},
                UpdateExpression="REMOVE active, running",
            )

    def finished_task(self) -> str:
        """A real IMAGINE task taken to SUCCESS through the worker (local provider)."""
        status, body = self.request("POST", "/mj/submit/imagine", {"prompt": IMAGINE_PROMPT})
        assert status == 200 and body["code"] in (1, 22), body
        self.drain()
        status, task = self.request("GET", f"/mj/task/{body['result']}/fetch")
        assert task and task["status"] == "SUCCESS", task
        self.reset_instance_counters()
        return body["result"]

    def seed_tasks(self, n: int, template_id: str | None = None) -> list[str]:
        """`n` finished tasks cloned from a real one (same size, same image keys shape)."""
        return clone_tasks(self.tasks_table, template_id or self.finished_task(), n)


IMAGINE_PROMPT = "a red fox in snow, watercolor, soft light --ar 3:2"


def instance_ids() -> list[str]:
    from mjproxy.config import settings

    return [i.id for i in settings().instances]


def side_client(service: str) -> Any:
    """A boto3 client from a private session: its calls are the benchmark's own, not the
    system's, and no hook registered on the default session sees them."""
    import boto3

    return boto3.session.Session(region_name=REGION).client(service)


def clone_tasks(table: str, source_id: str, n: int) -> list[str]:
    """Copy a task item `n` times under fresh ids (its S3 keys renamed too), newest last."""
    ddb = side_client("dynamodb")
    item = ddb.get_item(TableName=table, Key={"id": {"S": source_id}}, ConsistentRead=True)["Item"]
    raw = json.dumps(item)
    base = int(time.time() * 1000) * 1000
    ids = [str(base + i) for i in range(n)]
    for start in range(0, n, 25):
        batch = []
        for new_id in ids[start : start + 25]:
            clone = json.loads(raw.replace(source_id, new_id))
            clone["submitTime"] = {"N": new_id[:13]}
            batch.append({"PutRequest": {"Item": clone}})
        request = {table: batch}
        while request:
            request = ddb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
    return ids


def sqs_record(message: dict[str, Any], arn: str) -> dict[str, Any]:
    from mjproxy.local.runner import sqs_event

    return sqs_event([message], arn)["Records"][0]


def route_event(
    functions: list[Any],
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[str, dict[str, Any]]:
    from mjproxy.local.runner import api_event
    from mjproxy.local.template import route_for

    raw = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
    data = raw.encode() if isinstance(raw, str) else (raw or b"")
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    found = route_for(functions, method, path)
    if found is None:
        raise LookupError(f"no route for {method} {path}")
    route, fn, params = found
    return fn.name, api_event(route, method, path, hdrs, data, params)


def baseline_event(task_id: str) -> dict[str, Any]:
    """The API Gateway proxy event the baseline handler answers (GET one task)."""
    from mjproxy.local.runner import api_event
    from mjproxy.local.template import Route

    route = Route("GET", "/mj/task/{id}/fetch")
    path = f"/mj/task/{task_id}/fetch"
    return api_event(route, "GET", path, {"Accept": "application/json"}, b"", {"id": task_id})


def load_baseline() -> Callable:
    return _load(BASELINE_APP, "bench_baseline_app").lambda_handler


def load_lean() -> Any:
    """bench/baseline/lean/app.py as a module (its `handle(event, context, sign)`)."""
    return _load(LEAN_APP, "bench_lean_app")


def _load(path: Path, name: str) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lambda_context(name: str = "bench") -> Any:
    from mjproxy.local.runner import FakeContext

    return FakeContext(
        function_name=name,
        aws_request_id="bench",
        invoked_function_arn=f"arn:aws:lambda:{REGION}:123456789012:function:{name}",
        deadline_ms=int(time.time() * 1000) + 900_000,
    )


def memory_mb(template: Any, function_name: str, provider: str | None = None) -> int:
    """MemorySize of a function: its own, else Globals.Function's, else Lambda's 128; an !If
    on the Provider parameter evaluated for `provider` (the template default when None)."""
    res = template.resources[function_name].get("Properties", {})
    glob = template.doc.get("Globals", {}).get("Function", {})
    value = res.get("MemorySize") or glob.get("MemorySize") or 128
    return template.number(value, {"Provider": provider} if provider else None)


def api_functions(template: Any) -> list[Any]:
    return [f for f in template.functions() if f.routes]


def run_script(name: str) -> str:
    """The command line shown in the results for a script of bench/."""
    return f".venv/bin/python bench/{name}"


def settings_value(name: str) -> Any:
    """One of mjproxy's settings as the functions see them (after Stack.start())."""
    from mjproxy.config import settings

    return getattr(settings(), name)

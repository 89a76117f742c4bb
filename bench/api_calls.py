"""(3) AWS API calls per operation, counted exactly with botocore event hooks.

Hooks on the default boto3 session (which every client the system creates comes from) see each
call: `before-call` counts it per service and operation, `after-call` works out what AWS bills
for it: DynamoDB read/write request units from the items' sizes (table and index writes), SQS
requests in 64 KB chunks, S3 requests and stored bytes. The benchmark's own calls (delivering
SQS messages as Lambda's event source mapping does, reading items to size them) go through a
private session the hooks never see. Every operation runs twice and both runs must count the
same: the counts are deterministic.

    .venv/bin/python bench/api_calls.py
"""

from __future__ import annotations

import copy
import heapq
import http.server
import json
import math
import os
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import common

KB = 1024
SQS_CHUNK = 64 * KB


# ---- DynamoDB item size, as AWS documents it ---------------------------------------------
def _number_size(text: str) -> int:
    digits = Decimal(text).normalize().as_tuple().digits
    return math.ceil(len(digits) / 2) + 1


def av_size(av: dict[str, Any]) -> int:
    (kind, value), = av.items()  # fmt: skip
    if kind == "S":
        return len(value.encode())
    if kind == "N":
        return _number_size(value)
    if kind == "B":
        return len(value)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(v.encode()) for v in value)
    if kind == "NS":
        return sum(_number_size(v) for v in value)
    if kind == "BS":
        return sum(len(v) for v in value)
    if kind == "L":
        return 3 + sum(1 + av_size(v) for v in value)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + av_size(v) for k, v in value.items())
    raise ValueError(kind)


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(k.encode()) + av_size(v) for k, v in (item or {}).items())


# ---- the meter ------------------------------------------------------------------------------
def _minus(a: Counter, b: Counter) -> Counter:
    """a - b for float counters, keeping only what changed (Counter's own `-` drops negatives
    and works on ints alike, but float rounding would leave 1e-16 remainders)."""
    out: Counter = Counter()
    for k, v in a.items():
        d = round(v - b.get(k, 0.0), 6)
        if d:
            out[k] = d
    return out


@dataclass
class Usage:
    calls: Counter = field(default_factory=Counter)  # "dynamodb.GetItem" -> n
    rru: float = 0.0
    wru: float = 0.0  # base tables
    wru_gsi: float = 0.0  # global secondary indexes, at the template's projection
    wru_gsi_all: float = 0.0  # the same writes had the indexes projected ALL (issue 17 lever)
    # table -> units, base-table reads and writes (which item a run pays for: a task's or an
    # account's, bench/traffic.py splits the midjourney poller's runs by it)
    rru_by_table: Counter = field(default_factory=Counter)
    wru_by_table: Counter = field(default_factory=Counter)
    sqs_requests: int = 0  # billed 64 KB chunks of SendMessage
    s3_put: int = 0
    s3_get: int = 0
    s3_bytes: dict[str, int] = field(default_factory=dict)  # key -> size of its last PUT
    invocations: Counter = field(default_factory=Counter)  # function -> n
    esm_messages: int = 0  # messages handed to functions by the event source mapping
    # function -> list of (wall s, cpu s, provider s) per invocation
    durations: dict[str, list[tuple[float, float, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def minus(self, before: Usage) -> Usage:
        out = Usage()
        out.calls = self.calls - before.calls
        out.rru, out.wru = self.rru - before.rru, self.wru - before.wru
        out.wru_gsi = self.wru_gsi - before.wru_gsi
        out.wru_gsi_all = self.wru_gsi_all - before.wru_gsi_all
        out.rru_by_table = _minus(self.rru_by_table, before.rru_by_table)
        out.wru_by_table = _minus(self.wru_by_table, before.wru_by_table)
        out.sqs_requests = self.sqs_requests - before.sqs_requests
        out.s3_put, out.s3_get = self.s3_put - before.s3_put, self.s3_get - before.s3_get
        out.s3_bytes = {k: v for k, v in self.s3_bytes.items() if before.s3_bytes.get(k) != v}
        out.invocations = self.invocations - before.invocations
        out.esm_messages = self.esm_messages - before.esm_messages
        for fn, runs in self.durations.items():
            extra = runs[len(before.durations.get(fn, [])) :]
            if extra:
                out.durations[fn] = extra
        return out

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def signature(self) -> tuple:
        """What must be identical between two runs of one operation."""
        return (
            tuple(sorted(self.calls.items())),
            round(self.rru, 3),
            round(self.wru, 3),
            round(self.wru_gsi, 3),
            tuple(sorted((k, round(v, 3)) for k, v in self.rru_by_table.items())),
            tuple(sorted((k, round(v, 3)) for k, v in self.wru_by_table.items())),
            self.sqs_requests,
            self.s3_put,
            self.s3_get,
            tuple(sorted(self.invocations.items())),
            self.esm_messages,
        )


class Meter:
    """botocore event hooks on boto3's default session (every client mjproxy creates)."""

    def __init__(self, stack: common.Stack) -> None:
        self.stack = stack
        self.usage = Usage()
        self.errors: list[str] = []
        self.side = common.side_client("dynamodb")
        self.keys = {}  # table -> key attribute names
        self.indexes = {}  # table -> [(index name, key attribute names, projection type)]
        for logical, res in stack.template.of_type("AWS::DynamoDB::Table").items():
            props = res["Properties"]
            table = stack.template.physical[logical]
            self.keys[table] = [k["AttributeName"] for k in props["KeySchema"]]
            self.indexes[table] = [
                (
                    g["IndexName"],
                    [k["AttributeName"] for k in g["KeySchema"]],
                    stack.template.resolve(g["Projection"]["ProjectionType"]),
                )
                for g in props.get("GlobalSecondaryIndexes", [])
            ]

    def install(self) -> None:
        import boto3

        boto3.setup_default_session(region_name=common.REGION)
        events = boto3.DEFAULT_SESSION.events
        events.register("before-parameter-build", self._guarded(self._params))
        events.register("before-call", self._guarded(self._before))
        events.register("after-call", self._guarded(self._after))
        self.stack.reset_caches()  # clients are created afresh, with the hooks

    def snapshot(self) -> Usage:
        return copy.deepcopy(self.usage)

    def _guarded(self, hook: Callable) -> Callable:
        """A hook must never break the system under test: errors are kept and reported."""

        def run(**kwargs: Any) -> None:
            try:
                hook(**kwargs)
            except Exception as exc:  # noqa: BLE001 - reported at the end
                self.errors.append(f"{hook.__name__}: {type(exc).__name__}: {exc}")

        return run

    # ---- hooks --------------------------------------------------------------------------
    def _params(self, params: dict, model: Any, context: dict, **_: Any) -> None:
        context["bench_params"] = copy.deepcopy(params)

    def _before(self, model: Any, context: dict, **_: Any) -> None:
        service = model.service_model.service_name
        self.usage.calls[f"{service}.{model.name}"] += 1
        if service == "dynamodb" and model.name in ("PutItem", "UpdateItem", "DeleteItem"):
            params = context["bench_params"]
            context["bench_old"] = self._item(params["TableName"], self._key(params))

    def _after(self, parsed: dict, model: Any, context: dict, **_: Any) -> None:
        service, op = model.service_model.service_name, model.name
        params = context.get("bench_params", {})
        failed = "Error" in parsed and parsed["Error"].get("Code")
        if service == "dynamodb":
            self._dynamodb(op, params, parsed, context, bool(failed))
        elif service == "sqs" and op == "SendMessage":
            size = len(params["MessageBody"].encode()) + len(json.dumps(
                params.get("MessageAttributes") or {}))  # fmt: skip
            self.usage.sqs_requests += max(1, math.ceil(size / SQS_CHUNK))
        elif service == "sqs" and op == "SendMessageBatch":
            for entry in params["Entries"]:
                self.usage.sqs_requests += max(1, math.ceil(len(entry["MessageBody"]) / SQS_CHUNK))
        elif service == "s3" and op == "PutObject":
            self.usage.s3_put += 1
            self.usage.s3_bytes[params["Key"]] = body_size(params.get("Body"))
        elif service == "s3" and op in ("GetObject", "HeadObject"):
            self.usage.s3_get += 1

    # ---- DynamoDB capacity --------------------------------------------------------------
    def _key(self, params: dict) -> dict:
        table = params["TableName"]
        source = params.get("Key") or params.get("Item") or {}
        return {k: source[k] for k in self.keys[table]}

    def _item(self, table: str, key: dict) -> dict | None:
        return self.side.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")

    def _dynamodb(self, op: str, params: dict, parsed: dict, context: dict, failed: bool) -> None:
        u = self.usage
        if op == "GetItem":
            factor = 1.0 if params.get("ConsistentRead") else 0.5
            found = parsed.get("Item")
            if found and (params.get("ProjectionExpression") or params.get("AttributesToGet")):
                # Capacity counts the whole item even when fewer attributes come back.
                found = self._item(params["TableName"], params["Key"])
            units = factor * max(1, math.ceil(item_size(found) / (4 * KB)))
            u.rru += units
            u.rru_by_table[params["TableName"]] += units
        elif op == "BatchGetItem":
            for table, req in params["RequestItems"].items():
                factor = 1.0 if req.get("ConsistentRead") else 0.5
                found = parsed.get("Responses", {}).get(table, [])
                if req.get("ProjectionExpression") or req.get("AttributesToGet"):
                    # Capacity counts whole items even when fewer attributes come back.
                    found = [self._item(table, k) for k in req["Keys"]]
                    found = [i for i in found if i]
                sizes = [item_size(i) for i in found]
                sizes += [0] * (len(req["Keys"]) - len(found))  # a missing key costs 1 unit
                units = factor * sum(max(1, math.ceil(n / (4 * KB))) for n in sizes)
                u.rru += units
                u.rru_by_table[table] += units
        elif op in ("Query", "Scan"):
            factor = 1.0 if params.get("ConsistentRead") else 0.5
            total = sum(item_size(i) for i in parsed.get("Items", []))
            units = factor * max(1, math.ceil(total / (4 * KB)))
            u.rru += units
            u.rru_by_table[params["TableName"]] += units
        elif op in ("PutItem", "UpdateItem", "DeleteItem"):
            table = params["TableName"]
            old = context.get("bench_old")
            if failed:  # a failed condition still costs the write
                units = max(1, math.ceil(item_size(old) / KB))
                u.wru += units
                u.wru_by_table[table] += units
                return
            new = None if op == "DeleteItem" else self._item(table, self._key(params))
            units = max(1, math.ceil(max(item_size(old), item_size(new)) / KB))
            u.wru += units
            u.wru_by_table[table] += units
            for _name, attrs, projection in self.indexes.get(table, []):
                u.wru_gsi += index_writes(old, new, attrs, projection)
                u.wru_gsi_all += index_writes(old, new, attrs, "ALL")


def body_size(body: Any) -> int:
    """Bytes of an S3 Body: bytes, or the file-like object botocore wraps them in."""
    if body is None:
        return 0
    if isinstance(body, (bytes, bytearray, str)):
        return len(body)
    if hasattr(body, "getbuffer"):
        return len(body.getbuffer())
    position = body.tell()
    body.seek(0, os.SEEK_END)
    size = body.tell()
    body.seek(position)
    return size


def index_writes(
    old: dict | None, new: dict | None, attrs: list[str], projection: str = "ALL"
) -> int:
    """Write units an index takes for one base-table write (DynamoDB's rules: an update that
    changes neither the index keys nor a projected attribute writes nothing to the index; a
    KEYS_ONLY index entry is the table and index keys, under 1 KB)."""
    keys_only = projection == "KEYS_ONLY"

    def in_index(item: dict | None) -> bool:
        return bool(item) and all(a in item for a in attrs)

    def units(item: dict | None) -> int:
        return 1 if keys_only else max(1, math.ceil(item_size(item) / KB))

    was, now = in_index(old), in_index(new)
    if was and now:
        if any(old[a] != new[a] for a in attrs):
            return units(old) + units(new)  # key changed: delete + put
        return units(new) if old != new and not keys_only else 0
    if now:
        return units(new)
    if was:
        return units(old)
    return 0


# ---- operations -------------------------------------------------------------------------------
class Bench:
    def __init__(self, stack: common.Stack, meter: Meter) -> None:
        self.stack = stack
        self.meter = meter
        self.provider_seconds = 0.0
        self._patch_invocations()

    def _patch_invocations(self) -> None:
        """Count every Lambda invocation and time it; time the local provider separately
        (the image generator, which the cost model leaves out)."""
        from mjproxy.local import runner
        from mjproxy.providers.bedrock import BedrockProvider
        from mjproxy.providers.local import LocalProvider

        bench = self
        original_invoke = runner.invoke

        def invoke(fn: Any, handler: Callable, event: dict, timeout_s: int = 900) -> Any:
            provider_before = bench.provider_seconds
            t, c = time.perf_counter(), time.thread_time()
            try:
                return original_invoke(fn, handler, event, timeout_s)
            finally:
                usage = bench.meter.usage
                usage.invocations[fn.name] += 1
                usage.esm_messages += len(event.get("Records", []))
                usage.durations[fn.name].append((time.perf_counter() - t,
                                                 time.thread_time() - c,
                                                 bench.provider_seconds - provider_before))  # fmt: skip

        runner.invoke = invoke

        for cls in (LocalProvider, BedrockProvider):
            for name in ("start", "poll"):
                original = getattr(cls, name)

                def timed(self: Any, *args: Any, _original: Callable = original) -> Any:
                    t = time.perf_counter()
                    try:
                        return _original(self, *args)
                    finally:
                        bench.provider_seconds += time.perf_counter() - t

                setattr(cls, name, timed)

    def measure(self, action: Callable[[], Any]) -> Usage:
        before = self.meter.snapshot()
        action()
        return self.meter.snapshot().minus(before)

    def post(self, path: str, body: Any, expect_code: tuple = (1, 22)) -> dict:
        status, out = self.stack.request("POST", path, body)
        assert status == 200, (path, status, out)
        if isinstance(out, dict) and "code" in out:
            assert out["code"] in expect_code, (path, out)
        return out

    def get(self, path: str) -> Any:
        status, out = self.stack.request("GET", path)
        assert status == 200, (path, status, out)
        return out

    def finish(self, task_id: str) -> None:
        """Deliver every job until the queues are empty; the task must be SUCCESS (read
        through the private session: a client's fetch is not part of the lifecycle)."""
        self.stack.drain()
        item = self.meter.side.get_item(
            TableName=self.stack.tasks_table, Key={"id": {"S": task_id}}, ConsistentRead=True
        )["Item"]
        assert item["status"]["S"] == "SUCCESS", item.get("failReason")


LIFECYCLE_BEDROCK = "imagine lifecycle, bedrock provider (InvokeModel faked)"


class FakeBedrock:
    """bedrock-runtime's InvokeModel for Stability models: one small PNG per call."""

    def __init__(self) -> None:
        import base64
        import io

        from PIL import Image

        buf = io.BytesIO()
        Image.new("RGB", (64, 64), (40, 90, 160)).save(buf, "PNG")
        self.image = base64.b64encode(buf.getvalue()).decode()

    def invoke_model(self, **kw: Any) -> dict[str, Any]:
        import io

        body = {"images": [self.image], "seeds": [1], "finish_reasons": [None]}
        return {"body": io.BytesIO(json.dumps(body).encode())}


LIFECYCLE_MIDJOURNEY = "imagine lifecycle, midjourney provider (Discord simulator)"
SIM_BASE = "http://mjsim.test"
# Midjourney's pace in the simulator: its first message 1 s after the interaction, then the six
# progress edits (15% ... 93%) and the grid this many simulated seconds apart, the pace
# bench/traffic.py prices for midjourney (~6 previews ~7 s apart).
MJ_SIM_STEP_SECONDS = 7.0
MJ_SIM_MAX_RUNS = 200  # poller runs one lifecycle may take before it counts as stuck


class PollerClock:
    """The Discord poller's SQS queue on the simulator's clock (as in
    tests/integration/midjourney/test_costs.py). Its SendMessage calls go through botocore like
    every other call, so the meter's hooks count them; a `before-call` handler registered after
    the meter's answers them here instead of sending them to moto: a message is due
    DelaySeconds later on the simulator's clock, and `receive` moves the clock to the earliest
    one. (moto waits DelaySeconds in real time: minutes per lifecycle, and counts that would
    follow the machine's speed.)"""

    def __init__(self, sim: Any, queue_url: str) -> None:
        self.sim = sim
        self.url = queue_url
        self.pending: list[tuple[float, int, str]] = []
        self.sent = 0
        self.active = False

    def before_call(self, model: Any, context: dict, **_: Any) -> tuple[Any, dict] | None:
        if not self.active or model.service_model.service_name != "sqs":
            return None
        params = context.get("bench_params") or {}
        if model.name != "SendMessage" or params.get("QueueUrl") != self.url:
            return None
        import hashlib
        from types import SimpleNamespace

        self.sent += 1
        body = params["MessageBody"]
        due = self.sim.clock.now() + int(params.get("DelaySeconds") or 0)
        heapq.heappush(self.pending, (due, self.sent, body))
        digest = hashlib.md5(body.encode()).hexdigest()  # noqa: S324 - SQS's own checksum
        return SimpleNamespace(status_code=200, headers={}), {
            "MessageId": f"poller-{self.sent}", "MD5OfMessageBody": digest}  # fmt: skip

    def receive(self) -> dict[str, Any] | None:
        """The earliest message, as the event source mapping receives it once it is due."""
        if not self.pending:
            return None
        due, seq, body = heapq.heappop(self.pending)
        if due > self.sim.clock.now():
            self.sim.advance(due - self.sim.clock.now())
        sent = str(int(due * 1000))
        return {"MessageId": f"poller-{seq}", "ReceiptHandle": f"poller-{seq}", "Body": body,
                "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": sent}}  # fmt: skip


class MidjourneyAccount:
    """One simulated Discord account (coreSize 3) as the only instance, the midjourney provider
    talking to the simulator in-process (mjsim.transport_for: no sockets), the system on the
    simulator's clock (time.time patched, as tests/integration/midjourney/conftest.py does) and
    the poller's queue on it (PollerClock). The simulator answers in its default ("current")
    message forms; time moves only by the poller's delays, so a lifecycle is the same sequence
    of calls on every run and every machine. The poller reads at the template's
    DiscordPollSeconds with its back-off (DiscordPollMaxSeconds), the interactions are paced
    by DiscordInteractionIntervalSeconds, previews are linked (MidjourneyPreviews): the
    functions' environment from template.yaml, untouched."""

    ENV = ("MJ_INSTANCES", "MJ_DISCORD_API_BASE", "MJ_DISCORD_CDN_HOSTS")

    def __init__(self, stack: common.Stack, bench: Bench) -> None:
        self.stack = stack
        self.bench = bench
        self.runs_per_lifecycle: list[int] = []
        self.poller_runs: list[list[Usage]] = []  # per lifecycle, each run's own usage
        self.warm_up_runs: list[Usage] = []
        self.fresh = Usage()  # the warm-up lifecycle, on the fresh account
        self.fresh_item_bytes = 0

    def __enter__(self) -> MidjourneyAccount:
        import boto3

        from mjproxy import config
        from mjproxy.providers.midjourney import commands, http
        from mjsim import ManualClock, Simulator, transport_for

        self.sim = Simulator(SIM_BASE, ManualClock(), step_seconds=MJ_SIM_STEP_SECONDS)
        self.account = self.sim.add_account()
        self.saved = {k: os.environ.get(k) for k in self.ENV}
        os.environ.update({
            "MJ_INSTANCES": json.dumps([self.sim.instance_config(self.account, coreSize=3,
                                                                 queueSize=10)]),
            "MJ_DISCORD_API_BASE": f"{SIM_BASE}/api/v9",
            "MJ_DISCORD_CDN_HOSTS": SIM_BASE.split("//")[1],
        })  # fmt: skip
        self.real_time = time.time
        time.time = self.sim.clock.now
        http.set_transport(self._timed(transport_for(self.sim)))
        queue_url = self.stack.template.physical["DiscordPollerQueue"]
        self.queue = PollerClock(self.sim, queue_url)
        # Last on `before-call`: the meter's hook (registered before) has counted the call.
        boto3.DEFAULT_SESSION.events.register_last(
            "before-call", self.queue.before_call, unique_id="bench-poller-clock"
        )
        self.queue.active = True
        config.reset()
        commands.clear_cache()
        return self

    def __exit__(self, *exc: Any) -> None:
        import boto3

        from mjproxy import config
        from mjproxy.providers.midjourney import commands, http

        self.queue.active = False
        boto3.DEFAULT_SESSION.events.unregister(
            "before-call", self.queue.before_call, unique_id="bench-poller-clock"
        )
        http.set_transport(None)
        time.time = self.real_time
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        config.reset()
        commands.clear_cache()

    def _timed(self, send: Callable) -> Callable:
        """The simulator's answers are Discord's and Midjourney's time (its CDN renders the
        grid), not the functions': timed apart like the local provider's drawing (traffic.py
        adds an assumed Discord wait instead)."""
        bench = self.bench

        def timed(*args: Any) -> Any:
            t = time.perf_counter()
            try:
                return send(*args)
            finally:
                bench.provider_seconds += time.perf_counter() - t

        return timed

    def warm_up(self) -> None:
        """One lifecycle unmeasured (the account's command index fetched once and cached on its
        own item, as on any account after its first task), then the poller's list of retired job
        keys brought to its cap (PollerState.RETIRED_MAX): the list keeps the keys of the last
        ended jobs, so on any account that has finished ~75 tasks it is full, and every read
        and rewrite of the item holding it pays for it (its own item, `<id>#retired`, since the
        account item no longer carries it: state.py). It is filled with copies of the keys the
        warm-up's task retired (same shapes and lengths, older ids, fresh job hashes), so each
        measured lifecycle retires as many keys as drop out and the item keeps its size."""
        import uuid

        from mjproxy.providers.midjourney.state import RETIRED_ITEM, PollerState, item_id

        self.fresh = self.bench.measure(self.lifecycle)
        self.warm_up_runs = self.poller_runs[-1]
        self.fresh_item_bytes = self.account_item_bytes()
        key = {"id": {"S": item_id(self.account.channel_id, RETIRED_ITEM)}}
        ddb = self.bench.meter.side
        table = self.stack.instances_table
        item = ddb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
        real = json.loads(item["retiredKeys"]["S"])
        assert real, "the warm-up's task retired no key"
        older: list[str] = []
        shift = 0
        while len(older) + len(real) < PollerState.RETIRED_MAX:
            shift += 1
            for k in real:  # a snowflake `shift` minutes earlier; a job hash is a uuid
                older.append(str(int(k) - (shift * 60_000 << 22)) if k.isdigit()
                             else str(uuid.uuid4()))  # fmt: skip
        full = (older + real)[-PollerState.RETIRED_MAX :]
        ddb.update_item(TableName=table, Key=key, UpdateExpression="SET retiredKeys = :s",
                        ExpressionAttributeValues={":s": {"S": json.dumps(
                            full, separators=(",", ":"))}})  # fmt: skip
        self.runs_per_lifecycle.clear()
        self.poller_runs.clear()

    def _item_bytes(self, item_id: str) -> int:
        key = {"id": {"S": item_id}}
        return item_size(self.bench.meter.side.get_item(
            TableName=self.stack.instances_table, Key=key, ConsistentRead=True)["Item"])  # fmt: skip

    def retired_item_bytes(self) -> int:
        from mjproxy.providers.midjourney.state import RETIRED_ITEM, item_id

        return self._item_bytes(item_id(self.account.channel_id, RETIRED_ITEM))

    def account_item_bytes(self) -> int:
        return self._item_bytes(self.account.channel_id)

    def chain_run(self, runs: list[Usage]) -> dict[str, float]:
        """The mean of the quiet poller runs (no task written, nothing stored, a next message
        sent): what any run costs the account whatever it finds (the invocation, its SQS
        message, the account item's reads and lease write on the instances table), and apart
        the reads of the running task (tasks table)."""
        instances, tasks = self.stack.instances_table, self.stack.tasks_table
        quiet = [r for r in runs if not r.wru_by_table.get(tasks) and not r.s3_put
                 and r.sqs_requests]  # fmt: skip
        durations = [r.durations["DiscordPollerFunction"][0] for r in quiet]
        n = max(1, len(quiet))
        return {
            "quiet_runs": len(quiet),
            "rru": sum(r.rru_by_table.get(instances, 0.0) for r in quiet) / n,
            "wru": sum(r.wru_by_table.get(instances, 0.0) for r in quiet) / n,
            "sqs_send_requests": sum(r.sqs_requests for r in quiet) / n,
            "esm_messages": sum(r.esm_messages for r in quiet) / n,
            "calls": sum(r.total_calls for r in quiet) / n,
            "wall_s": sum(w - p for w, _c, p in durations) / n,
            "cpu_s": sum(c - p for _w, c, p in durations) / n,
            "task_rru": sum(r.rru_by_table.get(tasks, 0.0) for r in quiet) / n,
        }

    def summary(self) -> dict[str, Any]:
        """What bench/traffic.py needs beyond the row: the last lifecycle's poller runs, the
        mean quiet run at the account's steady state and on a fresh account (the warm-up, its
        retired list nearly empty), the account item's size."""
        from mjproxy.providers.midjourney.state import PollerState

        return {
            "poller_runs": len(self.poller_runs[-1]),
            "poller_run": self.chain_run(self.poller_runs[-1]),
            "poller_run_fresh_account": self.chain_run(self.warm_up_runs),
            "account_item_bytes": self.account_item_bytes(),
            "account_item_bytes_fresh": self.fresh_item_bytes,
            "retired_item_bytes": self.retired_item_bytes(),
            # The warm-up, the account's first task: as the row, + the command index read from
            # Discord and stored on the item (one UpdateItem).
            "fresh_account": {
                "rru": self.fresh.rru,
                "wru": self.fresh.wru,
                "wru_gsi": self.fresh.wru_gsi,
                "sqs_send_requests": self.fresh.sqs_requests,
                "esm_messages": self.fresh.esm_messages,
                "poller_runs": len(self.warm_up_runs),
            },
            "retired_keys": PollerState.RETIRED_MAX,
            "sim_step_seconds": MJ_SIM_STEP_SECONDS,
        }

    def lifecycle(self) -> None:
        """Submit an imagine, then deliver, in time order, the worker's jobs (at once, as Lambda
        does) and each poller message (when due) until the chain stops: the task is SUCCESS
        and the run after it found nothing running and released the account's lease."""
        from mjproxy.local import runner

        task_id = self.bench.post("/mj/submit/imagine", {"prompt": common.IMAGINE_PROMPT})["result"]
        fn, handler = self.stack.handler("DiscordPollerFunction")
        arn = self.stack.template.arns["DiscordPollerQueue"]
        runs: list[Usage] = []
        for _ in range(MJ_SIM_MAX_RUNS):
            self.stack.drain()
            message = self.queue.receive()
            if message is None:
                break
            before = self.bench.meter.snapshot()
            out = runner.invoke(fn, handler, runner.sqs_event([message], arn)) or {}
            runs.append(self.bench.meter.snapshot().minus(before))
            assert not out.get("batchItemFailures"), out
        else:
            raise RuntimeError(f"the poller chain did not stop within {MJ_SIM_MAX_RUNS} runs")
        item = self.bench.meter.side.get_item(
            TableName=self.stack.tasks_table, Key={"id": {"S": task_id}}, ConsistentRead=True
        )["Item"]
        assert item["status"]["S"] == "SUCCESS", item.get("failReason")
        self.runs_per_lifecycle.append(len(runs))
        self.poller_runs.append(runs)


class Receiver:
    """A callback receiver on 127.0.0.1 answering 200 to every POST."""

    def __init__(self) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        self.server.shutdown()


@dataclass
class Row:
    label: str
    usage: Usage
    deterministic: bool
    minimum: str
    minimum_calls: int | None
    gap: str
    extra: dict[str, Any] = field(default_factory=dict)  # more of the operation, for the JSON


def breakdown(usage: Usage) -> str:
    return ", ".join(f"{k} x{v}" for k, v in sorted(usage.calls.items())) or "-"


def run_operations(stack: common.Stack) -> tuple[list[Row], int]:
    meter = Meter(stack)
    meter.install()
    bench = Bench(stack, meter)
    receiver = Receiver()
    os.environ["MJ_NOTIFY_ALLOW_PRIVATE"] = "true"  # the receiver is on 127.0.0.1
    stack.reset_caches()

    parent = stack.finished_task()  # real images in S3: the parent of upscales
    parent_item = meter.side.get_item(
        TableName=stack.tasks_table, Key={"id": {"S": parent}}, ConsistentRead=True
    )["Item"]
    clones = stack.seed_tasks(1000, parent)
    stack.reset_instance_counters()
    usages: dict[str, Usage] = {}

    def twice(label: str, action: Callable[[], Any], reset: bool = True) -> tuple[Usage, bool]:
        runs = []
        for _ in range(2):
            runs.append(bench.measure(action))
            if reset:
                stack.reset_instance_counters()
                stack.discard_queues()
        usages[label] = runs[1]
        return runs[1], runs[0].signature() == runs[1].signature()

    def imagine() -> None:
        bench.post("/mj/submit/imagine", {"prompt": common.IMAGINE_PROMPT})

    def change() -> None:
        bench.post("/mj/submit/change", {"taskId": parent, "action": "UPSCALE", "index": 1})

    def lifecycle(hook: str | None = None) -> Callable[[], None]:
        def run() -> None:
            body = {"prompt": common.IMAGINE_PROMPT}
            if hook:
                body["notifyHook"] = hook
            bench.finish(bench.post("/mj/submit/imagine", body)["result"])

        return run

    def bedrock_lifecycle() -> None:
        """The same imagine on a `bedrock` instance, InvokeModel answered by a fake (its calls
        are the generator's, not counted): a step provider's lifecycle (plan, one generating
        step; no progress steps, no previews), which openai's shares (providers/common.py)."""
        from mjproxy import config
        from mjproxy.providers import bedrock

        saved = os.environ.get("MJ_INSTANCES")
        os.environ["MJ_INSTANCES"] = json.dumps(
            [{"id": "bedrock-1", "provider": "bedrock", "coreSize": 3, "queueSize": 10}]
        )
        original = bedrock._default_client_factory
        bedrock._default_client_factory = lambda region, cfg: FakeBedrock()
        config.reset()
        try:
            bench.finish(
                bench.post("/mj/submit/imagine", {"prompt": common.IMAGINE_PROMPT})["result"]
            )
        finally:
            bedrock._default_client_factory = original
            if saved is None:
                os.environ.pop("MJ_INSTANCES", None)
            else:
                os.environ["MJ_INSTANCES"] = saved
            config.reset()

    def upscale_lifecycle() -> None:
        out = bench.post("/mj/submit/change", {"taskId": parent, "action": "UPSCALE", "index": 2})
        bench.finish(out["result"])

    def listing(n: int) -> Callable[[], None]:
        return lambda: bench.post("/mj/task/list-by-condition", {"ids": clones[:n]})

    def scheduled(name: str) -> Callable[[], None]:
        def run() -> None:
            from mjproxy.local.runner import invoke

            fn, handler = stack.handler(name)
            event = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
            invoke(fn, handler, event)

        return run

    steps = common.settings_value("local_progress_steps")
    rows: list[Row] = []
    baseline = common.load_baseline()  # its module-level client comes from the hooked session

    def baseline_fetch() -> None:
        from types import SimpleNamespace

        from mjproxy.local import runner

        fn = SimpleNamespace(name="BaselineFunction")
        out = runner.invoke(fn, baseline, common.baseline_event(clones[0]))
        assert out["statusCode"] == 200, out

    def add(label: str, action: Callable, minimum: str, min_calls: int | None, gap: str) -> Row:
        usage, same = twice(label, action)
        rows.append(Row(label, usage, same, minimum, min_calls, gap))
        print(f"  {label}: {usage.total_calls} calls", flush=True)
        return rows[-1]

    add("baseline handler: GET one task", baseline_fetch,
        "GetItem = 1", 1, "none")  # fmt: skip
    add("submit imagine", imagine,
        "PutItem (task) + SendMessage (job) = 2; with the queue limit (code 23 before any task "
        "exists) an atomic counter write too = 3", 3,
        "none (the run-time `disabled` flag read applies to midjourney accounts only)")  # fmt: skip
    add("submit change (UPSCALE)", change,
        "GetItem (parent) + reserve UpdateItem + PutItem + SendMessage = 4", 4,
        "none")  # fmt: skip
    add("fetch (finished task)", lambda: bench.get(f"/mj/task/{clones[0]}/fetch"),
        "GetItem = 1 (presigned URLs are computed locally, no call)", 1, "none")  # fmt: skip
    for n in (1, 100, 1000):
        pages = math.ceil(n / 100)
        add(f"list-by-condition, {n:,} ids", listing(n),
            f"BatchGetItem x{pages} (100 keys per call)", pages, "none")  # fmt: skip
    # Stable links (the template's ImageUrlMode): the quadrants are stored on their first read.
    lazy = common.settings_value("image_url_mode") == "stable"
    puts = (
        "1 PutObject (the grid; its quadrants when first read)"
        if lazy
        else ("5 PutObject (grid, 4 quadrants)")
    )
    # Previews: at most one per MJ_PREVIEW_MIN_SECONDS; the steps here run back to back.
    shown = 1 if common.settings_value("preview_min_seconds") > 0 else steps - 1
    life_min = 3 + 3 * (steps + 2) - 1 + 2 + (1 if lazy else 5) + shown
    add("imagine lifecycle to SUCCESS (submit + worker)", lifecycle(),
        f"submit 3 + per worker step ({steps + 2}: start, {steps} progress polls, result) "
        f"GetItem + UpdateItem + SendMessage of the next step (none after the last) + slot "
        f"acquire and release + {puts} + {shown} preview PutObject (of {steps - 1}: "
        f"MJ_PREVIEW_MIN_SECONDS) = {life_min}", life_min,
        "none")  # fmt: skip
    bed_min = 3 + 3 * 2 - 1 + 2 + (1 if lazy else 5)
    add(LIFECYCLE_BEDROCK, bedrock_lifecycle,
        f"submit 3 + per worker step (2: start, the generating step) GetItem + UpdateItem + "
        f"SendMessage of the next (none after the last) + slot acquire and release + {puts} = "
        f"{bed_min}", bed_min, "none")  # fmt: skip
    with MidjourneyAccount(stack, bench) as mj:
        mj.warm_up()
        row = add(LIFECYCLE_MIDJOURNEY, mj.lifecycle,
            "submit 3; the worker's step (GetItem, slot acquire, the interaction's pacing claim, "
            "UpdateItem, the lease taken + the chain's first SendMessage); per poller run "
            "GetItem (account item) + per running task GetItem + UpdateItem (lease and cursor) "
            "+ SendMessage (the next run); a run with a message to match reads the retired "
            "job keys (GetItem, their own item), the run that ends the task writes them "
            "(UpdateItem); each change Midjourney shows GetItem + UpdateItem "
            "(task); the grid's PutObject and the slot release",
            None,
            "each run also reads the instances' `disabled` flags (BatchGetItem: the whole "
            "account item is billed), and a progress message read again unchanged reads its "
            "task twice more; the last 300 retired job keys (~9 KB at their cap, the steady "
            "state measured here) and the command index have items of their own, so the "
            "account item stays at a fresh account's size (each read 1 RRU, each write 1 WRU); "
            "the retired keys cost 2 RRU in each run that reads them and ~8 WRU when a task "
            "ends")  # fmt: skip
        row.extra = mj.summary()
    changes = steps + 2  # SUBMITTED, IN_PROGRESS at each step, SUCCESS: one callback each
    # A callback has no base URL for stable links (PublicBaseUrl empty): the notifier stores
    # the quadrants before the SUCCESS callback names them presigned.
    stored = 6 if lazy else 0
    add("imagine lifecycle with notifyHook (+ notifier)", lifecycle(receiver.url),
        f"as above + per state change ({changes}) SendMessage (notify queue) + the "
        f"notifier's GetItem + one UpdateItem (ledger)"
        + (" + HeadObject, GetObject (grid), 4 PutObject (quadrants, before the SUCCESS "
           "callback names them: no base URL for links)" if lazy else "")
        + f" = {life_min} + {3 * changes + stored}",
        life_min + 3 * changes + stored,
        f"{changes} more UpdateItems: the ledger is "
        "written twice per callback (claim before the POST, done after), which keeps "
        "callbacks in order with one in flight per task")  # fmt: skip
    up_min = 4 + 2 * (steps + 2) + (steps + 1) + 2 + 2 * steps + shown + 1
    add("upscale lifecycle to SUCCESS (change + worker)", upscale_lifecycle,
        f"change 4 + per worker step GetItem + UpdateItem, {steps + 1} follow-up "
        f"SendMessage, acquire + release; each of the {steps} drawing steps ({steps - 1} "
        f"previews, the result) GetItem (parent) + GetObject (its quadrant{', cropped from the grid' if lazy else ''}); "
        f"PutObject of {shown} preview(s) and the result = "
        f"{up_min}", up_min,
        "the result step reads the parent twice "
        "(for its quadrant, then for its seed)")  # fmt: skip
    add("sweeper run (idle, every minute)", scheduled("SweeperFunction"),
        "Query (active index) + per instance GetItem (counters) = 2", 2,
        "the instances' `disabled` flags (BatchGetItem)")  # fmt: skip
    add("Discord poller watchdog (idle, every 2 minutes)", scheduled("DiscordPollerFunction"),
        "0 with no Discord account configured", 0,
        "reads the instances' flags (BatchGetItem) before finding no Discord account")  # fmt: skip
    receiver.stop()
    if meter.errors:
        raise RuntimeError("the counting hooks failed:\n" + "\n".join(meter.errors[:10]))
    return rows, item_size(parent_item)


def main() -> None:
    with common.Stack() as stack:
        rows, task_item_bytes = run_operations(stack)
        quadrants_on_read = common.settings_value("image_url_mode") == "stable"
        steps = common.settings_value("local_progress_steps")

    table = common.Table(
        "AWS API calls per operation (exact, botocore event hooks)",
        ["Operation", "Lambda invocations", "AWS calls", "Breakdown", "DynamoDB RRU",
         "DynamoDB WRU (table + GSI)", "SQS requests (sends + ESM)", "S3 PUT / GET",
         "Same in both runs", "Minimum needed", "Gap"],
    )  # fmt: skip
    data: dict[str, Any] = {}
    for r in rows:
        u = r.usage
        inv = ", ".join(f"{k.removesuffix('Function')} x{v}" for k, v in u.invocations.items())
        gap_calls = (
            f"{u.total_calls - r.minimum_calls:+d}: {r.gap}" if r.minimum_calls is not None
            else r.gap
        )  # fmt: skip
        table.add(r.label, inv, u.total_calls, breakdown(u), f"{u.rru:g}",
                  f"{u.wru:g} + {u.wru_gsi:g}", f"{u.sqs_requests} + {2 * u.esm_messages}",
                  f"{u.s3_put} / {u.s3_get}", "yes" if r.deterministic else "NO",
                  r.minimum, gap_calls)  # fmt: skip
        data[r.label] = {
            "calls": dict(u.calls),
            "total_calls": u.total_calls,
            "rru": u.rru,
            "wru": u.wru,
            "wru_gsi": u.wru_gsi,
            "wru_gsi_all": u.wru_gsi_all,
            "sqs_send_requests": u.sqs_requests,
            "esm_messages": u.esm_messages,
            "s3_put": u.s3_put,
            "s3_get": u.s3_get,
            "s3_bytes_stored": sum(u.s3_bytes.values()),
            "invocations": dict(u.invocations),
            "durations": {
                fn: [{"wall_s": w, "cpu_s": c, "provider_s": p} for w, c, p in runs]
                for fn, runs in u.durations.items()
            },
            "rru_by_table": dict(u.rru_by_table),
            "wru_by_table": dict(u.wru_by_table),
            "deterministic": r.deterministic,
            "minimum_calls": r.minimum_calls,
            **r.extra,
        }
    life = data["imagine lifecycle to SUCCESS (submit + worker)"]
    mj = data[LIFECYCLE_MIDJOURNEY]
    run, fresh = mj["poller_run"], mj["poller_run_fresh_account"]
    table.notes += [
        "Each operation ran twice; 'Same in both runs' compares every count in the row. "
        f"Local provider with MJ_LOCAL_STEP_SECONDS=0 and {steps} progress steps; worker "
        "steps are delivered one message per invocation, as at low traffic.",
        "RRU/WRU: DynamoDB on-demand request units from the items' sizes as AWS documents "
        "them (reads per 4 KB, strongly consistent 1, eventually consistent 0.5; writes per "
        "1 KB of the larger of the old and new item; a failed condition still costs the "
        "write). Both task indexes project ALL: a task write also writes `all-by-submit`, and "
        "`active-by-submit` while the task is unfinished (a delete when it finishes).",
        "SQS requests: SendMessage in 64 KB chunks + the event source mapping's ReceiveMessage "
        "and DeleteMessage for each delivered message (2 per message, counted as if delivered "
        "alone; Lambda's idle long polling is a fixed monthly cost, see the cost model).",
        f"S3: a finished imagine stores {life['s3_bytes_stored'] / 1024:.0f} KB with the local "
        "provider (grid and preview; the 4 quadrants only when first opened, with the template's "
        "stable links); real generators' grids are several MB. imageUrl and imageUrls are "
        "signed locally: no request until a client downloads.",
        f"A finished imagine task item is {task_item_bytes:,} bytes (DynamoDB size rules).",
        f"Midjourney: the Discord simulator (sim/mjsim, its current message forms) in-process "
        f"on its own clock, one account alone, Midjourney's edits {MJ_SIM_STEP_SECONDS:g} s "
        "apart, the template's poll interval and back-off; the poller's queue delays kept on "
        "the simulator's clock (bench.api_calls.PollerClock), every other call as sent. "
        f"{mj['poller_runs']} poller runs from the interaction to the run that found nothing "
        "running and released the lease. A quiet run (nothing new) costs the account "
        f"{run['rru']:g} RRU + {run['wru']:g} WRU on the instances table (its item "
        f"{mj['account_item_bytes']:,} bytes; the retired-key item, at its cap of "
        f"{mj['retired_keys']} keys, {mj['retired_item_bytes']:,}) + 1 SendMessage + the "
        f"ESM's receive and delete, and {run['task_rru']:.2g} RRU of task reads; on a fresh "
        f"account ({mj['account_item_bytes_fresh']:,} bytes) {fresh['rru']:g} RRU + "
        f"{fresh['wru']:g} WRU. Discord's and Midjourney's own time (the simulator's answers) "
        "is timed apart like the local provider's drawing.",
        "Not counted as AWS calls: API Gateway requests (one per HTTP request) and Lambda "
        "invocations (own column); both are in the cost model.",
    ]
    common.write_results(
        "3_api_calls",
        "3. AWS API calls per operation",
        [table],
        {
            "operations": data,
            "local_progress_steps": steps,
            "task_item_bytes": task_item_bytes,
            "quadrants_on_read": quadrants_on_read,
            "index_projection": stack.template.resolve(
                stack.template.parameters["TaskIndexProjection"].get("Default", "ALL")
            ),
        },  # fmt: skip
        common.run_script("api_calls.py"),
    )


if __name__ == "__main__":
    main()

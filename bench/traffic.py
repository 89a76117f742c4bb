"""Cost model, part 2 (issue 17): overhead per 1,000 imagines for the three traffic shapes real
clients send, per provider with the provider's wait billed on the worker, per way of exposing
the API; the growth rates; what a busy Discord account costs per hour. Called by cost_model.py
(same inputs: tables 1-3 and template.yaml), which writes the tables into 5_cost_model.md.

Overhead = everything but the generator's own price: API requests, Lambda (requests, duration
with INIT on cold starts, the worker's waiting seconds), DynamoDB, SQS, S3, logs.
"""

from __future__ import annotations

import io
import math
import os
import time
from dataclasses import dataclass, replace
from typing import Any

import common
from cost_model import (
    FETCH,
    LIFECYCLE,
    LIFECYCLE_BEDROCK,
    LIFECYCLE_MIDJOURNEY,
    PRICES,
    Assumptions,
    Duration,
    gb_seconds,
    index_copy_bytes,
    money,
    scale,
)

TARGET = 0.05  # USD per 1,000 imagines (issue 17)
LIST_100 = "list-by-condition, 100 ids"
LIST_1000 = "list-by-condition, 1,000 ids"
# MJ_PREVIEW_MIN_SECONDS as the functions run it (config.py default unless set here).
PREVIEW_MIN_SECONDS = float(os.environ.get("MJ_PREVIEW_MIN_SECONDS", "10"))
# MJ_MIDJOURNEY_PREVIEWS likewise: "link" (the default) stores no midjourney preview at all.
MJ_PREVIEWS = os.environ.get("MJ_MIDJOURNEY_PREVIEWS", "").strip().lower() or "link"
# DynamoDB's own answer per id of a BatchGetItem in AWS (~10 ms per 100-item page): moto's
# answer here is 10-100x slower and would be the whole per-id figure.
AWS_WAIT_MS_PER_ID = 0.1
# Discord's REST answer incl. TLS reuse (assumed): each poller run's channel read, and the
# worker's interaction; the simulator in-process answers at once and is timed apart.
DISCORD_WAIT_S = 0.25


@dataclass(frozen=True)
class Shape:
    label: str
    poll: str  # "fetch": one GET per task per poll; "list": one list-by-condition for all
    poll_seconds: float
    browser: bool  # preflights (mj-api-secret is a non-simple header)
    in_flight: int = 1  # tasks one list-by-condition call covers
    # Opens the four imageUrls of a grid (Dooy's web UI shows the split images: clients.md §C.1)
    opens_quadrants: bool = False


@dataclass(frozen=True)
class Provider:
    name: str
    task_seconds: float  # submit to SUCCESS as the client sees it
    wait_seconds: float  # worker billed while it waits on the provider's HTTP answer
    grid_from_images: bool  # the worker composes 4 images into a grid and splits it again
    previews_sent: int  # progress previews the generator produces during a task
    preview_every_s: float  # seconds between them
    note: str
    linked_previews: bool = False  # previews are the generator's own URLs: none stored

    def previews(self, min_seconds: float) -> int:
        """Previews stored (one S3 PUT each)."""
        return 0 if self.linked_previews else self.stored_previews(min_seconds)

    def stored_previews(self, min_seconds: float) -> int:
        """Previews stored when they are stored: the first, then one whenever the stored one is
        MJ_PREVIEW_MIN_SECONDS old (images.preview_due)."""
        stored, last = 0, None
        for i in range(self.previews_sent):
            t = i * self.preview_every_s
            if last is None or t - last >= min_seconds:
                stored, last = stored + 1, t
        return stored


@dataclass(frozen=True)
class Api:
    label: str
    per_million: float
    preflight_billed: bool
    features: str


SHAPES = [
    Shape("relay: list-by-condition every 15 s (10 tasks in flight)", "list", 15.0, False, 10),
    Shape(
        "web UI: fetch every 3 s from a browser (preflights)",
        "fetch",
        3.0,
        True,
        opens_quadrants=True,
    ),
    Shape("bot: fetch every 3 s", "fetch", 3.0, False),
]
PROVIDERS = [
    Provider(
        "local",
        40.0,
        0.0,
        False,
        3,
        1.0,
        "procedural images, drawing time excluded; 3 previews 1 s apart",
    ),
    Provider("bedrock", 15.0, 8.0, True, 0, 0.0, "4 parallel InvokeModel, ~8 s each (issue 17)"),
    Provider("openai", 45.0, 40.0, True, 0, 0.0, "one images call with n=4, ~40 s (issue 17)"),
    Provider(
        "midjourney",
        60.0,
        DISCORD_WAIT_S,
        False,
        6,
        7.0,
        "the worker waits only for Discord's answer to the interaction (assumed); the "
        "poller's runs are priced per busy account-hour; ~6 previews ~7 s apart (15% ... 93%), "
        + ("linked: Discord's CDN URLs, none stored" if MJ_PREVIEWS == "link" else "stored"),
        linked_previews=MJ_PREVIEWS == "link",
    ),
]
APIS = [
    Api("HTTP API (template.yaml)", PRICES["apigw_http_per_million"], True,
        "one base URL, route throttling (429 with API Gateway's own body), the $default route's "
        "protocol-shaped 404, the source-address list and the secret checked in the functions; "
        "no resource policies, gateway responses, WAF (CloudFront's instead) or usage plans"),
    Api("REST API (before issue 17)", PRICES["apigw_rest_per_million"], True,
        "resource policy, stage throttling, GatewayResponses (protocol-shaped 404/429/413), WAF"),
    Api("function URLs + CloudFront", 1.00, False,
        "one URL per function needs CloudFront ($0.01 per 10,000 HTTPS requests) for one base "
        "URL; throttling only by reserved concurrency; auth in the function (as now) or IAM"),
]  # fmt: skip
TEMPLATE_API, REST_API = APIS[0], APIS[1]

# The cheapest mainline model for the Responses API's image_generation tool (the OpenAI lever).
RESPONSES_MAINLINE = {
    "model": "gpt-5-nano",
    "input_per_million": 0.05,
    "output_per_million": 0.40,
    "input_tokens": 300,
    "output_tokens": 100,
    "prices_as_of": "OpenAI list prices as of 2025-08, not re-checked from this machine",
}


# ---- measured inputs ------------------------------------------------------------------------
def grid_cpu_seconds() -> dict[str, float]:
    """CPU the worker spends turning 4 generated 1024x1024 PNGs into a stored grid and its
    quadrants (compose_grid + split_grid), measured here on synthetic photo-like images (smooth
    noise + grain: generated images compress about like photos). Billed like CPU time."""
    from PIL import Image

    from mjproxy import images
    from mjproxy.providers.common import compose_grid

    def photo(seed: int) -> bytes:
        base = Image.effect_noise((64, 64), 40 + seed).convert("RGB")
        base = base.resize((1024, 1024), Image.Resampling.BICUBIC)
        grain = Image.effect_noise((1024, 1024), 18).convert("RGB")
        buf = io.BytesIO()
        Image.blend(base, grain, 0.15).save(buf, "PNG")
        return buf.getvalue()

    inputs = [photo(i) for i in range(4)]
    runs = []
    for _ in range(3):
        t0 = time.process_time()
        grid = compose_grid(inputs)
        t1 = time.process_time()
        quads = images.split_grid(grid)
        t2 = time.process_time()
        runs.append((t1 - t0, t2 - t1))
    compose = common.median(r[0] for r in runs)
    split = common.median(r[1] for r in runs)
    opened = Image.open(io.BytesIO(grid))
    opened.load()
    t0 = time.process_time()
    opened.save(io.BytesIO(), "PNG")  # Pillow's default level 6, before this change
    level6 = time.process_time() - t0
    t0 = time.process_time()
    opened.save(io.BytesIO(), "PNG", compress_level=3)
    level3 = time.process_time() - t0
    return {
        "encode_level6_s": level6,
        "encode_level3_s": level3,
        "compose_s": compose,
        "split_s": split,
        "grid_bytes": len(grid),
        "quadrant_bytes": sum(len(q) for q in quads),
        "input_bytes": sum(len(b) for b in inputs),
    }


def list_call(warm: dict[str, Any] | None, mem: int) -> tuple[Duration, Duration]:
    """list-by-condition: (fixed part per call, part per id), from table 2's 100- and 1,000-id
    rows (a straight line through the two p50s, CPU and wall)."""
    if not warm:
        return Duration(50.0, 50.0), Duration(1.0, 3.0)
    w = warm["operations"]
    a, b = w[LIST_100], w[LIST_1000]
    # The 1,000-id answer stops at 2 MB (X-Ids-Truncated): the line runs through the ids it
    # answered, not the ids asked for.
    answered = int(warm.get("list_1000_answered") or 1000)
    per_cpu = (b["cpu_p50_ms"] - a["cpu_p50_ms"]) / max(1, answered - 100)
    fixed_cpu = max(0.0, a["cpu_p50_ms"] - 100 * per_cpu)
    # Wall = CPU + AWS's answer: the fixed part's wait as the fetch call's (one request), the
    # per-id part's as AWS_WAIT_MS_PER_ID, not moto's.
    fetch = w[FETCH]
    fixed_wait = max(0.0, fetch["p50_ms"] - fetch["cpu_p50_ms"])
    return (
        scale(fixed_cpu + fixed_wait, fixed_cpu, mem),
        scale(per_cpu + AWS_WAIT_MS_PER_ID, per_cpu, mem),
    )


# ---- the model ------------------------------------------------------------------------------
def midjourney_task_part(op: dict[str, Any], poller: Poller, task_seconds: float) -> dict[str, Any]:
    """Table 3's midjourney lifecycle (one imagine alone on its account, from the submit to the
    poller run that released the account's lease, every run included) as one task of a busy
    account pays it. A poller run serves every running task of the account at once, and how
    many runs an hour takes follows from how often something changes (the back-off), which one
    task alone does not show (alone it backs off between Midjourney's edits). So what a run
    costs the account whatever it finds (a quiet run's invocation and duration, its
    SendMessage + the ESM's receive and delete, the account item's reads and lease write) is
    taken out of the lifecycle's runs here and priced per busy account-hour instead
    (Poller.per_hour, measured runs per hour x these measured units): counted once. What stays
    per task: the submit, the worker's step, the task's reads and writes (its read in every run
    at the busy account's pace: the runs during its `task_seconds`), the slot and lease writes
    on the account item, the grid's PUT, and the runs' work beyond a quiet run."""
    n = op["poller_runs"]
    run = op["poller_run"]
    busy_reads = poller.runs_per_hour * task_seconds / 3600  # runs that read this task
    runs = op["durations"].get("DiscordPollerFunction", [])
    extra_wall = sum(r["wall_s"] - r["provider_s"] for r in runs) - n * run["wall_s"]
    extra_cpu = sum(r["cpu_s"] - r["provider_s"] for r in runs) - n * run["cpu_s"]
    return {
        **op,
        "rru": op["rru"] - n * (run["rru"] + run["task_rru"]) + busy_reads * run["task_rru"],
        "wru": op["wru"] - n * run["wru"],
        "sqs_send_requests": op["sqs_send_requests"] - n * run["sqs_send_requests"],
        "esm_messages": op["esm_messages"] - n * run["esm_messages"],
        "durations": {"WorkerFunction": op["durations"]["WorkerFunction"]},
        "poller_extra": {"wall_s": max(0.0, extra_wall), "cpu_s": max(0.0, extra_cpu)},
    }


def overhead(
    shape: Shape,
    provider: Provider,
    api: Api,
    inputs: dict[str, Any],
    d: dict[str, Any],
    mem: dict[str, int],
    worker_mb: int,
    grid: dict[str, float],
    a: Assumptions,
    poller_per_task: float,
    wait_mb: int | None = None,
    poller: Poller | None = None,
) -> dict[str, float]:
    """Dollars per imagine task, by component, at Lambda's CPU share. `wait_mb`: the waiting
    worker's memory where the stack has one (template UseWaitWorker): a step provider's generate
    step (its CPU, the provider's wait and the grid work) runs there; the plan on the worker.
    `poller`: the busy Discord account whose runs `poller_per_task` shares out (midjourney)."""
    p = PRICES
    ops = inputs["calls"]["operations"]
    # A step provider (bedrock, openai: plan, then one generating step) and the midjourney
    # provider (the Discord simulator) have their own measured lifecycles in table 3; the
    # local lifecycle (4 progress steps, 3 previews) is the others' (and midjourney's when
    # table 3 predates its row).
    stepped = provider.grid_from_images and LIFECYCLE_BEDROCK in ops
    discord = provider.name == "midjourney" and LIFECYCLE_MIDJOURNEY in ops and poller is not None
    if stepped:
        life = ops[LIFECYCLE_BEDROCK]
    elif discord:
        assert poller is not None
        life = midjourney_task_part(ops[LIFECYCLE_MIDJOURNEY], poller, provider.task_seconds)
    else:
        life = ops[LIFECYCLE]
    lazy = bool(inputs["calls"].get("quadrants_on_read"))
    # The preview PUTs table 3 measured (zero step delays: the throttle keeps the first one),
    # replaced by the provider's own count at its pace.
    own_previews = 0 if stepped else life["s3_put"] - 1 - (0 if lazy else 4)
    previews = provider.previews(PREVIEW_MIN_SECONDS)
    polls = math.ceil(provider.task_seconds / shape.poll_seconds)
    api_mem, list_mem = mem["TaskFetchFunction"], mem["TaskListByConditionFunction"]
    # Requests reaching a function, per task
    if shape.poll == "list":
        poll_calls = polls / shape.in_flight
        fixed, per_id = list_call(inputs["warm"], list_mem)
        poll_gbs = poll_calls * gb_seconds(fixed.scaled, list_mem)
        poll_gbs += polls * per_id.scaled / 1000 * list_mem / 1024  # this task's id in each
        poll_rru = polls * ops[LIST_100]["rru"] / 100
    else:
        poll_calls = float(polls)
        poll_gbs = polls * gb_seconds(d["fetch"].scaled, api_mem)
        poll_rru = polls * ops[FETCH]["rru"]
    # One preflight per URL: the submit URL is the same for every task (cached, ~0 per task;
    # counted once to stay conservative), each task's fetch URL is new.
    preflights = (1 + (1 if shape.poll == "fetch" else 0)) if shape.browser else 0
    billed_requests = 1 + poll_calls + (preflights if api.preflight_billed else 0)
    api_cost = billed_requests * api.per_million / 1e6
    # Lambda: submit + polls + the worker's steps (its own CPU, table 3) + waiting + grid work
    runs = life["durations"]["WorkerFunction"]
    run_mb = wait_mb if stepped and wait_mb else worker_mb  # where the generate step runs
    step_mb = [worker_mb] + [run_mb] * (len(runs) - 1)
    steps = [
        scale((r["wall_s"] - r["provider_s"]) * 1000, (r["cpu_s"] - r["provider_s"]) * 1000,
              m).scaled
        for r, m in zip(runs, step_mb, strict=True)
    ]  # fmt: skip
    gbs = gb_seconds(d["submit"].scaled, mem["SubmitImagineFunction"]) + poll_gbs
    gbs += sum(gb_seconds(x, m) for x, m in zip(steps, step_mb, strict=True))
    gbs += provider.wait_seconds * run_mb / 1024
    if discord:  # what the poller's runs did for this task beyond a quiet run (result, grid)
        extra, pm = life["poller_extra"], mem["DiscordPollerFunction"]
        gbs += gb_seconds(scale(extra["wall_s"] * 1000, extra["cpu_s"] * 1000, pm).scaled, pm)
    if provider.grid_from_images:  # the split only where quadrants are stored at finish
        cpu = grid["compose_s"] + (0.0 if lazy else grid["split_s"])
        gbs += scale(cpu * 1000, cpu * 1000, run_mb).scaled / 1000 * run_mb / 1024
    init = d["init"]
    if init:
        cold = gb_seconds(init["SubmitImagineFunction"].scaled, mem["SubmitImagineFunction"])
        cold += poll_calls * gb_seconds(init["TaskFetchFunction"].scaled, api_mem)
        worker_init = init["WorkerFunction"].measured
        cold += sum(gb_seconds(scale(worker_init, worker_init, m).scaled, m) for m in step_mb)
        gbs += a.cold_share * cold
    # Image views: with the template's stable links every view of imageUrl (a.downloads per
    # task) and of each opened quadrant is a request to the link function (302 to S3) and an
    # S3 GET. Its duration is taken as fetch's (one call's wait + signing; no table read).
    views = a.downloads + (4 if shape.opens_quadrants else 0)
    link_mem = mem["ImageRedirectFunction"]
    billed_requests += views
    api_cost += views * api.per_million / 1e6
    gbs += views * gb_seconds(d["fetch"].scaled, link_mem)
    opened_lazy = lazy and shape.opens_quadrants
    if opened_lazy:  # the first opened quadrant crops all four from one decode of the grid
        cpu = grid["split_s"] * 1000
        gbs += scale(cpu, cpu, link_mem).scaled / 1000 * link_mem / 1024
    invocations = 1 + poll_calls + len(steps) + views
    lam = invocations * p["lambda_per_million"] / 1e6 + gbs * p["lambda_gb_s_arm64"]
    ddb = (life["rru"] + poll_rru) * p["ddb_rru_per_million"] / 1e6
    ddb += (life["wru"] + life["wru_gsi"]) * p["ddb_wru_per_million"] / 1e6
    months = a.retention_days / 30.4375
    item = inputs["calls"]["task_item_bytes"] + 100
    stored = item + index_copy_bytes(inputs, item)
    ddb += (stored * p["ddb_storage_gb_month"] + item * p["ddb_pitr_gb_month"]) / 1024**3 * months
    sqs = (life["sqs_send_requests"] + 2 * life["esm_messages"]) * p["sqs_per_million"] / 1e6
    puts = life["s3_put"] - own_previews + previews + (4 if opened_lazy else 0)
    s3 = puts * p["s3_put_per_thousand"] / 1e3
    gets = life["s3_get"] + views + (2 if opened_lazy else 0)  # + HeadObject, grid GetObject
    s3 += gets * p["s3_get_per_thousand"] / 1e3
    # Bytes as the local provider's real-size grid (the bedrock row's fake images are tiny).
    s3 += ops[LIFECYCLE]["s3_bytes_stored"] / 1024**3 * p["s3_storage_gb_month"] * months
    logs = invocations * a.log_kb_per_invocation * 1024 / 1024**3 * p["logs_ingest_gb"]
    return {
        "api": api_cost,
        "lambda": lam,
        "worker_wait": provider.wait_seconds * run_mb / 1024 * p["lambda_gb_s_arm64"],
        "dynamodb": ddb,
        "sqs": sqs,
        "s3": s3,
        "logs": logs,
        "discord_poller": poller_per_task,
        "_billed_requests": billed_requests,
        "_polls": polls,
        "_preflights": preflights,
        "_views": views,
    }


LAMBDA_MIN_MB = 128  # the smallest memory a Lambda function can have


def floor(provider: Provider, inputs: dict[str, Any], a: Assumptions,
          parts: dict[str, float]) -> float:  # fmt: skip
    """Dollars per task that any design on this stack pays for this shape and provider: each
    billed request through the HTTP API and the invocation answering it (not the preflights,
    which API Gateway can answer itself, nor the image views, which presigned S3 URLs serve
    without either), one worker invocation, one write of the task, an eventually consistent
    read per poll, the result's PUT, storage and views (S3 GETs), and the provider's wait at
    Lambda's smallest memory. No CPU, queue, log or preview is counted: a lower bound, not a
    design. `parts`: the row's overhead() (its requests, polls, preflights and views)."""
    p = PRICES
    polls, views = parts["_polls"], parts["_views"]
    requests = parts["_billed_requests"] - views
    out = requests * p["apigw_http_per_million"] / 1e6
    out += (requests - parts["_preflights"] + 1) * p["lambda_per_million"] / 1e6
    out += p["ddb_wru_per_million"] / 1e6 + polls * 0.5 * p["ddb_rru_per_million"] / 1e6
    out += p["s3_put_per_thousand"] / 1e3 + views * p["s3_get_per_thousand"] / 1e3
    months = a.retention_days / 30.4375
    stored = inputs["calls"]["operations"][LIFECYCLE]["s3_bytes_stored"]
    out += stored / 1024**3 * p["s3_storage_gb_month"] * months
    return out + floor_wait(provider)


def floor_wait(provider: Provider) -> float:
    """The floor's part for the provider's blocking wait, at Lambda's smallest memory."""
    return provider.wait_seconds * LAMBDA_MIN_MB / 1024 * PRICES["lambda_gb_s_arm64"]


def total(parts: dict[str, float]) -> float:
    return sum(v for k, v in parts.items() if not k.startswith("_") and k != "worker_wait")


def backoff_runs_per_hour(base: float, ceiling: float, change_every_s: float) -> float:
    """Poller runs in an hour when something new shows up every `change_every_s` seconds: the
    chain's own rule (poller.next_delay) played against that pace."""
    from mjproxy.providers.midjourney.poller import next_delay

    t, delay, runs = 0.0, base, 0
    while t < 3600:
        last, t = t, t + delay
        runs += 1
        changed = math.floor(t / change_every_s) > math.floor(last / change_every_s)
        delay = next_delay(delay, base, ceiling, not changed)
    return float(runs)


@dataclass(frozen=True)
class Poller:
    """One busy Discord account: the poller reads the channel every DiscordPollSeconds while the
    account has running tasks (template.yaml), or up to DiscordPollMaxSeconds apart while
    reads find nothing new; each read is one invocation that waits on Discord's HTTP answer,
    re-enqueues itself (SQS send + the event source mapping's receive and delete), reads the
    account's item and its running tasks and rewrites the item (the lease handed on, the
    cursor). Per run, what it costs the account whatever it finds: table 3's midjourney
    lifecycle, its quiet runs (`measured`; the defaults are the assumptions of before)."""

    poll_seconds: float = 3.0
    max_poll_seconds: float = 6.0  # DiscordPollMaxSeconds=0: twice DiscordPollSeconds
    # Something new every ~2.3 s: 3 jobs at once, each a progress edit ~7 s apart (PROVIDERS).
    change_every_s: float = 7.0 / 3
    runs_measured: float | None = None  # per busy hour, bench/midjourney_sim.py
    runs_fixed_measured: float | None = None  # the same without back-off (--max-poll 3)
    discord_wait_s: float = DISCORD_WAIT_S
    cpu_s: float = 0.01  # the run's own CPU
    wall_s: float = 0.01  # the run's own wall time (its AWS calls' answers included)
    rru: float = 1.0  # the account item's reads (and the instances' flags)
    wru: float = 0.0  # the lease and cursor written back to the account item
    sqs_requests: float = 3.0  # the next run's SendMessage + the ESM's receive and delete
    tasks_per_hour: float = 180.0  # coreSize 3 x ~60 s per fast imagine
    measured: bool = False  # the per-run units come from table 3
    item_bytes: int | None = None  # the account item measured (table 3)

    @property
    def runs_per_hour(self) -> float:
        if self.runs_measured:
            return self.runs_measured
        return backoff_runs_per_hour(self.poll_seconds, self.max_poll_seconds,
                                     self.change_every_s)  # fmt: skip

    def per_hour(self, memory: int) -> dict[str, float]:
        p = PRICES
        runs = self.runs_per_hour
        wall = scale(self.wall_s * 1000, self.cpu_s * 1000, memory).scaled
        wall += self.discord_wait_s * 1000
        return {
            "invocations": runs,
            "lambda": runs * (p["lambda_per_million"] / 1e6
                              + gb_seconds(wall, memory) * p["lambda_gb_s_arm64"]),
            "sqs": runs * self.sqs_requests * p["sqs_per_million"] / 1e6,
            "dynamodb": runs * (self.rru * p["ddb_rru_per_million"]
                                + self.wru * p["ddb_wru_per_million"]) / 1e6,
        }  # fmt: skip

    def per_task(self, memory: int) -> float:
        """The busy account-hour shared by the tasks it finishes."""
        hour = self.per_hour(memory)
        return sum(v for k, v in hour.items() if k != "invocations") / self.tasks_per_hour

    def with_run(self, run: dict[str, float], item_bytes: int | None = None) -> Poller:
        """These per-run units instead: a quiet run of table 3 (api_calls.MidjourneyAccount)."""
        return replace(self, rru=run["rru"], wru=run["wru"],
                       sqs_requests=run["sqs_send_requests"] + 2 * run["esm_messages"],
                       cpu_s=run["cpu_s"], wall_s=run["wall_s"], measured=True,
                       item_bytes=item_bytes)  # fmt: skip


def busy_poller(calls: dict[str, Any] | None = None, core: int = 3) -> Poller:
    """The busy account's poller, with its runs per hour as bench/midjourney_sim.py measured
    them when a run there used the defaults (poll 3 s, back-off to 6 s) with `core` jobs at once
    (coreSize) at a Midjourney-like pace (progress steps >= 5 s apart; its 1 s default steps
    change something at every read). Else modelled: 3 jobs, or one, each ~7 s between edits.
    Each run's units from table 3 (`calls`, its midjourney lifecycle's quiet runs at the
    account item's steady size) when it has them."""
    rows = common.read_result("midjourney_sim") or []

    def measured(ceilings: tuple[float | None, ...]) -> float | None:
        fits = [r for r in rows if r.get("reads_per_busy_hour") and r.get("poll_seconds") == 3.0
                and r.get("max_poll_seconds") in ceilings and r.get("core_size") == core
                and (r.get("step_seconds") or 0) >= 5]  # fmt: skip
        return float(fits[-1]["reads_per_busy_hour"]) if fits else None

    # The same run with --max-poll 3 is the baseline without back-off, when there is one.
    poller = Poller(change_every_s=7.0 / core, runs_measured=measured((None, 6.0)),
                    runs_fixed_measured=measured((3.0,)))  # fmt: skip
    op = ((calls or {}).get("operations") or {}).get(LIFECYCLE_MIDJOURNEY)
    if op and op.get("poller_run"):
        poller = poller.with_run(op["poller_run"], op.get("account_item_bytes"))
    return poller


# The midjourney rows before the account item lost its retired keys and command index (bench/
# api_calls.py + bench/cost_model.py at 0fc4be2; the saving of the "done" lever row).
MJ_ITEM_BEFORE: dict[str, Any] = {
    "commit": "0fc4be2",
    "retired_keys": 300,
    "item_bytes": 9077,
    "run_rru": 6.0,
    "run_wru": 10.0,
    "saved_per_1000": {"relay": 0.1461 - 0.0862, "web UI": 0.2221 - 0.1606, "bot": 0.1779 - 0.1179},
    "saved_per_hour": 0.0122 - 0.0052,
}


def fresh_account_calls(calls: dict[str, Any]) -> dict[str, Any] | None:
    """Table 3 with its midjourney lifecycle as on a fresh account (its warm-up: the account
    item ~1.3 KB, its retired-key list nearly empty, instead of ~9 KB at the cap), for the
    lever that would keep the item that small; None when table 3 lacks it. The durations stay
    the steady ones'."""
    op = calls["operations"].get(LIFECYCLE_MIDJOURNEY)
    fresh = (op or {}).get("fresh_account")
    if not op or not fresh:
        return None
    units = ("rru", "wru", "wru_gsi", "sqs_send_requests", "esm_messages")
    small = {**op, **{k: fresh[k] for k in units}, "poller_runs": fresh["poller_runs"],
             "poller_run": op["poller_run_fresh_account"],
             "account_item_bytes": op["account_item_bytes_fresh"]}  # fmt: skip
    return {**calls, "operations": {**calls["operations"], LIFECYCLE_MIDJOURNEY: small}}


def poller_source(poller: Poller) -> str:
    if poller.runs_measured:
        runs = "runs measured by bench/midjourney_sim.py (one channel read a run)"
    else:
        runs = (f"runs modelled: DiscordPollSeconds {poller.poll_seconds:g}, back-off up to "
                f"{poller.max_poll_seconds:g} s, something new every "
                f"{poller.change_every_s:.1f} s (assumed; measured by bench/midjourney_sim.py "
                "--step 7 --max-poll 3 6, with --tasks 2 --core 1 for one job at a time)")  # fmt: skip
    if poller.measured:
        units = (
            f"each run {poller.rru:.3g} RRU + {poller.wru:.3g} WRU on the instances table "
            f"(the account item {poller.item_bytes or 0:,} bytes) + {poller.sqs_requests:g} SQS "
            "requests, "
            "measured in table 3 (a quiet run of the midjourney lifecycle)"
        )
    else:
        units = (
            f"each run {poller.rru:g} RRU, {poller.wru:g} WRU, {poller.sqs_requests:g} SQS "
            "requests (assumed: table 3 has no midjourney lifecycle)"
        )
    return f"{runs}; {units}"


def tables(
    inputs: dict[str, Any], d: dict[str, Any], a: Assumptions, template: Any
) -> tuple[list[common.Table], dict[str, Any]]:
    grid = grid_cpu_seconds()
    mem = {f.name: common.memory_mb(template, f.name) for f in template.functions()}
    poller = busy_poller(inputs["calls"])
    poller_mem = mem.get("DiscordPollerFunction", 1024)
    poller_hour = poller.per_hour(poller_mem)
    poller_hour_total = sum(v for k, v in poller_hour.items() if k != "invocations")
    shapes = common.Table(
        f"Overhead per 1,000 imagines by traffic shape, provider and API front door (USD, "
        f"target <= ${TARGET:.2f})",
        ["Traffic shape", "Provider", "Worker MB (template)", "Billed API requests per task",
         *[x.label for x in APIS], "Best", "Floor on this stack", "Worker at 2048 MB (REST)",
         "of which waiting"],
    )  # fmt: skip
    data: list[dict[str, Any]] = []
    for shape in SHAPES:
        for prov in PROVIDERS:
            worker_mb = common.memory_mb(template, "WorkerFunction", prov.name)
            wait_mb = (
                common.memory_mb(template, "WaitWorkerFunction", prov.name)
                if template.condition("UseWaitWorker", {"Provider": prov.name})
                else None
            )
            # midjourney: the busy account-hour shared by its tasks; the rest of each run is
            # in the task's own lifecycle (midjourney_task_part): every unit counted once.
            busy = poller if prov.name == "midjourney" else None
            per_poller = poller.per_task(poller_mem) if busy else 0.0
            costs = {api.label: overhead(shape, prov, api, inputs, d, mem, worker_mb, grid, a,
                                         per_poller, wait_mb, busy) for api in APIS}  # fmt: skip
            no_wait = overhead(shape, prov, TEMPLATE_API, inputs, d, mem, worker_mb, grid, a,
                               per_poller, poller=busy)  # fmt: skip
            old = overhead(shape, prov, REST_API, inputs, d, mem, 2048, grid, a, per_poller,
                           poller=busy)  # fmt: skip
            small_item = None
            small_calls = fresh_account_calls(inputs["calls"]) if busy else None
            if small_calls:  # the lever: the account item kept at a fresh account's size
                small_poller = busy_poller(small_calls)
                small_item = 1000 * total(overhead(
                    shape, prov, TEMPLATE_API, {**inputs, "calls": small_calls}, d, mem,
                    worker_mb, grid, a, small_poller.per_task(poller_mem), wait_mb,
                    small_poller))  # fmt: skip
            totals = {k: 1000 * total(v) for k, v in costs.items()}
            best = min(totals, key=totals.get)
            tmpl = costs[TEMPLATE_API.label]
            shown = f"{worker_mb} + {wait_mb} waiting" if wait_mb else str(worker_mb)
            least = 1000 * floor(prov, inputs, a, tmpl)
            shapes.add(shape.label, prov.name, shown, f"{tmpl['_billed_requests']:.2f}",
                       *[money(totals[x.label]) for x in APIS],
                       f"{money(totals[best])} {'met' if totals[best] <= TARGET else 'NOT met'}",
                       money(least), money(1000 * total(old)),
                       money(1000 * old["worker_wait"]))  # fmt: skip
            data.append({"shape": shape.label, "provider": prov.name, "worker_mb": worker_mb,
                         "wait_worker_mb": wait_mb, "per_1000": totals,
                         "per_1000_without_wait_worker": 1000 * total(no_wait), "per_1000_worker_2048_rest": 1000 * total(old),
                         "per_1000_small_account_item": small_item, "floor_per_1000": least,
                         "floor_wait_per_1000": 1000 * floor_wait(prov),
                         "components": {k: 1000 * v for k, v in tmpl.items()}})  # fmt: skip
    met = [r for r in data if min(r["per_1000"].values()) <= TARGET]
    mj_op = inputs["calls"]["operations"].get(LIFECYCLE_MIDJOURNEY)
    parts = {(r["provider"], r["shape"]): r["components"] for r in data}
    some = parts[("local", SHAPES[2].label)]
    beyond = [r for r in data if r["floor_per_1000"] > TARGET]
    shapes.notes += [
        f"Target <= ${TARGET:.2f} per 1,000 met (best front door) in {len(met)} of {len(data)} "
        f"rows: {', '.join(sorted({r['provider'] + ' / ' + r['shape'].split(':')[0] for r in met})) or 'none'}.",
        "Floor on this stack: what any design on API Gateway (HTTP API) + Lambda + DynamoDB + "
        "S3 pays for the row's traffic: each billed request and the invocation answering it "
        "(preflights and image views aside: presigned S3 URLs serve those), one worker "
        "invocation, one task write, an eventually consistent read per poll, the result's "
        "PUT, storage and S3 GETs, and the provider's wait at "
        f"Lambda's smallest memory ({LAMBDA_MIN_MB} MB); no CPU, queue, log or preview. "
        f"Above the target in {len(beyond)} of {len(data)} rows"
        + (" (" + "; ".join(
            f"{r['provider']} / {r['shape'].split(':')[0]}: "
            + (f"its blocking call's wait alone {money(r['floor_wait_per_1000'])}"
               if r["floor_wait_per_1000"] > r["floor_per_1000"] / 2
               else f"{r['components']['_billed_requests'] / 1000:.0f} billed requests per task")
            for r in beyond) + "): there no design on this stack with OpenAI's blocking Images "
            "API reaches it; its only call that does not block, the Responses API's background "
            "mode, would move the wait into OpenAI's bill and more (see the levers)."
           if beyond else ".")  # fmt: skip
        + " Elsewhere the gap between the table and the floor is this design's: worker steps, "
        "SQS messages, logs, previews, the quadrants opened.",
        f"Components of one row (bot, local, {TEMPLATE_API.label}), per 1,000: "
        + ", ".join(f"{k} {money(v)}" for k, v in some.items() if not k.startswith("_"))
        + ". S3 is mostly PUTs at $0.005 per 1,000 each: the grid (+ the previews stored for "
        f"local{'' if MJ_PREVIEWS == 'link' else ' and midjourney'}, at most one per "
        f"{PREVIEW_MIN_SECONDS:g} s; midjourney's are linked unless MJ_MIDJOURNEY_PREVIEWS=store); the 4 quadrants only for clients that open them (the web UI shape: "
        "cropped from one decode of the grid on the first opened, + HeadObject + GetObject).",
        f"Image views: {a.downloads} view of imageUrl per task (--downloads) + the 4 quadrants "
        "in the web UI shape (Dooy shows the split images), each a billed request to the "
        "stable link function (ImageUrlMode=stable, the template default; 302 to S3), its "
        "invocation (duration as fetch's, at its own memory) and an S3 GET.",
        "Per task: the submit, the polls (ceil(task seconds / poll seconds); a relay's "
        "list-by-condition call is shared by the tasks in flight, each id adding its read and "
        "CPU), the worker lifecycle measured in table 3: the local provider's (6 steps, 4 "
        "progress writes) for local, the bedrock provider's (2 steps: plan, "
        "generate; InvokeModel faked) for bedrock and openai (the same step provider), "
        + (
            "the midjourney provider's against the Discord simulator (one worker step, the "
            "poller's runs; split as the last note says) for midjourney, "
            if mj_op
            else "the local provider's for midjourney (table 3 predates its own), "
        )
        + "the "
        "provider's wait billed at the memory of the function that runs the step (the waiting worker's where the stack has one), cold starts on "
        f"{a.cold_share:.0%} of invocations, S3 storage of the local provider's "
        f"{inputs['calls']['operations'][LIFECYCLE]['s3_bytes_stored'] / 1024:.0f} KB for "
        f"{a.retention_days:g} days.",
        f"Grid work (Bedrock, OpenAI: 4 images -> grid; the 4 quadrants are cropped only when "
        f"opened), measured in this run: compose {grid['compose_s'] * 1000:.0f} ms (+ split "
        f"{grid['split_s'] * 1000:.0f} ms where opened) of CPU on one core, billed at the "
        f"worker's CPU share (below 1,769 MB the same GB-s at "
        f"any memory). Real images are larger than the local provider's: a grid + quadrants of "
        f"{(grid['grid_bytes'] + grid['quadrant_bytes']) / 1024**2:.1f} MB add "
        f"{money((grid['grid_bytes'] + grid['quadrant_bytes']) / 1024**3 * PRICES['s3_storage_gb_month'] * a.retention_days / 30.4375 * 1000)} "
        f"per 1,000 tasks of S3 storage at {a.retention_days:g} days' retention (not in the "
        "table; TaskTtlDays scales it).",
        "Providers: "
        + "; ".join(
            f"{x.name}: task {x.task_seconds:g} s, worker waits {x.wait_seconds:g} s ({x.note})"
            for x in PROVIDERS
        )
        + ".",
        "Worker MB: the template's WorkerMemorySize=0 (512 for every provider; "
        "bench/results/worker_memory.md: peak RSS ~263 MB for a 4K upscale); + N waiting: "
        "bedrock and openai stacks have the waiting worker (WaitWorkerMemorySize, template "
        "UseWaitWorker), which runs the generate step (its CPU, the provider's wait and the grid "
        "work; a grid step peaks at ~120 MB) while the plan stays on the worker; the last two "
        "columns are the previous fixed 2048 MB with the REST API, and the part of it that "
        "is only waiting.",
        "Preflights: browsers send one OPTIONS per URL and cache it for CorsMaxAgeSeconds "
        "(600 s): the submit URL once (counted per task to stay conservative) and each task's "
        "fetch URL once; without Access-Control-Max-Age every poll had its own preflight "
        "(14 more billed requests per task at 3 s). REST and HTTP APIs bill OPTIONS like any "
        "request; Lambda function URLs answer them from their CORS configuration.",
        "Front doors (the template's first; the others are the options compared): "
        + " | ".join(f"{x.label} (${x.per_million:g}/million): {x.features}" for x in APIS)
        + ".",
        f"midjourney rows include a share of the busy account's poller: "
        f"{money(poller_hour_total)} per account-hour ({poller.runs_per_hour:.0f} runs: "
        f"{poller_source(poller)}) / {poller.tasks_per_hour:g} tasks per hour."
        + (
            f" Table 3's midjourney lifecycle (one imagine alone on its account) has "
            f"{mj_op['poller_runs']} poller runs; each serves every running task of the account "
            "and how many an hour takes depends on how often something changes (alone it backs "
            "off between Midjourney's edits, busy it does not), so the runs are priced per busy "
            "account-hour (runs measured by bench/midjourney_sim.py, each at a quiet run's "
            "measured units) and taken out of the task's lifecycle; the task keeps its own "
            "reads in every run (at the busy account's pace), its writes, the slot and lease "
            "writes on the account item, the grid's PUT. Each unit counted once. The account "
            f"item is {mj_op['account_item_bytes']:,} bytes (every write to it costs "
            f"{math.ceil(mj_op['account_item_bytes'] / 1024)} WRU); the retired job keys, at "
            f"their cap, {mj_op.get('retired_item_bytes', 0):,} bytes on an item of their own "
            "(see the levers)."
            if mj_op
            else ""
        ),
    ]

    levers_table = levers(data, grid, a, mem, inputs)

    # ---- growth -------------------------------------------------------------------------------
    growth = common.Table(
        "How cost and latency grow (per unit, at Lambda's CPU share)",
        ["Unit", "Cost", "Latency / CPU", "Measured by"],
    )
    fixed, per_id = list_call(inputs["warm"], mem["TaskListByConditionFunction"])
    per_id_cost = (per_id.scaled / 1000 * mem["TaskListByConditionFunction"] / 1024
                   * PRICES["lambda_gb_s_arm64"]
                   + 0.5 * PRICES["ddb_rru_per_million"] / 1e6)  # fmt: skip
    growth.add("one more id in a list-by-condition call",
               f"{money(per_id_cost * 1e6)} per million ids (0.5 RRU + CPU)",
               f"+{per_id.measured - AWS_WAIT_MS_PER_ID:.3f} ms CPU here, {per_id.scaled:.3f} ms "
               f"at {mem['TaskListByConditionFunction']} MB (incl. {AWS_WAIT_MS_PER_ID} ms of "
               f"DynamoDB's answer); call base {fixed.measured:.1f} ms",
               "table 2 (100 vs 1,000 ids), table 3 (RRU)")  # fmt: skip
    item = inputs["calls"]["task_item_bytes"] + 100
    per_task_month = ((item + index_copy_bytes(inputs, item)) * PRICES["ddb_storage_gb_month"]
                      + item * PRICES["ddb_pitr_gb_month"]) / 1024**3  # fmt: skip
    growth.add("one more task kept in the table",
               f"{money(per_task_month * 1e6)} per million tasks per month (item + "
               "its all-by-submit entry (its keys with KEYS_ONLY) + PITR); 0 per request",
               "0: fetch/list-by-condition read by key; task/list reads one page of the "
               "all-by-submit index (Limit = pageSize), queue the active index (running tasks "
               "only)", "table 3 (item size); the store's queries")  # fmt: skip
    growth.add("one busy Discord account-hour",
               f"{money(poller_hour_total)} ({poller_hour['invocations']:.0f} poller runs at "
               f"{poller_mem} MB)",
               f"each run waits ~{poller.discord_wait_s * 1000:.0f} ms on Discord (assumed)",
               f"{poller_source(poller)}; poller memory (template.yaml)")  # fmt: skip
    growth.notes += [
        "Per-id growth is linear: one BatchGetItem per 100 ids, 5 signatures per finished task "
        "(mjproxy.sigv4, ~10 us each). A relay with 100 tasks in flight polling every 15 s "
        f"spends {money(100 * 4 * 60 * 24 * 30 * per_id_cost)} per month on ids alone.",
        "A busy account-hour at 512 MB (the poller's size before its RSS was measured) "
        f"instead of {poller_mem} MB: "
        f"{money(sum(v for k, v in poller.per_hour(512).items() if k != 'invocations'))}.",
    ]
    return [shapes, levers_table, growth], {"traffic_shapes": data, "grid_cpu": grid,
                              "poller_per_account_hour": poller_hour_total}  # fmt: skip


def levers(
    rows: list[dict[str, Any]],
    grid: dict[str, float],
    a: Assumptions,
    mem: dict[str, int],
    inputs: dict[str, Any],
) -> common.Table:
    """What each lever saves per 1,000 imagines (rows of the shapes table), what it costs."""
    p = PRICES
    row = {(r["provider"], r["shape"].split(":")[0]): r for r in rows}
    rest, http = REST_API.label, TEMPLATE_API.label
    t = common.Table(
        "Levers: what each saves per 1,000 imagines and what it costs (USD)",
        ["Lever", "Saves per 1,000", "Costs / trade-off", "Status"],
    )
    saved = {n: row[(n, "relay")]["per_1000_worker_2048_rest"] - row[(n, "relay")]["per_1000"][rest]
             for n in ("local", "bedrock", "openai", "midjourney")}  # fmt: skip
    t.add("worker memory 512 MB for every provider (was 2048; bedrock/openai first)",
          ", ".join(f"{n} {money(v)}" for n, v in saved.items()) + " (relay)",
          "CPU-bound work runs at 0.29 vCPU: grid work +"
          f"{(grid['compose_s'] + grid['split_s']) * (1769 / 512 - 1):.1f} s per grid task, a "
          "4K upscale ~5 s; peak RSS 263 MB fits (bench/worker_memory.py)",
          "done (template.yaml; Discord poller and events 1024 -> 512 -> 256 MB: their "
          "peak RSS, bench/results/worker_memory.md)")  # fmt: skip
    waited = {n: row[(n, "relay")]["per_1000_without_wait_worker"] - row[(n, "relay")]["per_1000"][http]
              for n in ("bedrock", "openai")}  # fmt: skip
    wait_mb = row[("bedrock", "relay")]["wait_worker_mb"] or 0
    worker_mb = row[("bedrock", "relay")]["worker_mb"]
    t.add(f"waiting worker: bedrock/openai grid steps (imagine, V1-V4, reroll) on "
          f"WaitWorkerFunction at {wait_mb} MB instead of the {worker_mb} MB worker",
          ", ".join(f"{n} {money(v)}" for n, v in waited.items()) + " (relay)",
          f"the grid work runs at {wait_mb / 1769:.2f} vCPU: +"
          f"{grid['compose_s'] * 1769 * (1 / max(wait_mb, 1) - 1 / worker_mb):.1f} s per grid "
          "task; one more queue polled when idle (only on bedrock/openai stacks); upscales, "
          "edits, describes and imagines of the client's images stay on the worker (large "
          "images); peak RSS of a grid step ~120 MB (bench/worker_memory.py)",
          "done (template.yaml WaitWorkerFunction, mjproxy/jobs.py lanes)")  # fmt: skip
    polls = math.ceil(40 / 3)
    t.add("CORS Access-Control-Max-Age (web UI)",
          f"{money(polls * p['apigw_rest_per_million'] / 1e6 * 1000)} (REST, {polls} preflights "
          "per task at a 3 s poll)",
          "none (a changed CORS rule reaches browsers after Max-Age)",
          "done (deploy: CorsMaxAgeSeconds=600; the functions' own OPTIONS answer agrees)")  # fmt: skip
    lw = row[("local", "web UI")]
    t.add("HTTP API instead of the REST API",
          f"{money(lw['per_1000'][rest] - lw['per_1000'][http])} (web UI), "
          f"{money(row[('local', 'relay')]['per_1000'][rest] - row[('local', 'relay')]['per_1000'][http])} (relay)",
          TEMPLATE_API.features, "done (template.yaml MjApi; docs/deploy.md)")  # fmt: skip
    t.add("Lambda function URLs", "as HTTP API once CloudFront gives one base URL "
          "($1/million); without it $0 per request but 18 host names",
          APIS[2].features, "modelled")  # fmt: skip
    saved_cpu = grid["encode_level6_s"] - grid["encode_level3_s"]
    t.add("grid PNG at compression level 3 (was Pillow's 6)",
          f"{money(saved_cpu * 1769 / 1024 * p['lambda_gb_s_arm64'] * 1000)} (bedrock/openai), "
          f"{saved_cpu * 1000:.0f} ms CPU per grid measured here",
          "a few percent more bytes on some images (smaller on these)", "done")  # fmt: skip
    quad_bytes = (
        grid["quadrant_bytes"] / 1024**3 * p["s3_storage_gb_month"] * a.retention_days / 30.4375
    )
    lw_ = row[("local", "web UI")]["components"]
    t.add("store quadrants only when read (stable links: the link function crops all four from "
          "the grid on the first opened one; an upscale crops its quadrant without storing)",
          f"{money(4 * p['s3_put_per_thousand'])} of PUTs + {money(quad_bytes * 1000)} of "
          "storage (real-size images) for every task whose quadrants nobody opens (relay, bot)",
          "a task whose quadrants are opened (web UI shape) pays HeadObject + GetObject + the "
          f"crop ({grid['split_s'] * 1000:.0f} ms CPU here) on top of the same 4 PUTs: "
          f"web UI local S3 {money(lw_['s3'])}; presigned mode (ImageUrlMode=presigned) "
          "stores them at finish as before",
          "done (images.quadrants_on_read)")  # fmt: skip
    # What storing costs (PUTs at every preview, then at the throttle), whether or not stored.
    every = {x.name: (x.stored_previews(0), x.stored_previews(PREVIEW_MIN_SECONDS))
             for x in PROVIDERS if x.previews_sent}  # fmt: skip
    t.add(f"previews stored at most every {PREVIEW_MIN_SECONDS:g} s (MJ_PREVIEW_MIN_SECONDS; "
          "midjourney with MJ_MIDJOURNEY_PREVIEWS=store: not downloaded either)",
          ", ".join(f"{n} {money((a0 - b0) * p['s3_put_per_thousand'])} ({a0} -> {b0} PUTs)"
                    for n, (a0, b0) in every.items()),
          "a web UI polling every 2-5 s sees the preview refreshed every 10 s instead of at "
          "every step; a relay (15 s) sees no difference; 0 stores every preview",
          "done (images.preview_due)")  # fmt: skip
    mj_stored = every["midjourney"][1]
    t.add("midjourney previews linked, not stored (MJ_MIDJOURNEY_PREVIEWS=link, the default: "
          "imageUrl while running is Discord's CDN URL of the latest preview, as trueai's)",
          f"{money(mj_stored * p['s3_put_per_thousand'])} ({mj_stored} -> 0 PUTs) + the "
          f"{mj_stored} preview downloads and WebP -> PNG conversions in the poller (not priced)",
          "the in-progress imageUrl is on Discord's host (signed, expires after ~24 h; the "
          "finished image is ours as before) and changes at every preview; store keeps S3 copies",
          "done (poller.py, wire.py)" if MJ_PREVIEWS == "link"
          else "done, off in this run (MJ_MIDJOURNEY_PREVIEWS=store)")  # fmt: skip
    t.add("no stored previews (local)",
          f"local {money(every['local'][1] * p['s3_put_per_thousand'])} more",
          "clients lose the in-progress image", "not done (clients.md §C.1/C.2 show it)")  # fmt: skip
    life = inputs["calls"]["operations"][LIFECYCLE]
    all_gsi = life.get("wru_gsi_all", life["wru_gsi"])
    t.add("KEYS_ONLY task indexes (was ALL; template TaskIndexProjection)",
          f"{money((all_gsi - life['wru_gsi']) * p['ddb_wru_per_million'] / 1e6 * 1000)} "
          f"(index writes per imagine {all_gsi:g} WRU -> {life['wru_gsi']:g}, measured in "
          "table 3: progress writes change no index key) + the indexes' copy of every item",
          "task/list, the queue and the sweeper read each page's tasks by key (+0.5 RRU per "
          "task listed, one BatchGetItem per page); a stack created before keeps ALL (an "
          "index's projection cannot change in place)",
          "done (store/tasks.py _hydrate)")  # fmt: skip
    pm = mem.get("DiscordPollerFunction", 512)
    poller = busy_poller(inputs["calls"])

    def hour(x: Poller) -> float:
        return sum(v for k, v in x.per_hour(pm).items() if k != "invocations")

    def without_backoff(x: Poller) -> Poller:
        measured = x.runs_fixed_measured if x.runs_measured else None  # like with like
        return replace(x, max_poll_seconds=x.poll_seconds, runs_measured=measured)

    fixed = without_backoff(poller)
    alone = busy_poller(inputs["calls"], core=1)  # one job at a time
    alone_fixed = without_backoff(alone)
    t.add(f"Discord poller: back off to {poller.max_poll_seconds:g} s while a run finds nothing "
          f"new ({poller.poll_seconds:g} s otherwise)",
          f"busy account (3 jobs): "
          f"{money(max(0.0, hour(fixed) - hour(poller)) / poller.tasks_per_hour * 1000)} "
          f"({fixed.runs_per_hour:.0f} -> {poller.runs_per_hour:.0f} runs per hour, "
          f"{poller_source(poller)}); one job at a time: "
          f"{money(max(0.0, hour(alone_fixed) - hour(alone)))} per account-hour "
          f"({alone_fixed.runs_per_hour:.0f} -> {alone.runs_per_hour:.0f} runs, "
          f"{poller_source(alone)})",
          f"progress and results seen up to {poller.max_poll_seconds - poller.poll_seconds:g} s "
          "later while Midjourney is quiet; a job sent meanwhile wakes the chain (one more SQS "
          "message and one run that stops at once); DiscordPollMaxSeconds = DiscordPollSeconds "
          "turns it off",
          "done (poller.next_delay)")  # fmt: skip
    # Done: measured before and after it, as the lever row said it would be modelled (the
    # steady account item then carried the retired keys; nothing in this run can measure that).
    before = MJ_ITEM_BEFORE
    t.add("midjourney account item kept at a fresh account's size (the poller's "
          f"{before['retired_keys']} retired job keys and the command index on items of their "
          "own: state.py)",
          ", ".join(f"{k} {money(v)}" for k, v in before["saved_per_1000"].items())
          + f"; {money(before['saved_per_hour'])} per busy account-hour (each quiet run "
          f"{before['run_rru']:g} -> {poller.rru:.3g} RRU, {before['run_wru']:g} -> "
          f"{poller.wru:.3g} WRU; the account item {before['item_bytes']:,} -> "
          f"{poller.item_bytes or 0:,} bytes)",
          "the retired keys (~8 KB) are read by a run with a message to match (2 RRU) and "
          "written when a task ends (~8 WRU); two more items per account; measured with "
          f"bench/api_calls.py + bench/cost_model.py before ({before['commit']}) and after",
          "done (state.py, poller.py)")  # fmt: skip
    # OpenAI's background mode exists only in the Responses API, where the image_generation
    # tool makes one image per call and a mainline model writes each call: 4 calls per grid,
    # each billing that model's tokens (openai-python types/responses/tool.py ImageGeneration:
    # no `n`). Tokens per call are assumed: the instructions, the tool's definition and the
    # prompt in, the tool call's prompt out.
    openai_wait = row[("openai", "relay")]["components"]["worker_wait"]
    m = RESPONSES_MAINLINE
    tokens = 4 * (m["input_tokens"] * m["input_per_million"]
                  + m["output_tokens"] * m["output_per_million"]) / 1e6 * 1000  # fmt: skip
    checks = 3 * (3 * p["sqs_per_million"] + p["lambda_per_million"]
                  + p["ddb_wru_per_million"] + 0.5 * p["ddb_rru_per_million"]) / 1e6 * 1000  # fmt: skip
    t.add("OpenAI without a blocking wait (Responses API background requests, checked by "
          "delayed SQS jobs)",
          f"{money(openai_wait)} (the waiting worker's 40 s at {wait_mb} MB, relay)",
          f"{money(tokens + checks)} more: 4 image_generation calls (one image each) bill "
          f"{m['model']}'s tokens, ~{m['input_tokens']} in + ~{m['output_tokens']} out per call "
          f"(assumed; {m['prices_as_of']}) = {money(tokens)}, + 3 delayed checks (SQS, "
          f"invocation, task read and write) = {money(checks)}; and the prompt reaches the "
          "image model through the mainline model's tool call",
          "rejected: it costs more than the wait it saves")  # fmt: skip
    t.add("lazy imports + mjproxy.sigv4 (no S3 client, cached signing key)",
          "latency, not dollars: see tables 1 and 2",
          "none; URLs byte-identical to botocore's (tests/unit/test_sigv4.py)", "done")  # fmt: skip
    t.notes.append(
        "Savings are read off the shapes table above (same run) or computed from the same "
        "prices; 'done' levers are in the current numbers, 'modelled' ones are not."
    )
    return t

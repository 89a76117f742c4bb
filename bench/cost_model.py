"""(5) Cost model: dollars per 1,000 imagine tasks (the image generator itself excluded) and the
break-even against an always-on small VM running a conventional proxy.

Inputs, all from this repository's own measurements:
- counts per operation from bench/results/3_api_calls.json (api_calls.py runs first if missing):
  API calls, DynamoDB request units, SQS requests, S3 requests and bytes, Lambda invocations and
  the worker's step durations (the local provider's own time subtracted);
- warm durations of submit and fetch from 2_warm_latency.json, cold starts from
  1_cold_start.json (when those files are missing the durations measured in api_calls.py are
  used and no cold starts are charged; the output says which);
- MemorySize per function from template.yaml;
- the prices and assumptions in PRICES / Assumptions below, printed with the result.

Durations are given two ways: as measured here (a full x86 core) and scaled to Lambda's CPU
share (1,769 MB = 1 vCPU, so 512 MB gets 0.29 of a core): CPU time x 1769/MB + the time spent
waiting on AWS. The second is the conservative one.

    .venv/bin/python bench/cost_model.py [--poll-seconds 3] [--task-seconds 40] ...
"""

from __future__ import annotations

import argparse
import math
import subprocess
from dataclasses import dataclass, replace
from typing import Any

import common

# AWS us-east-1 on-demand list prices (USD), as published after DynamoDB's November 2024
# on-demand price cut; the ones the task brief gives, plus DynamoDB storage, PITR, CloudWatch
# Logs ingestion and API Gateway HTTP APIs (the template's front door). Free tiers are ignored.
PRICES_AS_OF = "us-east-1 list prices as of 2024-11, not re-checked from this offline machine"
PRICES = {
    "apigw_rest_per_million": 3.50,
    "apigw_http_per_million": 1.00,
    "lambda_gb_s_arm64": 0.0000133334,
    "lambda_per_million": 0.20,
    "ddb_wru_per_million": 0.625,
    "ddb_rru_per_million": 0.125,
    "ddb_storage_gb_month": 0.25,
    "ddb_pitr_gb_month": 0.20,
    "sqs_per_million": 0.40,
    "s3_put_per_thousand": 0.005,
    "s3_get_per_thousand": 0.0004,
    "s3_storage_gb_month": 0.023,
    "logs_ingest_gb": 0.50,
    "t4g_small_hour": 0.0168,
    "gp3_gb_month": 0.08,
    "public_ipv4_hour": 0.005,
}
HOURS_PER_MONTH = 730
DAYS_PER_MONTH = 30.4375
GB = 1024**3

LIFECYCLE = "imagine lifecycle to SUCCESS (submit + worker)"
LIFECYCLE_NOTIFY = "imagine lifecycle with notifyHook (+ notifier)"
LIFECYCLE_BEDROCK = "imagine lifecycle, bedrock provider (InvokeModel faked)"  # api_calls.py
LIFECYCLE_MIDJOURNEY = "imagine lifecycle, midjourney provider (Discord simulator)"  # api_calls.py
FETCH = "fetch (finished task)"
SWEEP = "sweeper run (idle, every minute)"
WATCHDOG = "Discord poller watchdog (idle, every 2 minutes)"


@dataclass(frozen=True)
class Assumptions:
    task_seconds: float = 40.0  # from submit to SUCCESS, as a client sees it
    poll_seconds: float = 3.0  # a client polls fetch this often until the task ends
    downloads: int = 1  # presigned image downloads per task (S3 GET)
    callback_share: float = 0.0  # share of tasks submitted with a notifyHook
    cold_share: float = 0.02  # share of invocations that start cold (INIT is billed)
    image_mb: float | None = None  # bytes stored per task (None: what the local provider stored)
    retention_days: float = 30.0  # TaskTtlDays: items and images live this long
    log_kb_per_invocation: float = 0.4  # Lambda START/END/REPORT lines, app logs off
    esm_queues: int = 4  # queues read by an event source mapping (jobs, its DLQ, notify, poller)
    idle_receives_per_queue_minute: float = 15.0  # 5 long-polling pollers x 3 per minute
    apigw_per_million: float = PRICES["apigw_http_per_million"]  # HTTP API (template.yaml)

    @property
    def polls(self) -> int:
        return math.ceil(self.task_seconds / self.poll_seconds)


def index_copy_bytes(inputs: dict[str, Any], item: int) -> int:
    """Bytes the all-by-submit index keeps per finished task: the whole item (ALL) or its keys
    (KEYS_ONLY: id, gsiList, submitTime + DynamoDB's 100 bytes of index overhead)."""
    if inputs["calls"].get("index_projection", "ALL") == "KEYS_ONLY":
        return 140
    return item


# ---- inputs -----------------------------------------------------------------------------------
def load_inputs() -> dict[str, Any]:
    calls = common.read_result("3_api_calls")
    if calls is None:
        print("3_api_calls.json missing: running api_calls.py first", flush=True)
        subprocess.run([common.PYTHON, str(common.BENCH / "api_calls.py")], check=True)
        calls = common.read_result("3_api_calls")
    return {
        "calls": calls,
        "warm": common.read_result("2_warm_latency"),
        "cold": common.read_result("1_cold_start"),
    }


@dataclass
class Duration:
    """One invocation's billed time, as measured and scaled to Lambda's CPU share (ms)."""

    measured: float
    scaled: float


def scale(wall_ms: float, cpu_ms: float, memory: int) -> Duration:
    cpu_ms = min(cpu_ms, wall_ms)
    factor = max(1.0, common.LAMBDA_MB_PER_VCPU / memory)
    return Duration(wall_ms, cpu_ms * factor + (wall_ms - cpu_ms))


def durations(inputs: dict[str, Any], memory: dict[str, int]) -> tuple[dict[str, Any], list[str]]:
    """Per-invocation durations for submit, fetch, the worker steps, notifier and sweeper."""
    sources = []
    ops = inputs["calls"]["operations"]

    def from_calls(op: str, fn: str) -> list[Duration]:
        runs = ops[op]["durations"].get(fn, [])
        return [
            scale(
                (r["wall_s"] - r["provider_s"]) * 1000,
                (r["cpu_s"] - r["provider_s"]) * 1000,
                memory[fn],
            )
            for r in runs
        ]

    warm = inputs["warm"]
    if warm:
        w = warm["operations"]
        submit = scale(w["submit/imagine"]["p50_ms"], w["submit/imagine"]["cpu_p50_ms"],
                       memory["SubmitImagineFunction"])  # fmt: skip
        fetch = scale(w[FETCH]["p50_ms"], w[FETCH]["cpu_p50_ms"], memory["TaskFetchFunction"])
        sources.append(f"submit and fetch: warm p50 from table 2 ({warm['generated']})")
    else:
        submit = from_calls(LIFECYCLE, "SubmitImagineFunction")[0]
        fetch = from_calls(FETCH, "TaskFetchFunction")[0]
        sources.append("submit and fetch: single runs from table 3 (table 2 missing)")
    worker = from_calls(LIFECYCLE, "WorkerFunction")
    notifier = from_calls(LIFECYCLE_NOTIFY, "NotifierFunction")
    sweeper = from_calls(SWEEP, "SweeperFunction")
    watchdog = from_calls(WATCHDOG, "DiscordPollerFunction")
    sources.append(
        f"worker steps ({len(worker)}), notifier, sweeper: measured in table 3 "
        f"({inputs['calls']['generated']}), the local provider's own time subtracted"
    )
    cold = inputs["cold"]
    if cold:
        fns, others = cold["functions"], cold["other_functions"]
        init = {
            "SubmitImagineFunction": fns["SubmitImagineFunction"]["cold_ms"]
            - fns["SubmitImagineFunction"]["request_ms"],
            "TaskFetchFunction": fns["TaskFetchFunction"]["cold_ms"]
            - fns["TaskFetchFunction"]["request_ms"],
            "WorkerFunction": others["WorkerFunction"]["cold_ms"],
            "NotifierFunction": others["NotifierFunction"]["cold_ms"],
        }
        sources.append(f"cold inits (interpreter + import): table 1 ({cold['generated']})")
    else:
        init = {}
        sources.append("cold inits: none charged (table 1 missing)")
    return {
        "submit": submit,
        "fetch": fetch,
        "worker": worker,
        "notifier": notifier,
        "sweeper": sweeper,
        "watchdog": watchdog,
        # INIT is CPU-bound import work: scaled like CPU time.
        "init": {fn: scale(ms, ms, memory[fn]) for fn, ms in init.items()},
    }, sources


# ---- the model ------------------------------------------------------------------------------
def gb_seconds(ms: float, memory: int) -> float:
    return math.ceil(ms) / 1000 * memory / 1024


def per_task(
    a: Assumptions, inputs: dict[str, Any], d: dict[str, Any], mem: dict[str, int], scaled: bool
) -> dict[str, float]:
    """Dollars per imagine task by component."""
    p = PRICES
    ops = inputs["calls"]["operations"]
    life, fetch = ops[LIFECYCLE], ops[FETCH]
    notify = ops[LIFECYCLE_NOTIFY]

    def ms(x: Duration) -> float:
        return x.scaled if scaled else x.measured

    def extra(key: str) -> float:  # what a notifyHook adds per task
        return (notify[key] - life[key]) * a.callback_share

    polls = a.polls
    # API Gateway: the submit and every poll
    apigw = (1 + polls) * a.apigw_per_million / 1e6
    # Lambda
    worker_steps = [ms(x) for x in d["worker"]]
    notifier_runs = [ms(x) for x in d["notifier"]] if a.callback_share else []
    invocations = 1 + polls + len(worker_steps) + len(notifier_runs) * a.callback_share
    gbs = gb_seconds(ms(d["submit"]), mem["SubmitImagineFunction"])
    gbs += polls * gb_seconds(ms(d["fetch"]), mem["TaskFetchFunction"])
    gbs += sum(gb_seconds(x, mem["WorkerFunction"]) for x in worker_steps)
    gbs += a.callback_share * sum(gb_seconds(x, mem["NotifierFunction"]) for x in notifier_runs)
    init = d["init"]
    if init:
        cold = gb_seconds(ms(init["SubmitImagineFunction"]), mem["SubmitImagineFunction"])
        cold += polls * gb_seconds(ms(init["TaskFetchFunction"]), mem["TaskFetchFunction"])
        cold += len(worker_steps) * gb_seconds(ms(init["WorkerFunction"]), mem["WorkerFunction"])
        cold += (a.callback_share * len(notifier_runs)
                 * gb_seconds(ms(init["NotifierFunction"]), mem["NotifierFunction"]))  # fmt: skip
        gbs += a.cold_share * cold
    lambda_requests = invocations * p["lambda_per_million"] / 1e6
    lambda_duration = gbs * p["lambda_gb_s_arm64"]
    # DynamoDB
    rru = life["rru"] + polls * fetch["rru"] + extra("rru")
    wru = life["wru"] + life["wru_gsi"] + extra("wru") + extra("wru_gsi")
    ddb_requests = rru * p["ddb_rru_per_million"] / 1e6 + wru * p["ddb_wru_per_million"] / 1e6
    months = a.retention_days / DAYS_PER_MONTH
    item = inputs["calls"]["task_item_bytes"] + 100  # +100 bytes of per-item overhead
    # The base table and the all-by-submit index hold a finished task.
    stored = item + index_copy_bytes(inputs, item)
    ddb_storage = (stored / GB * p["ddb_storage_gb_month"] + item / GB * p["ddb_pitr_gb_month"]) * months  # fmt: skip
    # SQS: sends + the event source mapping's receive and delete per delivered message
    sqs_req = life["sqs_send_requests"] + 2 * life["esm_messages"]
    sqs_req += extra("sqs_send_requests") + 2 * extra("esm_messages")
    sqs = sqs_req * p["sqs_per_million"] / 1e6
    # S3
    s3_requests = life["s3_put"] * p["s3_put_per_thousand"] / 1e3
    s3_requests += (life["s3_get"] + a.downloads) * p["s3_get_per_thousand"] / 1e3
    stored = a.image_mb * 1024**2 if a.image_mb is not None else life["s3_bytes_stored"]
    s3_storage = stored / GB * p["s3_storage_gb_month"] * months
    logs = invocations * a.log_kb_per_invocation * 1024 / GB * p["logs_ingest_gb"]
    return {
        "API Gateway (HTTP API) requests": apigw,
        "Lambda requests": lambda_requests,
        "Lambda duration (GB-s)": lambda_duration,
        "DynamoDB requests (RRU + WRU)": ddb_requests,
        "DynamoDB storage + PITR": ddb_storage,
        "SQS requests": sqs,
        "S3 requests": s3_requests,
        "S3 image storage": s3_storage,
        "CloudWatch Logs": logs,
        # for the notes
        "_invocations": invocations,
        "_gbs": gbs,
        "_rru": rru,
        "_wru": wru,
        "_sqs": sqs_req,
        "_stored_bytes": stored,
    }


def fixed_monthly(
    a: Assumptions, inputs: dict[str, Any], d: dict[str, Any], mem: dict[str, int], scaled: bool
) -> dict[str, float]:
    """What the stack costs per month with no traffic at all."""
    p = PRICES
    ops = inputs["calls"]["operations"]
    minutes = HOURS_PER_MONTH * 60

    def ms(x: Duration) -> float:
        return x.scaled if scaled else x.measured

    out = {}
    for label, op, fn, runs, durs in (
        ("sweeper (every minute)", SWEEP, "SweeperFunction", minutes, d["sweeper"]),
        ("Discord watchdog (every 2 min)", WATCHDOG, "DiscordPollerFunction", minutes / 2,
         d["watchdog"]),
    ):  # fmt: skip
        o = ops[op]
        run = p["lambda_per_million"] / 1e6
        run += (
            sum(gb_seconds(ms(x), mem[fn]) for x in durs)
            / max(1, len(durs))
            * p["lambda_gb_s_arm64"]
        )
        run += o["rru"] * p["ddb_rru_per_million"] / 1e6
        run += (o["wru"] + o["wru_gsi"]) * p["ddb_wru_per_million"] / 1e6
        out[label] = runs * run
    idle_receives = a.esm_queues * a.idle_receives_per_queue_minute * minutes
    out["SQS idle long polling (event source mappings)"] = (
        idle_receives * p["sqs_per_million"] / 1e6
    )
    return out


def vm_monthly(with_ipv4: bool) -> float:
    p = PRICES
    cost = p["t4g_small_hour"] * HOURS_PER_MONTH + 8 * p["gp3_gb_month"]
    return cost + (p["public_ipv4_hour"] * HOURS_PER_MONTH if with_ipv4 else 0.0)


def money(x: float) -> str:
    return f"${x:.4f}" if x < 1 else f"${x:,.2f}"


def price(x: float) -> str:
    return f"${x:.10f}".rstrip("0").rstrip(".")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    base = Assumptions()
    parser.add_argument("--task-seconds", type=float, default=base.task_seconds)
    parser.add_argument("--poll-seconds", type=float, default=base.poll_seconds)
    parser.add_argument("--downloads", type=int, default=base.downloads)
    parser.add_argument("--callback-share", type=float, default=base.callback_share)
    parser.add_argument("--cold-share", type=float, default=base.cold_share)
    parser.add_argument("--image-mb", type=float, default=None)
    args = parser.parse_args()
    a = replace(
        base,
        task_seconds=args.task_seconds,
        poll_seconds=args.poll_seconds,
        downloads=args.downloads,
        callback_share=args.callback_share,
        cold_share=args.cold_share,
        image_mb=args.image_mb,
    )

    from mjproxy.local.template import Template

    template = Template(common.TEMPLATE)
    mem = {f.name: common.memory_mb(template, f.name) for f in template.functions()}
    inputs = load_inputs()
    d, sources = durations(inputs, mem)

    # ---- table 1: per 1,000 tasks by component ---------------------------------------------
    measured = per_task(a, inputs, d, mem, scaled=False)
    scaled = per_task(a, inputs, d, mem, scaled=True)
    comp = common.Table(
        "Cost per 1,000 imagine tasks by component (USD, generator excluded)",
        ["Component", "Durations as measured", "Durations at Lambda's CPU share", "Share"],
    )
    total_m = sum(v for k, v in measured.items() if not k.startswith("_"))
    total_s = sum(v for k, v in scaled.items() if not k.startswith("_"))
    for k in measured:
        if k.startswith("_"):
            continue
        comp.add(k, money(1000 * measured[k]), money(1000 * scaled[k]),
                 f"{scaled[k] / total_s:.0%}")  # fmt: skip
    comp.add("Total per 1,000 tasks", money(1000 * total_m), money(1000 * total_s), "100%")
    life = inputs["calls"]["operations"][LIFECYCLE]
    comp.notes += [
        f"Per task: 1 submit + {a.polls} fetches (a poll every {a.poll_seconds:g} s for a "
        f"{a.task_seconds:g} s task) = {1 + a.polls} API Gateway requests; "
        f"{measured['_invocations']:.0f} Lambda invocations (submit, fetches, "
        f"{len(d['worker'])} worker steps); {measured['_gbs']:.3f} GB-s as measured, "
        f"{scaled['_gbs']:.3f} GB-s at Lambda's CPU share (incl. {a.cold_share:.0%} cold "
        f"starts); {measured['_rru']:g} RRU + {measured['_wru']:g} WRU; "
        f"{measured['_sqs']:g} SQS requests; {life['s3_put']} S3 PUT + "
        f"{life['s3_get'] + a.downloads} GET; {measured['_stored_bytes'] / 1024:.0f} KB stored "
        f"for {a.retention_days:g} days.",
        f"Memory from template.yaml: API functions {mem['TaskFetchFunction']} MB, worker "
        f"{mem['WorkerFunction']} MB. Billed duration rounds up to 1 ms; the INIT phase of a "
        f"cold start is billed too (AWS, since August 2025), charged on {a.cold_share:.0%} of "
        "invocations.",
        f"Duration sources: {'; '.join(sources)}.",
        "Not included: the image generator (Midjourney/Bedrock/OpenAI and the local "
        "provider's drawing time), data transfer out to clients ($0.09/GB, the same for any "
        "design that serves the images), and free tiers.",
    ]

    # ---- table 2: fixed monthly cost ---------------------------------------------------------
    fixed_m = fixed_monthly(a, inputs, d, mem, scaled=False)
    fixed_s = fixed_monthly(a, inputs, d, mem, scaled=True)
    fixed = common.Table(
        "Fixed monthly cost of the serverless stack with no traffic (USD)",
        ["Item", "Durations as measured", "At Lambda's CPU share"],
    )
    for k in fixed_m:
        fixed.add(k, money(fixed_m[k]), money(fixed_s[k]))
    fixed.add("Total", money(sum(fixed_m.values())), money(sum(fixed_s.values())))
    fixed.notes += [
        f"Idle SQS polling is an estimate: Lambda long-polls each of the {a.esm_queues} queues "
        f"with an event source mapping (jobs, jobs DLQ, notify, Discord poller) with ~5 "
        f"pollers, ~{a.idle_receives_per_queue_minute:g} ReceiveMessage per queue per minute "
        "when idle. A bedrock or openai stack also has the waiting worker's queue "
        f"(UseWaitWorker): +{money(fixed_m['SQS idle long polling (event source mappings)'] / a.esm_queues)}"
        " a month.",
        "The sweeper and the watchdog run on schedules whatever the traffic; their counts and "
        "durations are the idle runs of table 3.",
    ]

    # ---- table 3: scenarios and break-even ---------------------------------------------------
    vm = vm_monthly(False)
    vm_ip = vm_monthly(True)
    scen = common.Table(
        "Scenarios and break-even against an always-on VM (tasks per month before serverless "
        "costs more)",
        ["Scenario", "$ per 1,000 tasks (measured / CPU share)",
         f"Break-even vs t4g.small + 8 GB gp3 ({money(vm)}/mo)",
         f"vs + public IPv4 ({money(vm_ip)}/mo)"],
    )  # fmt: skip
    scenarios = [
        (f"base: poll every {a.poll_seconds:g} s", a),
        ("poll every 1 s", replace(a, poll_seconds=1.0)),
        ("poll every 10 s", replace(a, poll_seconds=10.0)),
        ("callbacks instead of polling (notifyHook, 1 final fetch)",
         replace(a, callback_share=1.0, poll_seconds=a.task_seconds)),
        ("6 MB grid + 4 x 1.5 MB quadrants stored (Midjourney-sized)", replace(a, image_mb=12.0)),
        ("every invocation cold (very low traffic)", replace(a, cold_share=1.0)),
        ("API Gateway REST API ($3.50/million, the front door before issue 17)",
         replace(a, apigw_per_million=PRICES["apigw_rest_per_million"])),
    ]  # fmt: skip
    data_scen = []
    for label, sa in scenarios:
        m = sum(v for k, v in per_task(sa, inputs, d, mem, False).items() if k[0] != "_")
        s = sum(v for k, v in per_task(sa, inputs, d, mem, True).items() if k[0] != "_")
        fixed_total = sum(fixed_monthly(sa, inputs, d, mem, True).values())

        def breakeven(vm_cost: float, per: float = s, fx: float = fixed_total) -> str:
            return f"{(vm_cost - fx) / per:,.0f}" if per > 0 else "n/a"

        scen.add(label, f"{money(1000 * m)} / {money(1000 * s)}", breakeven(vm),
                 breakeven(vm_ip))  # fmt: skip
        data_scen.append({"scenario": label, "per_1000_measured": 1000 * m,
                          "per_1000_cpu_share": 1000 * s,
                          "breakeven_tasks_per_month": (vm - fixed_total) / s,
                          "breakeven_with_ipv4": (vm_ip - fixed_total) / s})  # fmt: skip
    base_be = data_scen[0]["breakeven_tasks_per_month"]
    scen.notes += [
        "Break-even = (VM per month - the serverless stack's fixed monthly cost) / cost per "
        "task at Lambda's CPU share: below that many imagine tasks a month serverless is "
        f"cheaper. Base: about {base_be:,.0f} tasks/month ({base_be / DAYS_PER_MONTH:,.0f} a "
        "day).",
        f"VM: t4g.small on-demand ${PRICES['t4g_small_hour']}/h x {HOURS_PER_MONTH} h = "
        f"{money(PRICES['t4g_small_hour'] * HOURS_PER_MONTH)} + 8 GB gp3 "
        f"${8 * PRICES['gp3_gb_month']:.2f}; a public IPv4 address adds "
        f"${PRICES['public_ipv4_hour']}/h. It runs a conventional proxy (state in memory or a "
        "local Redis, images left on Discord's CDN): no database, no object storage, no high "
        "availability; one small VM also has a throughput ceiling, which the serverless side "
        "does not.",
        "The callbacks scenario adds per task one notify-queue message and a notifier "
        "invocation per state change (table 3) and keeps one fetch.",
    ]

    prices = common.Table(
        f"Prices used (USD, {PRICES_AS_OF})",
        ["Price", "Value"],
    )
    labels = {
        "apigw_rest_per_million": "API Gateway REST, per million requests (scenario)",
        "apigw_http_per_million": "API Gateway HTTP API, per million requests (template.yaml)",
        "lambda_gb_s_arm64": "Lambda arm64, per GB-s",
        "lambda_per_million": "Lambda, per million requests",
        "ddb_wru_per_million": "DynamoDB on-demand, per million write request units",
        "ddb_rru_per_million": "DynamoDB on-demand, per million read request units",
        "ddb_storage_gb_month": "DynamoDB standard storage, per GB-month",
        "ddb_pitr_gb_month": "DynamoDB point-in-time recovery, per GB-month",
        "sqs_per_million": "SQS standard, per million requests (64 KB chunks)",
        "s3_put_per_thousand": "S3 Standard PUT, per 1,000",
        "s3_get_per_thousand": "S3 Standard GET, per 1,000",
        "s3_storage_gb_month": "S3 Standard storage, per GB-month",
        "logs_ingest_gb": "CloudWatch Logs ingestion, per GB",
        "t4g_small_hour": "EC2 t4g.small on-demand, per hour",
        "gp3_gb_month": "EBS gp3, per GB-month",
        "public_ipv4_hour": "Public IPv4 address, per hour",
    }
    for k, v in PRICES.items():
        prices.add(labels[k], price(v))
    prices.notes.append(
        "Assumptions (command-line options): " + ", ".join(
            f"{k}={v}" for k, v in a.__dict__.items()) + f"; polls per task={a.polls}."
    )  # fmt: skip

    import traffic  # imports this module: loaded once this one is

    shape_tables, shape_data = traffic.tables(inputs, d, a, template)
    common.write_results(
        "5_cost_model",
        "5. Cost model: dollars per 1,000 imagine tasks and break-even",
        [comp, fixed, scen, *shape_tables, prices],
        {
            "assumptions": a.__dict__,
            "prices": PRICES,
            "prices_as_of": PRICES_AS_OF,
            "per_task_measured": measured,
            "per_task_cpu_share": scaled,
            "fixed_monthly_cpu_share": fixed_s,
            "scenarios": data_scen,
            "sources": sources,
            **shape_data,
        },
        common.run_script("cost_model.py"),
    )


if __name__ == "__main__":
    main()

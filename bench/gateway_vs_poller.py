"""Gateway listener vs REST poller, in real time, in the embedded local mode against the
simulator (its REST API and its websocket gateway on 127.0.0.1).

For each source, N imagines at once on one account: the delay from the simulator posting a job's
final message to the task turning SUCCESS, and the Discord API calls per imagine. With the
listener, also an ephemeral "Banned prompt" (invisible to REST): the delay from Midjourney's
ephemeral reply to FAILURE.

    .venv/bin/python bench/gateway_vs_poller.py               # 6 imagines; poll 3 s, 1 s, gateway
    .venv/bin/python bench/gateway_vs_poller.py --tasks 3 --poll 2

Figures, never pass/fail. Writes bench/results/gateway_vs_poller.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from typing import Any

# The simulator plumbing is shared with bench/midjourney_sim.py (same folder, run as scripts).
from midjourney_sim import API_ROUTES, ROOT, free_port, http  # noqa: E402


def stats(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "median": None, "max": None}
    return {"mean": round(statistics.mean(values), 2),
            "median": round(statistics.median(values), 2), "max": round(max(values), 2)}  # fmt: skip


def run(source: str, tasks: int, poll: float, step: float, core: int) -> dict[str, Any]:
    from mjgateway.listener import Background, GatewayConnection, Options
    from mjgateway.protocol import Forwarder, SqsSink
    from mjproxy.local.runner import LocalSystem
    from mjsim import SimServer, Simulator, Ticker
    from mjsim.gateway import GatewayServer

    gateway = source == "gateway"
    sim_port = free_port()
    sim = Simulator(f"http://127.0.0.1:{sim_port}", start_delay=1.0, step_seconds=step,
                    ephemeral_errors=True,
                    message_format=os.environ.get("MJSIM_FORMAT", "current"))  # fmt: skip
    account = sim.add_account()
    server = SimServer(sim, "127.0.0.1", sim_port).start()
    gw_server = GatewayServer(sim).start() if gateway else None
    ticker = Ticker(sim, every=0.05).start()
    os.environ.update({
        "MJ_PROVIDER": "midjourney",
        "MJ_INSTANCES": json.dumps([sim.instance_config(account, coreSize=core)]),
        "MJ_DISCORD_API_BASE": f"http://127.0.0.1:{sim_port}/api/v9",
        "MJ_DISCORD_CDN_HOSTS": f"127.0.0.1:{sim_port}",
        "MJ_DISCORD_POLL_SECONDS": str(poll),
        "MJ_DISCORD_INTERACTION_INTERVAL_SECONDS": "0",
        "MJ_BANNED_WORDS_ENABLED": "false",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    })  # fmt: skip
    system = LocalSystem(port=free_port()).start()
    listener = None
    try:
        if gateway:
            fwd = Forwarder(account.channel_id, account.channel_id,
                            SqsSink(system.template.physical["DiscordEventsQueue"]))  # fmt: skip
            conn = GatewayConnection(account.channel_id, account.token, "Chrome/120.0.0.0", fwd,
                                     Options(gw_server.url))  # fmt: skip
            listener = Background([conn]).start()
            deadline = time.time() + 10
            while not conn.ready and time.time() < deadline:
                time.sleep(0.05)
            time.sleep(1.0)  # the "ready" status reaches the instance item
        base = system.base_url
        started = time.time()
        prompts = [f"a lighthouse {n % 3}" for n in range(tasks)]
        if gateway:
            prompts.append("a bloody battlefield")  # ephemeral "Banned prompt detected"
        ids = [http("POST", f"{base}/mj/submit/imagine", {"prompt": p})["result"]
               for p in prompts]  # fmt: skip
        done: dict[str, dict[str, Any]] = {}
        while len(done) < len(ids) and time.time() - started < 120:
            for task_id in ids:
                if task_id not in done:
                    task = http("GET", f"{base}/mj/task/{task_id}/fetch")
                    if task["status"] in ("SUCCESS", "FAILURE"):
                        done[task_id] = task
            time.sleep(0.05)
        wall = time.time() - started
    finally:
        if listener is not None:
            listener.stop()
        system.stop()
        ticker.stop()
        if gw_server is not None:
            gw_server.stop()
        server.stop()
    finals = {e["nonce"]: e["t"] for e in sim.log if e["event"] in ("final", "error")}
    ok, errors = [], []
    for task in done.values():
        t_final = finals.get(task["properties"].get("nonce"))
        if t_final is None:
            continue
        delay = task["finishTime"] / 1000 - t_final
        (ok if task["status"] == "SUCCESS" else errors).append(delay)
    calls = {route: sim.count(route) for route in API_ROUTES}
    return {
        "source": source, "poll_seconds": None if gateway else poll, "tasks": tasks,
        "succeeded": sum(t["status"] == "SUCCESS" for t in done.values()),
        "final_to_success_seconds": stats(ok),
        "ephemeral_error_to_failure_seconds": stats(errors) if gateway else None,
        "api_calls_per_imagine": round(sum(calls.values()) / tasks, 2),
        "channel_reads": calls["messages"], "wall_seconds": round(wall, 1),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=6)
    parser.add_argument("--poll", type=float, nargs="+", default=[3.0, 1.0])
    parser.add_argument("--step", type=float, default=1.0)
    parser.add_argument("--format", choices=("current", "2024"), default="current",
                        help="the simulator's Midjourney message forms")  # fmt: skip
    parser.add_argument("--core", type=int, default=3)
    parser.add_argument("--single", choices=["poller", "gateway"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    sys.path[:0] = [str(ROOT / "layers/common/python"), str(ROOT / "sim"), str(ROOT / "gateway")]
    if args.single:  # one measurement per process (moto's state is per process)
        result = run(args.single, args.tasks, args.poll[0], args.step, args.core)
        print(json.dumps(result), flush=True)
        return 0
    runs = [("poller", p) for p in args.poll] + [("gateway", args.poll[0])]
    results = []
    for source, poll in runs:
        cmd = [sys.executable, __file__, "--single", source, "--poll", str(poll), "--tasks",
               str(args.tasks), "--step", str(args.step), "--core", str(args.core)]  # fmt: skip
        env = {**os.environ, "MJSIM_FORMAT": args.format}
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT, env=env)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    lines = [
        "# Gateway listener vs REST poller (local mode, simulator, real time)",
        "",
        f"{args.tasks} imagines at once on one account (coreSize {args.core}), simulated job "
        f"≈ {1 + 7 * args.step:g} s, Midjourney's {args.format} message forms. Delay = the "
        "simulator's final message → task SUCCESS.",
        "",
        "| source | ok | final→SUCCESS mean / median / max (s) | ephemeral error→FAILURE "
        "mean / max (s) | API calls per imagine | channel reads | wall s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        d, e = r["final_to_success_seconds"], r["ephemeral_error_to_failure_seconds"]
        name = "gateway listener" if r["source"] == "gateway" else f"poller {r['poll_seconds']:g} s"
        eph = f"{e['mean']} / {e['max']}" if e else "never (invisible: ends by timeout)"
        lines.append(
            f"| {name} | {r['succeeded']}/{r['tasks']} | {d['mean']} / {d['median']} / "
            f"{d['max']} | {eph} | {r['api_calls_per_imagine']} | {r['channel_reads']} | "
            f"{r['wall_seconds']} |"
        )
    text = "\n".join(lines)
    print(text)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "gateway_vs_poller.md").write_text(text + "\n", encoding="utf-8")
    (out / "gateway_vs_poller.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

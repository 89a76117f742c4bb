"""Midjourney provider against the simulator, in real time, in the embedded local mode
(moto server, the real handlers, the worker and the Discord poller on SQS like Lambda).

Prints, for each poll interval:
- the delay between the simulator posting a job's final message and the task turning SUCCESS
  (what the per-account poller costs in latency);
- Discord API calls per imagine (interactions, command index, channel reads), and CDN
  downloads per imagine (previews + the grid; not Discord API calls);
- channel reads per busy account-hour (from the first interaction to the last read): each read
  is one poller run, what bench/traffic.py prices per busy account-hour.

    .venv/bin/python bench/midjourney_sim.py                 # 6 imagines, poll 3 s and 1 s
    .venv/bin/python bench/midjourney_sim.py --tasks 3 --poll 2
    .venv/bin/python bench/midjourney_sim.py --poll 3 --step 5 --max-poll 3 6   # back-off off/on

Timing figures are figures, never pass/fail. Writes bench/results/midjourney_sim.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
API_ROUTES = ("interactions", "command-index", "messages", "message", "attachments",
              "send-message")  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - 127.0.0.1
        return json.loads(resp.read() or b"null")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def run(
    tasks: int, poll: float, interval: float, step: float, core: int, max_poll: float | None
) -> dict[str, Any]:
    from mjproxy.local.runner import LocalSystem
    from mjsim import SimServer, Simulator, Ticker

    sim_port = free_port()
    sim = Simulator(f"http://127.0.0.1:{sim_port}", start_delay=1.0, step_seconds=step,
                    message_format=os.environ.get("MJSIM_FORMAT", "current"))  # fmt: skip
    account = sim.add_account()
    server = SimServer(sim, "127.0.0.1", sim_port).start()
    ticker = Ticker(sim, every=0.05).start()
    os.environ.update({
        "MJ_PROVIDER": "midjourney",
        "MJ_INSTANCES": json.dumps([sim.instance_config(account, coreSize=core)]),
        "MJ_DISCORD_API_BASE": f"http://127.0.0.1:{sim_port}/api/v9",
        "MJ_DISCORD_CDN_HOSTS": f"127.0.0.1:{sim_port}",
        "MJ_DISCORD_POLL_SECONDS": str(poll),
        "MJ_DISCORD_INTERACTION_INTERVAL_SECONDS": str(interval),
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    })  # fmt: skip
    if max_poll is not None:  # else the functions' default: twice the poll interval
        os.environ["MJ_DISCORD_POLL_MAX_SECONDS"] = str(max_poll)
    system = LocalSystem(port=free_port()).start()
    try:
        base = system.base_url
        started = time.time()
        ids = [http("POST", f"{base}/mj/submit/imagine", {"prompt": f"a lighthouse {n % 3}"})
               ["result"] for n in range(tasks)]  # fmt: skip
        done: dict[str, dict[str, Any]] = {}
        while len(done) < len(ids) and time.time() - started < 300:
            for task_id in ids:
                if task_id not in done:
                    task = http("GET", f"{base}/mj/task/{task_id}/fetch")
                    if task["status"] in ("SUCCESS", "FAILURE"):
                        done[task_id] = task
            time.sleep(0.05)
        wall = time.time() - started
    finally:
        system.stop()
        ticker.stop()
        server.stop()
    finals = {e["nonce"]: e["t"] for e in sim.log if e["event"] == "final"}
    delays = []
    for task in done.values():
        t_final = finals.get(task["properties"].get("nonce"))
        if task["status"] == "SUCCESS" and t_final is not None:
            delays.append(task["finishTime"] / 1000 - t_final)
    calls = {route: sim.count(route) for route in API_ROUTES}
    api_total = sum(calls.values())
    # The account is busy from its first interaction until the read that saw the last result.
    first = min((c.t for c in sim.calls if c.route == "interactions"), default=0.0)
    reads = [c.t for c in sim.calls if c.route == "messages"]
    busy = (max(reads) - first) if reads else 0.0
    return {
        "tasks": tasks, "succeeded": sum(t["status"] == "SUCCESS" for t in done.values()),
        "poll_seconds": poll, "interaction_interval_seconds": interval, "core_size": core,
        "step_seconds": step,
        "wall_seconds": round(wall, 1),
        "final_to_success_seconds": {
            "mean": round(statistics.mean(delays), 2) if delays else None,
            "median": round(statistics.median(delays), 2) if delays else None,
            "p95": round(pct(delays, 0.95), 2) if delays else None,
            "max": round(max(delays), 2) if delays else None,
        },
        "api_calls_per_imagine": round(api_total / tasks, 2),
        "api_calls_by_route": calls,
        "cdn_downloads_per_imagine": round(sim.count("cdn") / tasks, 2),
        "max_poll_seconds": max_poll,
        "busy_seconds": round(busy, 1),
        "reads_per_busy_hour": round(len(reads) / busy * 3600) if busy > 0 else None,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=6)
    parser.add_argument("--poll", type=float, nargs="+", default=[3.0, 1.0])
    parser.add_argument("--interval", type=float, default=3.0, help="seconds between interactions")
    parser.add_argument(
        "--step", type=float, default=1.0, help="simulated seconds per progress step"
    )
    parser.add_argument("--format", choices=("current", "2024"), default="current",
                        help="the simulator's Midjourney message forms")  # fmt: skip
    parser.add_argument("--core", type=int, default=3, help="coreSize of the account")
    parser.add_argument("--max-poll", type=float, nargs="+", default=[None],
                        help="MJ_DISCORD_POLL_MAX_SECONDS values (default: the functions' own, "
                        "2x the poll; the poll itself = no back-off)")  # fmt: skip
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    sys.path[:0] = [str(ROOT / "layers/common/python"), str(ROOT / "sim")]
    if args.single:  # one measurement, as JSON on the last line (moto's state is per process)
        result = run(args.tasks, args.poll[0], args.interval, args.step, args.core,
                     args.max_poll[0])  # fmt: skip
        print(json.dumps(result), flush=True)
        return 0
    results = []
    for poll in args.poll:
        for max_poll in args.max_poll:
            cmd = [sys.executable, __file__, "--single", "--poll", str(poll), "--tasks",
                   str(args.tasks), "--interval", str(args.interval), "--step", str(args.step),
                   "--core", str(args.core)]  # fmt: skip
            if max_poll is not None:
                cmd += ["--max-poll", str(max_poll)]
            env = {**os.environ, "MJSIM_FORMAT": args.format}
            out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT,
                                 env=env)  # fmt: skip
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    lines = [
        "# Midjourney provider vs simulator (local mode, real time)",
        "",
        f"{args.tasks} imagines at once on one account (coreSize {args.core}), interactions at "
        f"least {args.interval:g} s apart, simulated job ≈ {1 + 7 * args.step:g} s, Midjourney's "
        f"{args.format} message forms. max poll: MJ_DISCORD_POLL_MAX_SECONDS (2x: the default, "
        "twice the poll; = the poll: no back-off). Previews: the default (link).",
        "",
        "| poll s | max poll s | ok | final→SUCCESS mean / median / p95 / max (s) "
        "| API calls per imagine | of which channel reads | channel reads per busy hour "
        "| CDN downloads per imagine | wall s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        d = r["final_to_success_seconds"]
        mp = r["max_poll_seconds"]
        lines.append(
            f"| {r['poll_seconds']:g} | {'2x' if mp is None else f'{mp:g}'} | "
            f"{r['succeeded']}/{r['tasks']} | {d['mean']} / "
            f"{d['median']} / {d['p95']} / {d['max']} | {r['api_calls_per_imagine']} | "
            f"{round(r['api_calls_by_route']['messages'] / r['tasks'], 2)} | "
            f"{r['reads_per_busy_hour']} | {r['cdn_downloads_per_imagine']} | {r['wall_seconds']} |"
        )
    text = "\n".join(lines)
    print(text)
    for r in results:
        print(f"poll {r['poll_seconds']:g} s, calls by route: {r['api_calls_by_route']}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "midjourney_sim.md").write_text(text + "\n", encoding="utf-8")
    (out / "midjourney_sim.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

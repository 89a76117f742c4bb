"""Run the six benchmarks in order, each in its own process (as each also runs alone), then
write bench/results/summary.md with all their tables. Timing never fails the run; a script
that crashes does (exit status 1), after the others have run.

    .venv/bin/python bench/run_all.py                  (make bench)
    .venv/bin/python bench/run_all.py --summary-only   (only rebuild summary.md)
"""

from __future__ import annotations

import subprocess
import sys
import time

import common

SCRIPTS = [
    ("cold_start.py", "1_cold_start"),
    ("warm_latency.py", "2_warm_latency"),
    ("api_calls.py", "3_api_calls"),
    ("throughput.py", "4_throughput"),
    # The midjourney provider against the simulator at a Midjourney-like pace (progress edits
    # 5 s apart, 3 jobs at once), with and without the poller's back-off: the cost model
    # prices the busy account's poller from these reads (traffic.busy_poller).
    ("midjourney_sim.py --poll 3 --step 5 --max-poll 3 6", "midjourney_sim"),
    ("cost_model.py", "5_cost_model"),  # reads the results above
    ("backlog.py", "6_backlog"),  # issue 13's waiting queue: N = 200 and 1,000 (~8 min)
]


def main() -> int:
    if sys.argv[1:] == ["--summary-only"]:  # rebuild summary.md from the results as they are
        write_summary([], [], None)
        return 0
    started = time.time()
    timings = []
    failed = []
    for script, _result in SCRIPTS:
        print(f"\n===== {script} =====", flush=True)
        t = time.time()
        name, *args = script.split()
        code = subprocess.call([common.PYTHON, str(common.BENCH / name), *args], cwd=common.ROOT)
        timings.append((script, time.time() - t, code))
        if code != 0:
            failed.append(script)
            print(f"{script} exited with status {code}", file=sys.stderr, flush=True)
    total = time.time() - started
    write_summary(timings, failed, total)
    print(f"\nall done in {total:.0f} s; wrote bench/results/summary.md", flush=True)
    for script, seconds, code in timings:
        print(f"  {script:18} {seconds:5.0f} s  {'ok' if code == 0 else f'FAILED ({code})'}")
    return 1 if failed else 0


def write_summary(timings: list, failed: list[str], total: float | None) -> None:
    ran = (
        f"`{common.run_script('run_all.py')}` on {common.machine()}, "
        f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}; {total:.0f} s in all "
        f"({', '.join(f'{s} {d:.0f} s' for s, d, _ in timings)})."
        if total is not None
        else "Collected from the latest result of each script (each says when it ran)."
    )
    lines = ["# Benchmark results", "", ran, "How to read them: bench/README.md.", ""]
    for script, result in SCRIPTS:
        path = common.RESULTS / f"{result}.md"
        if script in failed or not path.exists():
            lines += [f"## {result}", "", f"`{script}` failed: no results.", ""]
        else:
            lines += [path.read_text(encoding="utf-8"), ""]
    (common.RESULTS / "summary.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())

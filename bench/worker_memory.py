"""What the worker's steps need of Lambda memory (issue 17): peak RSS and CPU share of each kind
of work, each in a fresh interpreter (as a cold worker), so WorkerMemorySize can be chosen from
numbers rather than habit.

A step that waits (a provider's HTTP answer, AWS calls) is billed per GB-second of memory; a
step that computes costs the same GB-seconds at any size up to 1,769 MB (one vCPU) and only
takes longer. So the worker's memory should be the smallest that holds its peak RSS with room
to spare; CPU-bound work decides latency, not cost.

    .venv/bin/python bench/worker_memory.py
"""

from __future__ import annotations

import json
import subprocess
import sys

import common

# Each scenario runs in its own interpreter: imports as the worker's cold start does, then the
# work. The child prints {"rss_mb", "cpu_s", "wall_s"} of the work (RSS is the process peak).
CHILD = r"""
import io, json, resource, sys, time
import boto3  # the Lambda runtime's
from mjproxy import images, worker  # the worker's own imports
from mjproxy.providers import local_art
from mjproxy.providers.common import compose_grid
from PIL import Image
what = sys.argv[1]

def photo(seed):
    base = Image.effect_noise((64, 64), 40 + seed).convert("RGB").resize((1024, 1024))
    grain = Image.effect_noise((1024, 1024), 18).convert("RGB")
    buf = io.BytesIO(); Image.blend(base, grain, 0.15).save(buf, "PNG"); return buf.getvalue()

inputs = [photo(i) for i in range(4)] if what in ("compose", "split", "upscale") else None
grid = compose_grid(inputs) if what in ("split", "upscale") else None
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0, c0 = time.perf_counter(), time.process_time()
if what == "import":
    pass
elif what == "local_grid":
    local_art.render_grid("a red fox in snow, mountains at dawn", 42, (1, 1))
elif what == "compose":
    compose_grid(inputs)
elif what == "split":
    images.split_grid(grid)
elif what == "upscale":
    local_art.upscale(grid)
out = {"cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - t0,
       "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
       "rss_before_mb": before / 1024}
print(json.dumps(out))
"""

SCENARIOS = [
    ("import", "the worker's imports (boto3, mjproxy.worker, Pillow), no work"),
    ("local_grid", "local provider: draw one 2x2 grid (1024x1024)"),
    ("compose", "bedrock/openai: compose 4 generated 1024x1024 PNGs into a 2048x2048 grid"),
    ("split", "the four quadrants cropped and encoded from that grid"),
    ("upscale", "a 2048x2048 image upscaled 2x to 4096x4096 (the largest result, LANCZOS)"),
]


def run(what: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, what], capture_output=True, text=True,
                         check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    t = common.Table(
        "Worker memory: peak RSS and CPU per kind of work (fresh interpreter each)",
        ["Work", "Peak RSS (MB)", "CPU (s)", "Wall here (s)", "CPU / wall",
         "Wall at 512 MB (s, CPU x 1769/512)"],
    )  # fmt: skip
    rows = {}
    for what, label in SCENARIOS:
        r = min((run(what) for _ in range(3)), key=lambda x: x["cpu_s"])
        rows[what] = r
        t.add(label, f"{r['rss_mb']:.0f}", f"{r['cpu_s']:.3f}", f"{r['wall_s']:.3f}",
              f"{r['cpu_s'] / r['wall_s']:.2f}" if r["wall_s"] else "-",
              f"{r['cpu_s'] * 1769 / 512:.2f}")  # fmt: skip
    t.notes += [
        "RSS is the interpreter's peak (ru_maxrss), imports included. Lambda's own runtime adds "
        "~20-30 MB. CPU / wall near 1 = CPU-bound: the same GB-seconds at any memory up to "
        "1,769 MB, only slower below it; a waiting step (provider HTTP, AWS calls) is billed "
        "in proportion to memory.",
    ]
    common.write_results("worker_memory", "Worker memory (issue 17)", [t], {"scenarios": rows},
                         common.run_script("worker_memory.py"))  # fmt: skip


if __name__ == "__main__":
    main()

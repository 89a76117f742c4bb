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
import os
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
if what in ("bedrock_generate", "openai_generate"):
    # The generator's answers as they arrive: JSON with base64 1024x1024 PNGs (Stability on
    # Bedrock: {"images":[...]} per call, 4 calls; OpenAI: {"data":[{"b64_json"}...]}, n=4).
    import base64
    encoded = [base64.b64encode(photo(i)).decode() for i in range(4)]
    answers = [json.dumps({"seeds": [i], "finish_reasons": [None], "images": [e]}).encode()
               for i, e in enumerate(encoded)]
    openai_answer = json.dumps({"data": [{"b64_json": e} for e in encoded]}).encode()
    del encoded

def bedrock_generate():
    # The real provider step (4 parallel InvokeModel -> grid) with the answers above, and a real
    # bedrock-runtime client created as the step does (its model is part of the peak).
    from mjproxy.domain.task import Task, TaskAction, TaskStatus
    from mjproxy.providers.bedrock import BedrockProvider
    boto3.client("bedrock-runtime", region_name="us-east-1")
    calls = iter(answers)
    class Client:
        def invoke_model(self, **kw):
            return {"body": io.BytesIO(next(calls))}
    class Ctx:
        class settings:
            region = "us-east-1"
        instance = None
        def inputs(self, task):
            return []
    task = Task(id="1", action=TaskAction.IMAGINE, status=TaskStatus.SUBMITTED,
                prompt="a red fox in snow")
    out = BedrockProvider(client_factory=lambda region, cfg: Client()).poll(task, Ctx())
    assert out.kind == "done", out

def openai_generate():
    # One images answer with n=4 parsed, decoded and composed into the grid.
    import base64
    data = json.loads(openai_answer)["data"]
    compose_grid([base64.b64decode(d["b64_json"]) for d in data])
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
elif what in ("poller_grid", "poller_grid_split"):
    # A Discord poller run that finds a finished grid: the poller's own imports, the grid's
    # download through the Discord client's transport (urllib), its PutObject (S3 stand-in on
    # 127.0.0.1 that reads and drops the body); _split also crops the quadrants at finish, as
    # ImageUrlMode=presigned does (stable links, the default, store the grid only).
    import http.server, os, threading
    from mjproxy.providers.midjourney import handler as _poller  # noqa: F401
    from mjproxy.providers.midjourney.http import transport
    path = sys.argv[2]
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200); self.send_header("Content-Length", str(os.path.getsize(path)))
            self.end_headers()
            with open(path, "rb") as f:
                while chunk := f.read(65536): self.wfile.write(chunk)
        def do_PUT(self):
            left = int(self.headers.get("Content-Length") or 0)
            while left > 0: left -= len(self.rfile.read(min(65536, left)))
            self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
        def log_message(self, *a): pass
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}"
    os.environ.update(AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x",
                      AWS_DEFAULT_REGION="us-east-1", BUCKET_NAME="mj-images")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0, c0 = time.perf_counter(), time.process_time()
    body = transport()("GET", url + "/grid.png", {}, None, 30).body
    images.store_grid("1764064525123456", body, what == "poller_grid_split")
elif what == "bedrock_generate":
    bedrock_generate()
elif what == "openai_generate":
    openai_generate()
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
    # Last in the list: the Discord poller (DiscordPollerFunction, DiscordEventsFunction).
    (
        "poller_grid",
        "Discord poller: download a finished 2048x2048 grid PNG and store it "
        "(stable links: no decode)",
    ),
    (
        "poller_grid_split",
        "Discord poller, ImageUrlMode=presigned: the same grid + its 4 "
        "quadrants cropped and stored",
    ),
    ("bedrock_generate", "bedrock imagine step: 4 InvokeModel answers (base64 1024x1024 PNGs) "
     "decoded and composed, a bedrock-runtime client created (the waiting worker's work)"),
    ("openai_generate", "openai imagine step: one n=4 answer (base64 1024x1024 PNGs) decoded and "
     "composed (the waiting worker's work)"),
]


def grid_file() -> str:
    """A photo-like 2048x2048 PNG (smooth noise + grain, as generated images compress), the
    size of a Midjourney grid, written by this process so the child's peak holds only what
    the poller holds."""
    import io
    import tempfile

    from PIL import Image

    base = Image.effect_noise((128, 128), 40).convert("RGB").resize((2048, 2048))
    grain = Image.effect_noise((2048, 2048), 18).convert("RGB")
    buf = io.BytesIO()
    Image.blend(base, grain, 0.15).save(buf, "PNG")
    with tempfile.NamedTemporaryFile(suffix=".png", delete=False) as f:
        f.write(buf.getvalue())
        return f.name


def run(what: str, *args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, what, *args], capture_output=True,
                         text=True, check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    t = common.Table(
        "Worker memory: peak RSS and CPU per kind of work (fresh interpreter each)",
        ["Work", "Peak RSS (MB)", "CPU (s)", "Wall here (s)", "CPU / wall",
         "Wall at 512 MB (s, CPU x 1769/512)"],
    )  # fmt: skip
    rows = {}
    grid = grid_file()
    for what, label in SCENARIOS:
        args = [grid] if what.startswith("poller") else []
        r = min((run(what, *args) for _ in range(3)), key=lambda x: x["cpu_s"])
        rows[what] = r
        t.add(label, f"{r['rss_mb']:.0f}", f"{r['cpu_s']:.3f}", f"{r['wall_s']:.3f}",
              f"{r['cpu_s'] / r['wall_s']:.2f}" if r["wall_s"] else "-",
              f"{r['cpu_s'] * 1769 / 512:.2f}")  # fmt: skip
    t.notes += [
        "RSS is the interpreter's peak (ru_maxrss), imports included. Lambda's own runtime adds "
        "~20-30 MB. CPU / wall near 1 = CPU-bound: the same GB-seconds at any memory up to "
        "1,769 MB, only slower below it; a waiting step (provider HTTP, AWS calls) is billed "
        "in proportion to memory.",
        f"Poller rows: a photo-like 2048x2048 grid PNG of {os.path.getsize(grid) / 1024**2:.1f} MB "
        "(Midjourney posts its grids at that size), served and taken by a stand-in on 127.0.0.1 "
        "(their wall time here is that server's, in the same process); the child imports the "
        "worker's modules and Pillow too, so the poller's figure is an upper bound. "
        "DiscordPollerFunction and DiscordEventsFunction run at 256 MB from these (template.yaml).",
    ]
    os.unlink(grid)
    common.write_results("worker_memory", "Worker memory (issue 17)", [t], {"scenarios": rows},
                         common.run_script("worker_memory.py"))  # fmt: skip


if __name__ == "__main__":
    main()

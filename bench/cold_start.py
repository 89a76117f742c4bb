"""(1) Cold start per API function, against a baseline handler, and deployment sizes.

A cold start here is a fresh interpreter (a subprocess) from its start to the first response
of the function's `lambda_handler`: the module import plus one real request against a moto
server started once by this script, with the template's resources provisioned in it. The
median of --rounds runs per function (rounds interleave all functions, so a burst of load from
elsewhere on the machine hits them all alike) is compared with bench/baseline/app.py measured
the same way in the same rounds. `python -X importtime` (one extra run each) says which imports
dominate. Sizes: the function directory plus its layers (mjproxy and the installed
dependencies of layers/common/python/requirements.txt, and of media-requirements.txt for the
functions with the template's MediaLayer; boto3 excluded: Lambda provides it).

    .venv/bin/python bench/cold_start.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import Distribution, distribution
from pathlib import Path
from typing import Any

import common

TARGET = 1.2
LEAN_LABEL = "lean baseline (bench/baseline/lean/app.py: boto3 + json)"
CONVENTIONAL_LABEL = "conventional handler (bench/baseline/app.py: Powertools + pydantic)"
CHILD = common.BENCH / "cold_child.py"
# Provided by the Lambda Python runtime (boto3 and its own dependencies): never in a layer.
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "urllib3", "python-dateutil", "six"}
BASELINE_REQUIREMENTS = ["aws-lambda-powertools", "pydantic"]


# ---- the request each API function answers on its cold start ------------------------------
def cold_requests(
    parent: str, ids: list[str], custom_id: str = ""
) -> dict[str, tuple[str, str, Any]]:
    """The request each API function answers on its cold start (`custom_id`: a button of the
    finished `parent`). A function added to the template later and missing here is reported,
    not measured."""
    png = common.PNG_1X1
    return {
        "SubmitImagineFunction": ("POST", "/mj/submit/imagine", {"prompt": common.IMAGINE_PROMPT}),
        "NotFoundFunction": ("GET", "/mj/no-such-route", None),  # the $default route
        "SubmitChangeFunction": (
            "POST",
            "/mj/submit/change",
            {"taskId": parent, "action": "UPSCALE", "index": 1},
        ),
        "SubmitSimpleChangeFunction": (
            "POST",
            "/mj/submit/simple-change",
            {"content": f"{parent} V2"},
        ),
        "SubmitDescribeFunction": ("POST", "/mj/submit/describe", {"base64": png}),
        "SubmitBlendFunction": (
            "POST",
            "/mj/submit/blend",
            {"base64Array": [png, png], "dimensions": "SQUARE"},
        ),
        "TaskFetchFunction": ("GET", f"/mj/task/{ids[0]}/fetch", None),
        "TaskListFunction": ("GET", "/mj/task/list", None),
        "TaskListByConditionFunction": ("POST", "/mj/task/list-by-condition", {"ids": ids[:10]}),
        "TaskQueueFunction": ("GET", "/mj/task/queue", None),
        "AccountListFunction": ("GET", "/mj/account/list", None),
        "AccountFetchFunction": ("GET", "/mj/account/local-1/fetch", None),
        "ImageRedirectFunction": ("GET", image_link(parent), None),
        "SubmitActionFunction": ("POST", "/mj/submit/action",
                                 {"taskId": parent, "customId": custom_id}),
        "SubmitShortenFunction": ("POST", "/mj/submit/shorten", {"prompt": common.IMAGINE_PROMPT}),
        "SubmitUploadDiscordImagesFunction": ("POST", "/mj/submit/upload-discord-images",
                                              {"base64Array": [png]}),
        "SubmitEditsFunction": ("POST", "/mj/submit/edits", {"prompt": "a hat", "image": png}),
        "SubmitRetextureFunction": ("POST", "/mj/submit/retexture",
                                    {"prompt": "gold", "image": png}),
        "SubmitVideoFunction": ("POST", "/mj/submit/video", {"prompt": "pan", "image": png}),
        "FaceSwapFunction": ("POST", "/mj/insight-face/swap",
                             {"sourceBase64": png, "targetBase64": png}),
        "TaskImageSeedFunction": ("GET", f"/mj/task/{parent}/image-seed", None),
        # A finished task: answers code 4 after reading it (no task to spare per run).
        "TaskCancelFunction": ("POST", f"/mj/task/{parent}/cancel", {}),
        "AccountEnableFunction": ("POST", "/mj/account/local-1/enable", {}),
        "OpenApiFunction": ("GET", "/mj/openapi.json", None),
        "ConsoleFunction": ("GET", "/console", None),
    }  # fmt: skip


def image_link(task_id: str) -> str:
    """The stable link of a finished task's grid (signed when a signing secret is set)."""
    from mjproxy import images

    key = images.grid_key(task_id)
    keys = images.link_keys()  # newest first, as the functions sign
    secret = keys[0] if keys else ""
    path = f"/mj/image/{task_id}/{key.rsplit('/', 1)[1]}"
    return path + (f"?sig={images.key_signature(key, secret)}" if secret else "")


def describe_request(method: str, path: str, body: Any, ids: list[str], parent: str) -> str:
    shown = path
    for i in [*ids[:1], parent]:
        shown = shown.replace(i, "{id}")
    if isinstance(body, dict) and "ids" in body:
        return f"{method} {shown} ({len(body['ids'])} ids)"
    if path == "/mj/task/list":
        return f"{method} {shown} (default page: 100 tasks)"
    return f"{method} {shown}"


def response_ok(subject: str, status: int | None, body: str) -> bool:
    if subject == "NotFoundFunction":  # the $default route's answer is the protocol's 404
        return status == 404 and '"error":"Not Found"' in body
    if status is None or not 200 <= status < 400:  # the image link answers 302
        return False
    if subject.startswith("Submit"):
        return bool(re.search(r'"code":(1|22)\b', body))
    return True


# ---- deployment sizes ---------------------------------------------------------------------
def _requirement_names(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        line = line.split("#")[0].strip()
        if not line or "extra ==" in line:
            continue
        m = re.match(r"[A-Za-z0-9._-]+", line)
        if m:
            out.append(m.group(0))
    return out


# Each layer of template.yaml and the requirements file its build installs (layers/common/python).
LAYER_REQUIREMENTS = {"CommonLayer": "requirements.txt", "MediaLayer": "media-requirements.txt"}


def closure(requirements: list[str]) -> list[Distribution]:
    """The installed distributions a layer built from `requirements` holds (transitively)."""
    seen: dict[str, Distribution] = {}
    todo = list(requirements)
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen or name in RUNTIME_PROVIDED:
            continue
        dist = distribution(name)
        seen[name] = dist
        todo += _requirement_names(dist.requires or [])
    return [seen[k] for k in sorted(seen)]


def dist_bytes(dist: Distribution) -> int:
    """Wheel contents as installed, without the .pyc files this machine compiled."""
    total = 0
    for f in dist.files or []:
        if "__pycache__" in f.parts or f.suffix == ".pyc" or f.parts[0] == "..":
            continue
        path = Path(str(dist.locate_file(f)))
        if path.is_file():
            total += path.stat().st_size
    return total


def dist_roots(dist: Distribution) -> list[str]:
    """Top-level source paths of a distribution (for the bytecode-compile estimate)."""
    roots = set()
    for f in dist.files or []:
        top = f.parts[0]
        if top.endswith(".dist-info") or top in ("..", "__pycache__") or top.endswith(".libs"):
            continue
        path = Path(str(dist.locate_file(top)))
        roots.add(str(path) + (os.sep if path.is_dir() else ""))
    return sorted(roots)


def tree_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(
        p.stat().st_size
        for p in path.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )


def layer_own_bytes() -> int:
    """layers/common/python as its build copies it (mjproxy; the Makefile and requirements.txt
    stay behind), without bytecode caches."""
    return tree_bytes(common.LAYER / "mjproxy")


# ---- import attribution -------------------------------------------------------------------
GROUPS = {
    "boto3": "boto3/botocore",
    "botocore": "boto3/botocore",
    "s3transfer": "boto3/botocore",
    "urllib3": "boto3/botocore",
    "dateutil": "boto3/botocore",
    "six": "boto3/botocore",
    "jmespath": "boto3/botocore",
    "pydantic": "pydantic",
    "pydantic_core": "pydantic",
    "annotated_types": "pydantic",
    "typing_inspection": "pydantic",
    "typing_extensions": "pydantic",
    "aws_lambda_powertools": "powertools",
    "PIL": "Pillow",
    "mjproxy": "mjproxy",
    "app": "app.py",
}


def import_groups(stderr: str) -> dict[str, float]:
    """Self import time (ms) per package family from `-X importtime` output. A standard-library
    module is charged to the nearest non-stdlib package above it in the import tree (botocore
    pulling in `email` and `http.client` is botocore's cost); only imports nobody else caused
    (interpreter start-up, the child's own) stay "stdlib"."""
    stdlib = set(sys.stdlib_module_names)
    # importtime prints in post-order: a module after all of its children, one level deeper.
    nodes: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for line in stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if not m:
            continue
        node = {
            "name": m.group(4),
            "self": int(m.group(1)) / 1000,
            "depth": len(m.group(3)) // 2,
            "children": [],
        }
        while pending and pending[-1]["depth"] > node["depth"]:
            node["children"].insert(0, pending.pop())
        pending.append(node)
        nodes.append(node)
    out: dict[str, float] = {}

    def walk(node: dict[str, Any], inherited: str) -> None:
        root = node["name"].split(".")[0]
        if root.startswith("__editable__"):  # pip install -e's finder: interpreter start-up
            root = "site"
        group = GROUPS.get(root) or (inherited if root in stdlib else root)
        out[group] = out.get(group, 0.0) + node["self"]
        for child in node["children"]:
            walk(child, group)

    for top in pending:
        walk(top, "stdlib")
    return out


# ---- running children ---------------------------------------------------------------------
class Runner:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def run(
        self, function_dir: Path | None, event_file: str, attribution: bool = False
    ) -> dict[str, Any]:
        """One fresh interpreter. wall_ms: spawn to first response, in this process;
        cpu_ms: the child's user + system CPU time to its exit (less sensitive to other load
        on the machine than wall time)."""
        if function_dir is None:  # the bare interpreter, for reference
            cmd = [common.PYTHON, "-c", "print('BENCH-DONE', flush=True)"]
        else:
            cmd = [common.PYTHON, str(CHILD), str(function_dir), event_file]
        env = self.env
        if attribution:
            cmd.insert(1, "-X")
            cmd.insert(2, "importtime")
            env = {**env, "BENCH_ATTRIBUTION": "1"}
        # importtime output can exceed a pipe's buffer: it goes to a file, never blocking.
        errfile = tempfile.TemporaryFile("w+") if attribution else None
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=errfile or subprocess.DEVNULL,
            text=True,
            env=env,
        )
        wall = None
        result: dict[str, Any] = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("BENCH-DONE") and wall is None:
                wall = (time.perf_counter() - t0) * 1000
            elif line.startswith("BENCH-RESULT "):
                result = json.loads(line[len("BENCH-RESULT ") :])
        proc.wait(60)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        result["cpu_ms"] = (
            after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        ) * 1000
        result["wall_ms"] = wall if wall is not None else float("nan")
        result["ok"] = wall is not None
        if errfile is not None:
            errfile.seek(0)
            result["import_groups"] = import_groups(errfile.read())
            errfile.close()
        return result


def top_groups(groups: dict[str, float], n: int = 3) -> str:
    ranked = sorted(groups.items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{k} {v:.0f}" for k, v in ranked)


def spent(result: dict[str, Any]) -> str:
    s = result.get("spent_ms") or {}
    parts = [f"{k} {s[k]:.0f}" for k in ("client setup", "AWS calls", "presign") if k in s]
    return ", ".join(parts) or "-"


@dataclass
class Subject:
    label: str
    function_dir: Path | None  # None: the bare interpreter
    event_file: str  # "-": import only
    request: str


def make_subjects(stack: common.Stack, tmp: Path) -> tuple[list[Subject], list[str]]:
    parent = stack.finished_task()
    ids = stack.seed_tasks(200, parent)
    subjects = [Subject("(bare interpreter: python -c)", None, "-", "-")]
    event_file = tmp / "baseline.json"
    event_file.write_text(json.dumps(common.baseline_event(ids[0])))
    # The reference (issue 17): boto3 + json, one GetItem. The conventional Powertools +
    # pydantic handler of issue 8 stays as a row for comparison.
    subjects.append(Subject(LEAN_LABEL, common.LEAN_APP.parent, str(event_file),
                            "GET /mj/task/{id}/fetch (1 GetItem)"))  # fmt: skip
    subjects.append(Subject(CONVENTIONAL_LABEL, common.BASELINE_APP.parent, str(event_file),
                            "GET /mj/task/{id}/fetch (1 GetItem)"))  # fmt: skip
    api = {f.name: f for f in common.api_functions(stack.template)}
    _, task = stack.request("GET", f"/mj/task/{parent}/fetch")
    custom_id = next(b["customId"] for b in task["buttons"] if "upsample::1" in b["customId"])
    for name, (method, path, body) in cold_requests(parent, ids, custom_id).items():
        if name not in api:
            continue  # no longer in the template
        fn_name, event = stack.route_event(method, path, body)
        assert fn_name == name, (fn_name, name)
        event_file = tmp / f"{name}.json"
        event_file.write_text(json.dumps(event))
        subjects.append(Subject(name, api[name].code_uri, str(event_file),
                                describe_request(method, path, body, ids, parent)))  # fmt: skip
    missing = sorted(set(api) - {s.label for s in subjects})
    return subjects, missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # 9: on this 2-core machine one function's 5 medians spread over ~0.15x of the baseline
    # from run to run (imagine at 1.16x and 1.27x in two runs of the same code); more samples
    # narrow what a 1.2x target can tell.
    parser.add_argument("--rounds", type=int, default=9, help="timed runs per function (>= 5)")
    args = parser.parse_args()
    rounds = max(5, args.rounds)

    layer_dists = {name: closure(_requirement_names((common.LAYER / file).read_text().splitlines()))
                   for name, file in LAYER_REQUIREMENTS.items()}  # fmt: skip
    base_dists = closure(BASELINE_REQUIREMENTS)
    compile_roots = [str(common.LAYER / "mjproxy") + os.sep, str(common.ROOT / "functions")]
    compile_roots += [str(common.BENCH / "baseline")]
    for d in [*layer_dists["CommonLayer"], *layer_dists["MediaLayer"], *base_dists]:
        compile_roots += dist_roots(d)

    with common.Stack() as stack, tempfile.TemporaryDirectory() as tmp:
        # On AWS the stable links' key is the template's ImageLinkSecret, which every function
        # that writes or checks a link reads on its cold start; the bench's link is signed with it.
        link_secret = image_link_secret(stack)
        os.environ["MJ_IMAGE_URL_SECRET_ARN"] = link_secret
        stack.reset_caches()
        subjects, missing = make_subjects(stack, Path(tmp))
        env = {
            **os.environ,
            **stack.env,
            "PYTHONPATH": str(common.LAYER),  # the layer, as /opt/python on Lambda
            # Set by Lambda's runtime: the code takes what it does only there (an upload's
            # PUT and a job's SendMessage without botocore, mjproxy.direct), here against the
            # moto server over HTTP.
            "AWS_LAMBDA_FUNCTION_NAME": "bench-cold-start",
            "POWERTOOLS_LOG_LEVEL": "INFO",  # the template's LogLevel default
            "BENCH_COMPILE_ROOTS": os.pathsep.join(sorted(set(compile_roots))),
            "MJ_IMAGE_URL_SECRET_ARN": link_secret,
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        runner = Runner(env)

        print(f"cold start: {len(subjects)} subjects x (1 warm-up + {rounds} rounds)", flush=True)
        runs: dict[str, list[dict[str, Any]]] = {s.label: [] for s in subjects}
        failures: dict[str, int] = {s.label: 0 for s in subjects}
        for r in range(rounds + 1):  # round 0 warms the OS page cache and the .pyc files
            for s in subjects:
                res = runner.run(s.function_dir, s.event_file)
                stack.reset_instance_counters()
                ok = res["ok"] and (
                    s.function_dir is None
                    or response_ok(s.label, res.get("status"), res.get("body", ""))
                )
                if r == 0:
                    if not ok:
                        print(f"  warm-up of {s.label} failed: {res}", flush=True)
                elif ok:
                    runs[s.label].append(res)
                else:
                    failures[s.label] += 1
            if r:
                print(f"  round {r}/{rounds} done", flush=True)

        print("attribution run (python -X importtime, botocore timers) ...", flush=True)
        attribution = {}
        for s in subjects[1:]:
            attribution[s.label] = runner.run(s.function_dir, s.event_file, attribution=True)
            stack.reset_instance_counters()

        # Functions triggered by SQS or a schedule: import only (the cost model's cold inits).
        others = {}
        for fn in stack.functions():
            if not fn.routes:
                others[fn.name] = [runner.run(fn.code_uri, "-") for _ in range(3)]

    tables, data = report(subjects, runs, failures, attribution, others, rounds)
    if missing:
        tables[0].notes.append(
            f"Not measured (API functions with no request defined in cold_requests()): "
            f"{', '.join(missing)}."
        )
    sizes, size_data = size_table(layer_dists, base_dists, attribution)
    common.write_results(
        "1_cold_start",
        "1. Cold start per API function and deployment size",
        [*tables, sizes],
        {**data, **size_data},
        common.run_script("cold_start.py"),
    )


def s_request(subjects: list[Subject], label: str) -> str:
    return next(s.request for s in subjects if s.label == label)


def report(
    subjects: list[Subject],
    runs: dict[str, list[dict[str, Any]]],
    failures: dict[str, int],
    attribution: dict[str, dict[str, Any]],
    others: dict[str, list[dict[str, Any]]],
    rounds: int,
) -> tuple[list[common.Table], dict[str, Any]]:
    bare_label, base_label = subjects[0].label, subjects[1].label
    bare = common.median(r["wall_ms"] for r in runs[bare_label])
    base = common.median(r["wall_ms"] for r in runs[base_label])
    base_cpu = common.median(r["cpu_ms"] for r in runs[base_label])
    cold = common.Table(
        "Cold start: fresh interpreter to first response (median ms)",
        ["Function", "Request", "Runs", "Cold start", "vs baseline", f"<= {TARGET}x", "Import",
         "1st request", "CPU to exit", "CPU vs baseline"],
    )  # fmt: skip
    why = common.Table(
        "Where the cold start goes (one extra run with -X importtime and botocore timers, ms)",
        ["Function", "Top imports (self ms, incl. stdlib they pull in)", "botocore at run time",
         "+compile if no .pyc"],
    )  # fmt: skip
    fns: dict[str, Any] = {}
    all_within = True
    for s in subjects:
        rs = runs[s.label]
        n_runs = f"{len(rs)}" + (f" ({failures[s.label]} failed)" if failures[s.label] else "")
        wall = common.median(r["wall_ms"] for r in rs)
        cpu = common.median(r["cpu_ms"] for r in rs)
        if s.label == bare_label:
            cold.add(s.label, "-", n_runs, f"{wall:.0f}", common.ratio(wall, base), "-", "-",
                     "-", f"{cpu:.0f}", common.ratio(cpu, base_cpu))  # fmt: skip
            continue
        imp = common.median(r["import_ms"] for r in rs)
        req = common.median(r["request_ms"] for r in rs)
        within = wall <= TARGET * base
        is_base = s.label in (base_label, CONVENTIONAL_LABEL)
        if not is_base:
            all_within &= within
        cold.add(s.label, s.request, n_runs, f"{wall:.0f}", common.ratio(wall, base),
                 "-" if is_base else ("yes" if within else "NO"), f"{imp:.0f}", f"{req:.0f}",
                 f"{cpu:.0f}", common.ratio(cpu, base_cpu))  # fmt: skip
        att = attribution.get(s.label, {})
        why.add(s.label, top_groups(att.get("import_groups", {})), spent(att),
                f"{att.get('compile_ms', float('nan')):.0f}")  # fmt: skip
        fns[s.label] = {
            "request": s.request,
            "cold_ms": wall,
            "cpu_ms": cpu,
            "import_ms": imp,
            "request_ms": req,
            "runs": len(rs),
            "failed": failures[s.label],
            "ratio": wall / base if base else None,
            "cpu_ratio": cpu / base_cpu if base_cpu else None,
            "import_groups_ms": att.get("import_groups", {}),
            "botocore_ms": att.get("spent_ms", {}),
            "compile_ms": att.get("compile_ms"),
            "samples_ms": [round(r["wall_ms"], 1) for r in rs],
        }
    for label, f in fns.items():
        if label not in (base_label, CONVENTIONAL_LABEL) and f["ratio"] and f["ratio"] > TARGET:
            b = f["botocore_ms"]
            cold.notes.append(
                f"{label} over target: its import is {f['import_ms']:.0f} ms (baseline "
                f"{fns[base_label]['import_ms']:.0f}), its first request "
                f"({s_request(subjects, label)}) {f['request_ms']:.0f} ms: in the attribution "
                f"run, creating its boto3 clients {b.get('client setup', 0):.0f} ms, AWS calls "
                f"{b.get('AWS calls', 0):.0f} ms, presigning {b.get('presign', 0):.0f} ms."
            )
    worst_label, worst = max(
        ((k, v["ratio"]) for k, v in fns.items() if k not in (base_label, CONVENTIONAL_LABEL)),
        key=lambda kv: kv[1],
    )
    cold.notes += [
        f"Every API function within {TARGET}x of the lean baseline (median wall): "
        f"{'YES' if all_within else 'NO'}; worst {worst_label} at {worst:.2f}x.",
        "Baseline = the lean handler (boto3 + json, one GetItem, nothing else): a module-level "
        "DynamoDB client, no framework. The conventional row (Powertools' REST resolver with "
        "validation + a pydantic model, the baseline of issue 8) shows what those two cost.",
        f"Cold start = wall time in this process from spawning `python` to the child's first "
        f"response ({rounds} interleaved rounds after an untimed warm-up round; includes "
        f"~{bare:.0f} ms of bare interpreter start, first row). Import and 1st request are the "
        "child's own clocks. CPU to exit = the child's user+system CPU until it exits, which "
        "other load on this shared machine disturbs much less than wall time.",
        "The moto server (another process) stands in for AWS; its response time is in the "
        "wall time, not in the CPU time.",
        "As on AWS, the stable image links' key is a Secrets Manager secret "
        "(MJ_IMAGE_URL_SECRET_ARN, the template's ImageLinkSecret): a function that writes or "
        "checks a link reads it (AWSCURRENT, then AWSPREVIOUS) on its cold start.",
    ]
    why.notes += [
        "Top imports: `-X importtime` self time per package family over the whole run (import "
        "and first request); a standard-library module counts for the package that imported "
        "it. 'stdlib' left over is interpreter start-up (including the .venv's editable-install "
        "finder, absent on Lambda), the same for every row.",
        "botocore at run time: creating clients (loading service models and endpoint rules "
        "from botocore's JSON), the API calls (including moto's answer), and presigning S3 "
        "URLs (five per finished grid task; mjproxy.sigv4 signs without botocore, so 'presign' "
        "appears only where botocore signs). The baselines create their one client at import.",
        "+compile if no .pyc: compiling the sources of the layer modules loaded (mjproxy, "
        "powertools, pydantic, ...). Lambda's code directories are read-only, so a deployment "
        "package without bytecode pays this on every cold start; the layer's build "
        "(layers/common/python/Makefile) compiles them, so the deployed functions do not. "
        "Not included in the cold start column (this machine has the .pyc files too).",
    ]
    other = common.Table(
        "Other functions (SQS / schedule triggered): import only, median of 3 (ms)",
        ["Function", "Interpreter + import", "Import"],
    )
    data_others = {}
    for name, rs in others.items():
        wall = common.median(r["wall_ms"] for r in rs)
        imp = common.median(r.get("import_ms", float("nan")) for r in rs)
        other.add(name, f"{wall:.0f}", f"{imp:.0f}")
        data_others[name] = {"cold_ms": wall, "import_ms": imp}
    data = {
        "rounds": rounds,
        "baseline_ms": base,
        "baseline_cpu_ms": base_cpu,
        "bare_interpreter_ms": bare,
        "functions": fns,
        "other_functions": data_others,
        "all_within_target": all_within,
    }
    return [cold, why, other], data


def image_link_secret(stack: common.Stack) -> str:
    """A secret in the moto server standing for the template's ImageLinkSecret: its ARN."""
    import boto3

    sm = boto3.client("secretsmanager", endpoint_url=stack.moto.url, region_name=common.REGION)
    return sm.create_secret(Name="mjproxy-image-links", SecretString="bench-link-key")["ARN"]


def loaded_cell(att: dict[str, Any] | None) -> str:
    """KB of the layer this function loads on its cold start: mjproxy + each dependency."""
    if not att or "loaded_kb" not in att:
        return "-"
    kb = {k: v for k, v in att["loaded_kb"].items() if k not in ("app", "bench_baseline_app")}
    own = kb.pop("mjproxy", 0.0)
    deps = ", ".join(f"{k} {v:.0f}" for k, v in sorted(kb.items(), key=lambda kv: -kv[1]))
    return f"{own:.0f}" + (f" + {deps}" if deps else "")


def size_table(
    layer_dists: dict[str, list[Distribution]],
    base_dists: list[Distribution],
    attribution: dict[str, dict[str, Any]] | None = None,
) -> tuple:
    """Each function's unzipped size: its code, mjproxy, and the dependencies of the layers the
    template gives it (CommonLayer in Globals; MediaLayer, Pillow and PyAV, only where images
    are drawn, cropped or encoded)."""
    from mjproxy.local.template import Template

    mb = 1024 * 1024
    deps_of = {name: sum(dist_bytes(d) for d in dists) for name, dists in layer_dists.items()}
    layer_own = layer_own_bytes()
    conv_deps = sum(dist_bytes(d) for d in base_dists)
    conv_code = tree_bytes(common.BASELINE_APP)
    # The lean baseline's only dependency, boto3, is provided by the runtime.
    base_total = tree_bytes(common.LEAN_APP)
    sizes = common.Table(
        "Deployment size per function (unzipped, MB)",
        ["Function", "Layers", "Code (KB)", "Layer: mjproxy (MB)", "Layers: dependencies (MB)",
         "Total (MB)", "vs baseline", "Loaded on a cold start (KB: mjproxy + dependencies)"],
    )  # fmt: skip
    att = attribution or {}
    sizes.add("lean baseline", "-", f"{base_total / 1024:.1f}", "-", "0.00",
              f"{base_total / mb:.2f}", "-", loaded_cell(att.get(LEAN_LABEL)))  # fmt: skip
    sizes.add("conventional handler", "-", f"{conv_code / 1024:.1f}", "-",
              f"{conv_deps / mb:.2f}", f"{(conv_code + conv_deps) / mb:.2f}", "1.00x",
              loaded_cell(att.get(CONVENTIONAL_LABEL)))  # fmt: skip
    base_total = conv_code + conv_deps  # sizes compare with the conventional handler
    data: dict[str, float] = {}
    loaded: dict[str, Any] = {}
    functions = Template(common.TEMPLATE).functions()
    for fn in functions:
        code = tree_bytes(fn.code_uri)
        deps = sum(deps_of.get(layer, 0) for layer in fn.layers)
        total = code + layer_own + deps
        sizes.add(fn.name, " + ".join(x.removesuffix("Layer") for x in fn.layers),
                  f"{code / 1024:.1f}", f"{layer_own / mb:.2f}", f"{deps / mb:.2f}",
                  f"{total / mb:.2f}", common.ratio(total, base_total),
                  loaded_cell(att.get(fn.name)))  # fmt: skip
        data[fn.name] = total / mb
        loaded[fn.name] = (att.get(fn.name) or {}).get("loaded_kb")
    media = sorted(fn.name for fn in functions if "MediaLayer" in fn.layers)

    def listed(name: str) -> str:
        return ", ".join(f"{d.metadata['Name']} {dist_bytes(d) / mb:.2f}" for d in layer_dists[name])

    sizes.notes += [
        f"Layer dependencies (installed in .venv, wheel contents without .pyc): CommonLayer "
        f"{listed('CommonLayer')} MB; MediaLayer {listed('MediaLayer')} MB.",
        "boto3/botocore are not counted: the Lambda runtime provides them. The baseline counts "
        "aws-lambda-powertools + pydantic and their dependencies; the lean baseline has no "
        "dependency outside the runtime, so the ratios are against the conventional one.",
        f"MediaLayer (Pillow and PyAV, {deps_of['MediaLayer'] / mb:.1f} MB) is given only to the "
        f"functions that draw, crop or encode images and video: {', '.join(media)}. The other "
        "API functions check uploaded images from their structure (mjproxy.images.probe: size, "
        "whole file, pixel limit) and never import Pillow (tests/integration/"
        "test_media_layer.py runs each of them with Pillow and PyAV unimportable).",
        "Loaded on a cold start: the KB of layer files (mjproxy, then each dependency) whose "
        "modules the function has imported when its first response is out (attribution run): "
        "what differs between functions that share one layer. pydantic is loaded only for "
        "a body with unusual values (mjproxy.api.body), Powertools only when something logs.",
        f"This .venv is {os.uname().machine}; Lambda runs the arm64 wheels (Pillow, PyAV and "
        "pydantic-core binaries differ by a few percent). Lambda's limit is 250 MB unzipped "
        "(function + layers).",
    ]
    return sizes, {"sizes_mb": data, "baseline_size_mb": base_total / mb, "loaded_kb": loaded}


if __name__ == "__main__":
    main()

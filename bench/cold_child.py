"""Run by cold_start.py in a fresh interpreter, once per measurement: import one function's
`app` module the way Lambda's runtime does (its directory first on sys.path, the layer on
PYTHONPATH), answer one API Gateway event, print `BENCH-DONE` (the parent stops its clock on
it), then one `BENCH-RESULT {json}` line with the child's own breakdown.

    python bench/cold_child.py <function dir> <event.json | ->     ("-": import only)

With BENCH_ATTRIBUTION=1 (an extra, untimed run) it also times botocore's client creation,
its API calls and presigning, and the bytecode compile of the loaded layer sources.
"""

import time

T0 = time.perf_counter()

import importlib  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

SPENT: dict[str, float] = {}
_depth = [0]


class Context:
    function_name = "bench"
    memory_limit_in_mb = 512
    aws_request_id = "bench-cold"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def _timed(owner: object, name: str, label: str) -> None:
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        if _depth[0]:  # count the outermost call only
            return original(*args, **kwargs)
        _depth[0] += 1
        t = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            SPENT[label] = SPENT.get(label, 0.0) + (time.perf_counter() - t) * 1000
            _depth[0] -= 1

    setattr(owner, name, wrapper)


def instrument() -> None:
    import botocore.client
    import botocore.session
    import botocore.signers

    _timed(botocore.session.Session, "create_client", "client setup")
    _timed(botocore.client.BaseClient, "_make_api_call", "AWS calls")
    # Bound onto each client class when it is created, so patch the module function.
    _timed(botocore.signers, "generate_presigned_url", "presign")


class _AfterImport:
    """A meta path finder that runs `then()` once `name` has been imported, so the attribution
    run times botocore only where the function itself imports it (importing it up front would
    put botocore's import in every function's breakdown)."""

    def __init__(self, name: str, then) -> None:
        self.name, self.then = name, then

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        run, then = spec.loader.exec_module, self.then

        def exec_module(module):
            run(module)
            then()

        spec.loader.exec_module = exec_module
        return spec


def compile_ms(roots: list[str]) -> float:
    """Time to compile the source of every loaded module under `roots`: what each cold start
    pays extra when the deployment package ships no .pyc files."""
    total = 0.0
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None) or ""
        if not path.endswith(".py") or not any(path.startswith(r) for r in roots):
            continue
        with open(path, "rb") as fh:
            source = fh.read()
        t = time.perf_counter()
        compile(source, path, "exec", dont_inherit=True)
        total += time.perf_counter() - t
    return total * 1000


def loaded_kb(roots: list[str]) -> dict[str, float]:
    """Source and binary files of the loaded modules under `roots` (the layer: mjproxy and its
    dependencies; boto3 is the runtime's), KB per top-level package: what this function reads
    of its deployment package on a cold start."""
    out: dict[str, float] = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None) or ""
        if not path or not any(path.startswith(r) for r in roots):
            continue
        try:
            size = os.path.getsize(path)
        except OSError:
            continue
        top = name.split(".")[0]
        out[top] = out.get(top, 0.0) + size / 1024
    return out


def main() -> None:
    function_dir, event_file = sys.argv[1], sys.argv[2]
    attribution = os.environ.get("BENCH_ATTRIBUTION") == "1"
    if attribution:
        sys.meta_path.insert(0, _AfterImport("botocore.session", instrument))
    sys.path.insert(0, function_dir)
    t_import = time.perf_counter()
    module = importlib.import_module("app")
    t_imported = time.perf_counter()
    if attribution:
        # A request sent without botocore (an upload's PUT, a job's SendMessage: mjproxy.direct)
        # is an AWS call too.
        from mjproxy import direct

        _timed(direct, "request", "AWS calls")
    t_request = time.perf_counter()
    out: dict = {}
    if event_file != "-":
        with open(event_file, encoding="utf-8") as fh:
            event = json.load(fh)
        t_request = time.perf_counter()
        out = module.lambda_handler(event, Context())
    t_done = time.perf_counter()
    print("BENCH-DONE", flush=True)
    result = {
        "startup_ms": (t_import - T0) * 1000,
        "import_ms": (t_imported - t_import) * 1000,
        "request_ms": (t_done - t_request) * 1000,
        "in_process_ms": (t_done - T0) * 1000,
        "status": out.get("statusCode"),
        "body": (out.get("body") or "")[:300],
    }
    if attribution:
        roots = [r for r in os.environ.get("BENCH_COMPILE_ROOTS", "").split(os.pathsep) if r]
        result["spent_ms"] = SPENT
        result["compile_ms"] = compile_ms(roots)
        result["loaded_kb"] = loaded_kb(roots)
    print("BENCH-RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

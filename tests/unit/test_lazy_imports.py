"""API functions import only what they use (the cold-start lever of issue 17), and the lazily
created logger still stamps every line with the invocation's Lambda context."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mjproxy.api.http import endpoint
from mjproxy.observability import logger

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pydantic", "aws_lambda_powertools", "PIL")


def imported_after(function: str) -> set[str]:
    """Top-level packages a fresh interpreter holds after importing functions/<function>/app.py."""
    code = (
        "import sys, app; "
        f"print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "functions" / function,
        env={"PYTHONPATH": str(ROOT / "layers/common/python"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


@pytest.mark.parametrize(
    "function",
    ["task_fetch", "task_list", "task_list_by_condition", "task_queue", "image_redirect"],
)
def test_read_functions_load_no_pydantic_powertools_or_pillow(function):
    assert imported_after(function) == set()


@pytest.mark.parametrize("function", ["task_cancel", "task_image_seed", "openapi"])
def test_bodiless_plus_functions_load_nothing_heavy(function):
    assert imported_after(function) == set()


@pytest.mark.parametrize(
    "function",
    ["submit_imagine", "submit_change", "submit_simple_change", "submit_describe",
     "submit_blend", "submit_action", "submit_modal", "submit_shorten", "submit_video",
     "face_swap", "submit_upload_discord_images", "submit_edits", "submit_retexture"],
)  # fmt: skip
def test_submit_functions_load_neither_pydantic_nor_pillow(function):
    # Bodies are parsed by mjproxy.api.body; pydantic only for unusual values (test_body.py).
    assert imported_after(function) == set()


class Ctx:
    function_name = "fn"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:1:function:fn"
    aws_request_id = "req-1"


def test_log_lines_carry_the_lambda_context_of_their_invocation(monkeypatch):
    def fail(request):
        raise RuntimeError("boom")

    # Powertools keeps one stream handler per service; point it at a buffer, then start from an
    # unloaded logger as a fresh API function does.
    buf = io.StringIO()
    old_stream = logger._load().registered_handler.setStream(buf)
    monkeypatch.setattr(logger, "_real", None)
    handler = endpoint(fail, authenticated=False)
    for request_id in ("req-1", "req-2"):
        ctx = Ctx()
        ctx.aws_request_id = request_id
        out = handler({"path": "/mj/task/1/fetch", "httpMethod": "GET"}, ctx)
        assert out["statusCode"] == 500
        lines = [json.loads(line) for line in buf.getvalue().splitlines() if line]
        assert lines and lines[-1]["message"] == "unhandled error"
        assert lines[-1]["function_request_id"] == request_id
        assert lines[-1]["function_name"] == "fn"
    assert logger._real is not None
    logger.registered_handler.setStream(old_stream)

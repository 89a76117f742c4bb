"""Live smoke test: one imagine and one upscale against the real service (docs/providers.md).

Skipped unless you opt in: MJ_LIVE_BEDROCK=1 with AWS credentials (environment variables, or
MJ_LIVE_AWS_PROFILE since the suite's conftest drops AWS_PROFILE), or MJ_LIVE_OPENAI=1 with
OPENAI_API_KEY. These calls cost money (see docs/providers.md).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PIL import Image

from mjproxy.config import Instance
from mjproxy.domain.task import Task, TaskAction
from mjproxy.images import split_grid

pytestmark = pytest.mark.live

PROMPT = "a lighthouse on a rocky coast at dawn, oil painting --ar 3:2 --no people --v 6"


class LiveContext:
    def __init__(self, provider: str, settings: dict[str, Any] | None = None):
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-west-2"
        self.settings = SimpleNamespace(region=region)
        self.instance = Instance(id=f"{provider}-live", provider=provider, settings=settings or {})
        self.tasks: dict[str, Task] = {}
        self.grids: dict[str, bytes] = {}

    def inputs(self, task: Task) -> list[bytes]:
        return []

    def parent(self, task: Task) -> Task | None:
        return self.tasks.get(task.parentId or "")

    def parent_quadrant(self, task: Task) -> bytes:
        return split_grid(self.grids[task.parentId])[task.index - 1]

    def parent_grid(self, task: Task) -> bytes:
        return self.grids[task.parentId]

    def now_ms(self) -> int:
        import time

        return int(time.time() * 1000)


def _aws_credentials() -> bool:
    if os.environ.get("MJ_LIVE_AWS_PROFILE"):
        return True
    key = os.environ.get("AWS_ACCESS_KEY_ID", "")
    return bool(key) and key != "testing"  # tests/conftest.py sets dummy "testing" credentials


def _run(provider: Any, task: Task, ctx: LiveContext, polls: int = 10):
    import time

    out = provider.start(task, ctx)
    assert out.kind == "submitted", out
    task.providerState.update(out.state)
    for _ in range(polls):
        out = provider.poll(task, ctx)
        task.providerState.update(out.state)
        if out.kind != "wait":
            return out
        time.sleep(min(out.delay or 1, 30))
    return out


def _save(tmp_path: Path, name: str, data: bytes) -> Path:
    out_dir = Path(os.environ.get("MJ_LIVE_OUT") or tmp_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    path.write_bytes(data)
    print(f"\n{name}: {path}")
    return path


def _imagine_then_upscale(provider: Any, ctx: LiveContext, tmp_path: Path, label: str) -> None:
    imagine = Task(id="1764000000000001", action=TaskAction.IMAGINE, prompt=PROMPT, seed=1234)
    out = _run(provider, imagine, ctx)
    assert out.kind == "done" and out.result == "grid", out.fail_reason or out
    grid = Image.open(io.BytesIO(out.image))
    assert grid.width > grid.height  # --ar 3:2
    print(f"properties: {out.properties}")
    _save(tmp_path, f"{label}-grid.png", out.image)

    ctx.tasks[imagine.id] = imagine
    ctx.grids[imagine.id] = out.image
    upscale = Task(
        id="1764000000000002", action=TaskAction.UPSCALE, parentId=imagine.id, index=1, seed=99
    )
    out = _run(provider, upscale, ctx)
    assert out.kind == "done" and out.result == "single", out.fail_reason or out
    quadrant = Image.open(io.BytesIO(ctx.parent_quadrant(upscale)))
    big = Image.open(io.BytesIO(out.image))
    assert big.width >= quadrant.width
    print(f"upscale: {quadrant.size} -> {big.size} ({out.properties})")
    _save(tmp_path, f"{label}-upscale.png", out.image)


@pytest.mark.skipif(
    os.environ.get("MJ_LIVE_BEDROCK") != "1" or not _aws_credentials(),
    reason="set MJ_LIVE_BEDROCK=1 and AWS credentials to run against Amazon Bedrock",
)
def test_bedrock_imagine_and_upscale(tmp_path):
    import boto3
    from botocore.config import Config

    from mjproxy.providers import bedrock, common

    common.reset()
    session = boto3.Session(profile_name=os.environ.get("MJ_LIVE_AWS_PROFILE") or None)

    def factory(region: str, cfg: Any) -> Any:
        config = Config(read_timeout=cfg.timeout_seconds, retries={"total_max_attempts": 1})
        return session.client("bedrock-runtime", region_name=region, config=config)

    provider = bedrock.BedrockProvider(factory)
    _imagine_then_upscale(provider, LiveContext("bedrock"), tmp_path, "bedrock")


@pytest.mark.skipif(
    os.environ.get("MJ_LIVE_OPENAI") != "1" or not os.environ.get("OPENAI_API_KEY"),
    reason="set MJ_LIVE_OPENAI=1 and OPENAI_API_KEY to run against the OpenAI API",
)
def test_openai_imagine_and_upscale(tmp_path):
    from mjproxy.providers import common, openai

    common.reset()
    provider = openai.OpenAIProvider()
    settings = {"upscaleMode": os.environ.get("MJ_OPENAI_UPSCALE_MODE") or "edit"}
    _imagine_then_upscale(provider, LiveContext("openai", settings), tmp_path, "openai")

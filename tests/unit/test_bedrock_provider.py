"""The `bedrock` provider against a stubbed bedrock-runtime client (botocore Stubber): the exact
request bodies sent and the handling of every documented error. No network."""

from __future__ import annotations

import base64
import io
import json
import re
import threading
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.response import StreamingBody
from botocore.stub import Stubber
from PIL import Image

from mjproxy.config import Instance
from mjproxy.domain.task import Task, TaskAction
from mjproxy.providers import bedrock, common
from mjproxy.providers.bedrock import BedrockProvider

ROOT = Path(__file__).resolve().parents[2]
RED, GREEN, BLUE, YELLOW = (220, 20, 20), (20, 200, 20), (20, 20, 220), (230, 230, 20)
CORE = "stability.stable-image-core-v1:1"
SD35 = "stability.sd3-5-large-v1:0"


# ---- fixtures and fakes -----------------------------------------------------------------------
def png(color=RED, size=(64, 64)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def image(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


@dataclass
class FakeContext:
    """The ProviderContext the worker would give: settings, instance and the task's images."""

    instance_settings: dict[str, Any] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    task_inputs: dict[str, list[bytes]] = field(default_factory=dict)
    quadrants: dict[tuple[str, int], bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.settings = SimpleNamespace(region="us-west-2")
        self.instance = Instance(
            id="bedrock-1", provider="bedrock", settings=self.instance_settings
        )

    def inputs(self, task: Task) -> list[bytes]:
        return self.task_inputs.get(task.id, [])

    def parent(self, task: Task) -> Task | None:
        return self.tasks.get(task.parentId or "")

    def parent_quadrant(self, task: Task) -> bytes:
        return self.quadrants[(task.parentId, task.index)]

    def parent_grid(self, task: Task) -> bytes:
        raise AssertionError("not used")

    def now_ms(self) -> int:
        return 1_700_000_000_000


class JsonBody:
    """Stubber expected-param matcher: the body string parses to exactly this JSON object."""

    def __init__(self, expected: dict[str, Any]):
        self.expected = expected

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and json.loads(other) == self.expected

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __repr__(self) -> str:
        return f"JsonBody({self.expected!r})"


def invoke_response(data: bytes | None = None, seed: int = 1, reason: str | None = None) -> dict:
    if reason is None:
        payload: dict[str, Any] = {"seeds": [seed], "finish_reasons": [None], "images": [b64(data)]}
    else:
        payload = {"finish_reasons": [reason]}  # what Bedrock sends for a filtered request
    raw = json.dumps(payload).encode()
    return {"body": StreamingBody(io.BytesIO(raw), len(raw)), "contentType": "application/json"}


def expect_invoke(stub: Stubber, model: str, body: dict, data: bytes | None = None, **kw) -> None:
    stub.add_response(
        "invoke_model",
        invoke_response(data, **kw),
        {
            "modelId": model,
            "body": JsonBody(body),
            "contentType": "application/json",
            "accept": "application/json",
        },
    )


def converse_response(text: str, stop: str = "end_turn") -> dict:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop,
        "usage": {"inputTokens": 10, "outputTokens": 20, "totalTokens": 30},
        "metrics": {"latencyMs": 900},
    }


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith(("MJ_BEDROCK_", "MJ_PROVIDER_", "MJ_OPENAI_")):
            monkeypatch.delenv(name)
    common.reset()
    yield
    common.reset()


@pytest.fixture
def client():
    return boto3.client(
        "bedrock-runtime",
        region_name="us-west-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def stub(client):
    with Stubber(client) as s:
        yield s
        s.assert_no_pending_responses()


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def provider(client, sleeps):
    return BedrockProvider(lambda region, cfg: client, sleep=sleeps.append, clock=lambda: 0.0)


def sequential(**extra) -> FakeContext:
    """One call at a time, so the stubbed responses are consumed in seed order."""
    return FakeContext(instance_settings={"parallelCalls": 1, **extra})


def imagine(prompt: str, seed: int | None = 1000, **kw) -> Task:
    return Task(id="1700000000000001", action=TaskAction.IMAGINE, prompt=prompt, seed=seed, **kw)


def run(provider: BedrockProvider, task: Task, ctx: FakeContext):
    """start, apply its state as the worker would, then poll."""
    started = provider.start(task, ctx)
    assert started.kind == "submitted" and started.delay == 0
    task.providerState.update(started.state)
    return provider.poll(task, ctx)


def quadrant_colors(grid_png: bytes) -> list[tuple[int, int, int]]:
    img = image(grid_png).convert("RGB")
    w, h = img.size
    return [
        img.getpixel((x, y))
        for x, y in (
            (w // 4, h // 4),
            (3 * w // 4, h // 4),
            (w // 4, 3 * h // 4),
            (3 * w // 4, 3 * h // 4),
        )
    ]


# ---- planning ---------------------------------------------------------------------------------
def test_start_submits_and_plans_the_users_seed(provider):
    out = provider.start(imagine("a fox --seed 42"), FakeContext())
    assert out.kind == "submitted" and out.progress == "0%" and out.delay == 0
    assert out.state == {"deferrals": 0, "seeds": [42, 43, 44, 45]}


def test_start_uses_the_task_seed_and_wraps_at_the_limit(provider):
    assert provider.start(imagine("a fox", seed=7), FakeContext()).state["seeds"] == [7, 8, 9, 10]
    top = provider.start(imagine("a fox", seed=4294967293), FakeContext()).state["seeds"]
    assert top == [4294967293, 4294967294, 0, 1]


def test_reroll_gets_new_seeds_even_when_the_prompt_has_one(provider):
    task = Task(id="2", action=TaskAction.REROLL, prompt="a fox --seed 42", seed=555, parentId="1")
    assert provider.start(task, FakeContext()).state["seeds"] == [555, 556, 557, 558]


def test_bad_configuration_fails_at_start(provider, monkeypatch):
    monkeypatch.setenv("MJ_BEDROCK_UPSCALE_MODE", "turbo")
    out = provider.start(imagine("a fox"), FakeContext())
    assert out.kind == "failed" and "MJ_BEDROCK_UPSCALE_MODE" in out.fail_reason


# ---- IMAGINE ----------------------------------------------------------------------------------
def test_imagine_sends_four_text_to_image_calls_and_returns_a_grid(provider, stub):
    prompt = (
        "a red fox in snow --ar 16:9 --no people, text --seed 42 --v 6.1 --q 2 "
        "--style raw --chaos 20 --niji 6"
    )
    for i, color in enumerate((RED, GREEN, BLUE, YELLOW)):
        body = {
            "prompt": "a red fox in snow",
            "negative_prompt": "people, text",
            "aspect_ratio": "16:9",
            "seed": 42 + i,
            "output_format": "png",
        }
        expect_invoke(stub, CORE, body, png(color), seed=42 + i)

    out = run(provider, imagine(prompt), sequential())

    assert out.kind == "done" and out.result == "grid"
    assert image(out.image).size == (128, 128)
    assert quadrant_colors(out.image) == [RED, GREEN, BLUE, YELLOW]
    assert out.properties["finalPrompt"] == "a red fox in snow"
    assert out.properties["ignoredParams"] == [
        "--v 6.1",
        "--q 2",
        "--style raw",
        "--chaos 20",
        "--niji 6",
    ]
    assert out.properties["aspectRatio"] == "16:9"


@pytest.mark.parametrize(
    "ar, expected",
    [
        ("1:1", "1:1"),
        ("4:3", "5:4"),
        ("3:2", "3:2"),
        ("2:1", "16:9"),
        ("7:4", "16:9"),
        ("3:1", "21:9"),
        ("1:3", "9:21"),
        ("9:16", "9:16"),
        ("4:5", "4:5"),
        ("2:3", "2:3"),
    ],
)
def test_ar_maps_to_the_nearest_stability_aspect_ratio(provider, stub, ar, expected):
    for i in range(4):
        body = {
            "prompt": "a fox",
            "aspect_ratio": expected,
            "seed": 1000 + i,
            "output_format": "png",
        }
        expect_invoke(stub, CORE, body, png())
    out = run(provider, imagine(f"a fox --ar {ar}"), sequential())
    assert out.kind == "done"
    assert "ignoredParams" not in out.properties


def test_model_id_comes_from_the_environment_and_the_instance(provider, stub, monkeypatch):
    monkeypatch.setenv("MJ_BEDROCK_IMAGE_MODEL_ID", "stability.stable-image-ultra-v1:1")
    for i in range(4):
        body = {"prompt": "a fox", "aspect_ratio": "1:1", "seed": 1000 + i, "output_format": "png"}
        expect_invoke(stub, "stability.stable-image-ultra-v1:1", body, png())
    assert run(provider, imagine("a fox"), sequential()).kind == "done"

    # an instance setting overrides the environment (camelCase, field or variable name)
    for i in range(4):
        body = {"prompt": "a fox", "aspect_ratio": "1:1", "seed": 1000 + i, "output_format": "png"}
        expect_invoke(stub, SD35, body, png())
    ctx = sequential(MJ_BEDROCK_IMAGE_MODEL_ID=SD35)
    assert run(provider, imagine("a fox"), ctx).kind == "done"


def test_parallel_calls_keep_the_quadrant_order():
    """Four threads; each response's colour is chosen by the seed sent, so the grid shows
    whether results were put back in seed order."""
    colors = {1000: RED, 1001: GREEN, 1002: BLUE, 1003: YELLOW}
    threads, bodies = set(), []
    lock = threading.Lock()
    barrier = threading.Barrier(4, timeout=5)

    class Client:
        def invoke_model(self, **kw):
            body = json.loads(kw["body"])
            with lock:
                threads.add(threading.get_ident())
                bodies.append(body)
            barrier.wait()  # all four calls are in flight at once
            return invoke_response(png(colors[body["seed"]]))

    provider = BedrockProvider(lambda region, cfg: Client(), sleep=lambda s: None)
    out = run(provider, imagine("a fox"), FakeContext())
    assert out.kind == "done"
    assert quadrant_colors(out.image) == [RED, GREEN, BLUE, YELLOW]
    assert len(threads) == 4
    assert sorted(b["seed"] for b in bodies) == [1000, 1001, 1002, 1003]


def test_imagine_with_reference_images_goes_image_to_image(provider, stub):
    ctx = sequential()
    task = imagine("a castle --ar 3:2 --iw 2")
    ctx.task_inputs[task.id] = [png(RED, (300, 200))]
    sent = []
    stub.client.meta.events.register(
        "before-parameter-build.bedrock-runtime.InvokeModel",
        lambda params, **kw: sent.append(json.loads(params["body"])),
    )
    for _ in range(4):
        stub.add_response("invoke_model", invoke_response(png()), None)

    out = run(provider, task, ctx)

    assert out.kind == "done" and "ignoredParams" not in out.properties
    assert [b["seed"] for b in sent] == [1000, 1001, 1002, 1003]
    first = sent[0]
    assert {k: v for k, v in first.items() if k != "image"} == {
        "prompt": "a castle",
        "mode": "image-to-image",
        "strength": 0.4,
        "seed": 1000,
        "output_format": "png",
    }
    assert image(base64.b64decode(first["image"])).size == (1280, 832)  # ~1 MP at 3:2


def test_a_prompt_without_text_fails(provider):
    out = run(provider, imagine("--ar 16:9 --v 6"), sequential())
    assert out.kind == "failed" and "no text" in out.fail_reason


# ---- content filter and errors ----------------------------------------------------------------
@pytest.mark.parametrize(
    "reason, words",
    [
        ("Filter reason: prompt", "blocked the prompt"),
        ("Filter reason: output image", "blocked the generated image"),
        ("Filter reason: input image", "blocked the input image"),
        ("Inference error", "did not return an image"),
    ],
)
def test_finish_reasons_fail_the_task_with_a_readable_reason(provider, stub, sleeps, reason, words):
    stub.add_response("invoke_model", invoke_response(reason=reason), None)
    out = run(provider, imagine("a fox"), sequential())
    assert out.kind == "failed"
    assert words in out.fail_reason and reason in out.fail_reason
    assert sleeps == []  # never retried


@pytest.mark.parametrize(
    "code, status, words",
    [
        ("ValidationException", 400, "Bedrock rejected the request to " + CORE),
        ("AccessDeniedException", 403, "access denied to Bedrock model " + CORE),
        ("ResourceNotFoundException", 404, "was not found in us-west-2"),
        ("ModelErrorException", 424, "failed to process the request"),
        ("SomethingNewException", 400, "Bedrock error calling " + CORE),
    ],
)
def test_bedrock_errors_fail_the_task(provider, stub, sleeps, code, status, words):
    stub.add_client_error("invoke_model", code, "the service says why", http_status_code=status)
    out = run(provider, imagine("a fox"), sequential())
    assert out.kind == "failed"
    assert words in out.fail_reason
    assert code in out.fail_reason and "the service says why" in out.fail_reason
    assert sleeps == []


def test_throttling_is_retried_in_the_call(provider, stub, sleeps):
    stub.add_client_error("invoke_model", "ThrottlingException", "Too many requests", 429)
    for i in range(4):
        body = {"prompt": "a fox", "aspect_ratio": "1:1", "seed": 1000 + i, "output_format": "png"}
        expect_invoke(stub, CORE, body, png())
    out = run(provider, imagine("a fox"), sequential())
    assert out.kind == "done"
    assert len(sleeps) == 1 and 1.0 <= sleeps[0] <= 1.25


@pytest.mark.parametrize(
    "code, status",
    [
        ("ThrottlingException", 429),
        ("ServiceUnavailableException", 503),
        ("ServiceQuotaExceededException", 400),
        ("InternalServerException", 500),
        ("ModelTimeoutException", 408),
    ],
)
def test_persistent_throttling_waits_without_failing(provider, stub, sleeps, code, status):
    for _ in range(3):  # the call and MJ_PROVIDER_RETRIES=2 retries
        stub.add_client_error("invoke_model", code, "slow down", http_status_code=status)
    task = imagine("a fox")
    out = run(provider, task, sequential())
    assert out.kind == "wait" and out.delay == 20
    assert out.state == {"deferrals": 1}
    assert len(sleeps) == 2 and 1.0 <= sleeps[0] <= 1.25 and 2.0 <= sleeps[1] <= 2.5

    # the next poll, still throttled, waits twice as long
    task.providerState.update(out.state)
    for _ in range(3):
        stub.add_client_error("invoke_model", code, "slow down", http_status_code=status)
    again = provider.poll(task, sequential())
    assert again.kind == "wait" and again.delay == 40 and again.state == {"deferrals": 2}


def test_throttling_fails_after_the_configured_number_of_waits(provider, stub):
    task = imagine("a fox")
    task.providerState = {"deferrals": 6, "seeds": [1, 2, 3, 4]}
    stub.add_client_error("invoke_model", "ThrottlingException", "Too many requests", 429)
    out = provider.poll(task, sequential(retries=0))
    assert out.kind == "failed"
    assert "ThrottlingException" in out.fail_reason and "gave up after 6" in out.fail_reason


def test_no_retry_is_started_that_would_overrun_the_step_budget(provider, stub, sleeps):
    stub.add_client_error("invoke_model", "ThrottlingException", "Too many requests", 429)
    out = run(provider, imagine("a fox"), sequential(stepBudgetSeconds=100))  # < timeout 150
    assert out.kind == "wait" and sleeps == []


def test_model_not_ready_is_retried_then_fails(provider, stub, sleeps):
    for _ in range(3):
        stub.add_client_error("invoke_model", "ModelNotReadyException", "loading", 429)
    out = run(provider, imagine("a fox"), sequential())
    assert (
        out.kind == "failed" and "is not ready" in out.fail_reason and "loading" in out.fail_reason
    )
    assert len(sleeps) == 2


def test_connection_errors_wait():
    class Client:
        def invoke_model(self, **kw):
            raise EndpointConnectionError(
                endpoint_url="https://bedrock-runtime.us-west-2.amazonaws.com"
            )

    provider = BedrockProvider(lambda region, cfg: Client(), sleep=lambda s: None)
    out = run(provider, imagine("a fox"), FakeContext())
    assert out.kind == "wait" and out.state == {"deferrals": 1}


def test_one_filtered_quadrant_fails_the_grid_even_in_parallel():
    class Client:
        def invoke_model(self, **kw):
            seed = json.loads(kw["body"])["seed"]
            if seed == 1002:
                return invoke_response(reason="Filter reason: output image")
            return invoke_response(png())

    provider = BedrockProvider(lambda region, cfg: Client(), sleep=lambda s: None)
    out = run(provider, imagine("a fox"), FakeContext())
    assert out.kind == "failed" and "Filter reason: output image" in out.fail_reason


# ---- UPSCALE ----------------------------------------------------------------------------------
def upscale_task(ctx: FakeContext, quadrant: bytes, prompt: str | None = None) -> Task:
    parent = imagine("a red fox --ar 1:1 --no people --v 6")
    ctx.tasks[parent.id] = parent
    ctx.quadrants[(parent.id, 2)] = quadrant
    return Task(
        id="1700000000000002",
        action=TaskAction.UPSCALE,
        prompt=prompt,
        seed=77,
        parentId=parent.id,
        index=2,
    )


def test_fast_upscale_sends_only_the_image(provider, stub):
    ctx = FakeContext()
    quadrant = png(GREEN)
    expect_invoke(
        stub,
        "stability.stable-fast-upscale-v1:0",
        {"image": b64(quadrant), "output_format": "png"},
        png(GREEN, (256, 256)),
    )
    out = run(provider, upscale_task(ctx, quadrant), ctx)
    assert out.kind == "done" and out.result == "single"
    assert image(out.image).size == (256, 256)
    assert out.properties == {"upscaler": "fast"}


def test_a_quadrant_too_large_for_the_fast_upscaler_is_scaled_down_first(provider, stub):
    ctx = FakeContext()
    sent = []
    stub.client.meta.events.register(
        "before-parameter-build.bedrock-runtime.InvokeModel",
        lambda params, **kw: sent.append(json.loads(params["body"])),
    )
    stub.add_response("invoke_model", invoke_response(png()), None)
    out = run(provider, upscale_task(ctx, png(GREEN, (2048, 1152))), ctx)
    assert out.kind == "done"
    assert image(base64.b64decode(sent[0]["image"])).size == (1365, 768)  # <= 1 MP


@pytest.mark.parametrize(
    "mode, model",
    [
        ("conservative", "stability.stable-conservative-upscale-v1:0"),
        ("creative", "stability.stable-creative-upscale-v1:0"),
    ],
)
def test_prompted_upscalers_get_the_parent_prompt(provider, stub, monkeypatch, mode, model):
    monkeypatch.setenv("MJ_BEDROCK_UPSCALE_MODE", mode)
    monkeypatch.setenv("MJ_BEDROCK_UPSCALE_CREATIVITY", "0.3")
    ctx = FakeContext()
    quadrant = png(BLUE)
    body = {
        "image": b64(quadrant),
        "prompt": "a red fox",
        "negative_prompt": "people",
        "creativity": 0.3,
        "seed": 77,
        "output_format": "png",
    }
    expect_invoke(stub, model, body, png(BLUE, (256, 256)))
    out = run(provider, upscale_task(ctx, quadrant), ctx)
    assert out.kind == "done" and out.properties["upscaler"] == mode


def test_upscale_mode_none_returns_the_quadrant_without_a_call(provider, stub):
    ctx = FakeContext(instance_settings={"upscaleMode": "none"})
    quadrant = png(BLUE)
    out = run(provider, upscale_task(ctx, quadrant), ctx)
    assert out.kind == "done" and out.image == quadrant


def test_upscale_errors_are_mapped_too(provider, stub):
    ctx = FakeContext()
    stub.add_client_error("invoke_model", "AccessDeniedException", "not subscribed", 403)
    out = run(provider, upscale_task(ctx, png()), ctx)
    assert out.kind == "failed"
    assert (
        "stability.stable-fast-upscale-v1:0" in out.fail_reason
        and "not subscribed" in out.fail_reason
    )


# ---- VARIATION, REROLL, BLEND -----------------------------------------------------------------
def test_variation_is_image_to_image_from_the_quadrant(provider, stub):
    ctx = sequential()
    parent = imagine("a red fox --ar 16:9 --no people --seed 3 --v 6")
    ctx.tasks[parent.id] = parent
    quadrant = png(RED, (96, 54))
    ctx.quadrants[(parent.id, 3)] = quadrant
    task = Task(id="3", action=TaskAction.VARIATION, seed=500, parentId=parent.id, index=3)
    for i, color in enumerate((RED, GREEN, BLUE, YELLOW)):
        body = {
            "prompt": "a red fox",
            "negative_prompt": "people",
            "mode": "image-to-image",
            "image": b64(quadrant),
            "strength": 0.6,
            "seed": 500 + i,
            "output_format": "png",
        }
        expect_invoke(stub, SD35, body, png(color, (96, 54)))
    out = run(provider, task, ctx)
    assert out.kind == "done" and out.result == "grid"
    assert quadrant_colors(out.image) == [RED, GREEN, BLUE, YELLOW]
    assert out.properties["ignoredParams"] == ["--seed 3", "--v 6"]


def test_variation_settings_come_from_configuration(provider, stub, monkeypatch):
    monkeypatch.setenv("MJ_BEDROCK_IMG2IMG_MODEL_ID", "stability.stable-image-ultra-v1:1")
    monkeypatch.setenv("MJ_BEDROCK_IMG2IMG_SEND_MODE", "false")
    monkeypatch.setenv("MJ_BEDROCK_VARIATION_STRENGTH", "0.35")
    ctx = sequential()
    parent = imagine("a fox")
    ctx.tasks[parent.id] = parent
    ctx.quadrants[(parent.id, 1)] = quadrant = png()
    task = Task(id="3", action=TaskAction.VARIATION, seed=10, parentId=parent.id, index=1)
    for i in range(4):
        body = {
            "prompt": "a fox",
            "image": b64(quadrant),
            "strength": 0.35,
            "seed": 10 + i,
            "output_format": "png",
        }
        expect_invoke(stub, "stability.stable-image-ultra-v1:1", body, png())
    assert run(provider, task, ctx).kind == "done"


def test_reroll_repeats_the_imagine_with_new_seeds(provider, stub):
    ctx = sequential()
    parent = imagine("a fox --ar 9:16 --seed 42")
    ctx.tasks[parent.id] = parent
    task = Task(id="4", action=TaskAction.REROLL, seed=9000, parentId=parent.id)
    for i in range(4):
        body = {"prompt": "a fox", "aspect_ratio": "9:16", "seed": 9000 + i, "output_format": "png"}
        expect_invoke(stub, CORE, body, png())
    assert run(provider, task, ctx).kind == "done"


def test_reroll_of_a_reroll_of_a_variation_repeats_the_variation(provider, stub):
    ctx = sequential()
    root = imagine("a fox")
    variation = Task(id="5", action=TaskAction.VARIATION, seed=1, parentId=root.id, index=4)
    reroll = Task(id="6", action=TaskAction.REROLL, seed=2, parentId=variation.id)
    task = Task(id="7", action=TaskAction.REROLL, seed=300, parentId=reroll.id)
    ctx.tasks.update({t.id: t for t in (root, variation, reroll)})
    ctx.quadrants[(root.id, 4)] = quadrant = png(BLUE)
    for i in range(4):
        body = {
            "prompt": "a fox",
            "mode": "image-to-image",
            "image": b64(quadrant),
            "strength": 0.6,
            "seed": 300 + i,
            "output_format": "png",
        }
        expect_invoke(stub, SD35, body, png())
    assert run(provider, task, ctx).kind == "done"


@pytest.mark.parametrize(
    "dimensions, size",
    [("PORTRAIT", (832, 1280)), ("SQUARE", (1024, 1024)), ("LANDSCAPE", (1280, 832))],
)
def test_blend_mixes_the_inputs_at_the_requested_dimensions(provider, stub, dimensions, size):
    ctx = sequential()
    task = Task(id="8", action=TaskAction.BLEND, seed=20, dimensions=dimensions)
    ctx.task_inputs[task.id] = [png(RED, (80, 60)), png(BLUE, (50, 90))]
    sent = []
    stub.client.meta.events.register(
        "before-parameter-build.bedrock-runtime.InvokeModel",
        lambda params, model, **kw: sent.append((params["modelId"], json.loads(params["body"]))),
    )
    for _ in range(4):
        stub.add_response("invoke_model", invoke_response(png()), None)

    out = run(provider, task, ctx)

    assert out.kind == "done" and out.result == "grid"
    assert [m for m, _ in sent] == [SD35] * 4
    assert [b["seed"] for _, b in sent] == [20, 21, 22, 23]
    body = sent[0][1]
    assert {k: v for k, v in body.items() if k != "image"} == {
        "prompt": bedrock.DEFAULT_BLEND_PROMPT,
        "mode": "image-to-image",
        "strength": 0.75,
        "seed": 20,
        "output_format": "png",
    }
    start = image(base64.b64decode(body["image"])).convert("RGB")
    assert start.size == size
    r, g, b = start.getpixel((size[0] // 2, size[1] // 2))
    assert abs(r - b) < 10 and r > 100  # an even mix of red and blue


def test_blend_needs_two_images(provider):
    ctx = sequential()
    task = Task(id="8", action=TaskAction.BLEND, dimensions="SQUARE")
    ctx.task_inputs[task.id] = [png()]
    out = run(provider, task, ctx)
    assert out.kind == "failed" and "at least 2" in out.fail_reason


# ---- DESCRIBE ---------------------------------------------------------------------------------
NOVA = "us.amazon.nova-2-lite-v1:0"


def expect_converse(stub: Stubber, data: bytes, response: dict, model: str = NOVA) -> None:
    stub.add_response(
        "converse",
        response,
        {
            "modelId": model,
            "system": [{"text": common.DESCRIBE_SYSTEM}],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"image": {"format": "png", "source": {"bytes": data}}},
                        {"text": common.DESCRIBE_INSTRUCTION},
                    ],
                }
            ],
            "inferenceConfig": {"maxTokens": 1024, "temperature": 0.7},
        },
    )


def describe_task(ctx: FakeContext, data: bytes) -> Task:
    task = Task(id="9", action=TaskAction.DESCRIBE)
    ctx.task_inputs[task.id] = [data]
    return task


def test_describe_returns_four_midjourney_prompts(provider, stub):
    ctx = FakeContext()
    data = png(GREEN, (96, 64))
    reply = (
        "1. a green field, flat colour, minimalism\n"
        '2) "an empty green square, studio lighting"\n\n'
        "- a lime backdrop, digital art --ar 1:1\n"
        "a verdant abstract, 8k\n"
    )
    expect_converse(stub, data, converse_response(reply))
    out = run(provider, describe_task(ctx, data), ctx)
    assert out.kind == "done" and out.result == "text"
    assert out.text == (
        "1\ufe0f\u20e3 a green field, flat colour, minimalism --ar 3:2\n\n"
        "2\ufe0f\u20e3 an empty green square, studio lighting --ar 3:2\n\n"
        "3\ufe0f\u20e3 a lime backdrop, digital art --ar 3:2\n\n"
        "4\ufe0f\u20e3 a verdant abstract, 8k --ar 3:2"
    )
    assert out.prompt == out.text and out.properties["finalPrompt"] == out.text


def test_describe_model_comes_from_configuration(provider, stub, monkeypatch):
    monkeypatch.setenv("MJ_BEDROCK_DESCRIBE_MODEL_ID", "anthropic.some-vision-model")
    ctx = FakeContext()
    data = png()
    expect_converse(
        stub, data, converse_response("a\nb\nc\nd"), model="anthropic.some-vision-model"
    )
    assert run(provider, describe_task(ctx, data), ctx).kind == "done"


@pytest.mark.parametrize("stop", ["content_filtered", "guardrail_intervened"])
def test_describe_refusals_fail(provider, stub, stop):
    ctx = FakeContext()
    data = png()
    expect_converse(stub, data, converse_response("", stop=stop))
    out = run(provider, describe_task(ctx, data), ctx)
    assert out.kind == "failed" and stop in out.fail_reason


def test_describe_with_too_few_prompts_fails(provider, stub):
    ctx = FakeContext()
    data = png()
    expect_converse(stub, data, converse_response("only one prompt"))
    out = run(provider, describe_task(ctx, data), ctx)
    assert out.kind == "failed" and "1 prompts instead of 4" in out.fail_reason


def test_describe_errors_and_throttling(provider, stub, sleeps):
    ctx = FakeContext(instance_settings={"retries": 0})
    data = png()
    stub.add_client_error("converse", "ThrottlingException", "Too many tokens", 429)
    assert run(provider, describe_task(ctx, data), ctx).kind == "wait"
    stub.add_client_error("converse", "ValidationException", "image too large", 400)
    out = provider.poll(describe_task(ctx, data), ctx)
    assert out.kind == "failed" and "image too large" in out.fail_reason and NOVA in out.fail_reason


# ---- configuration and docs -------------------------------------------------------------------
def test_every_setting_is_documented():
    docs = (ROOT / "docs" / "providers.md").read_text()
    from mjproxy.providers.openai import OpenAIConfig

    for cls in (bedrock.BedrockConfig, OpenAIConfig):
        for f in fields(cls):
            assert f"`{f.metadata['env']}`" in docs, f.metadata["env"]


def test_no_model_id_is_written_into_the_logic():
    """Model ids live only in the configuration defaults (aws-notes §8)."""
    source = (ROOT / "layers/common/python/mjproxy/providers/bedrock.py").read_text()
    logic = source.split("class BedrockProvider(", 1)[1]
    assert not re.search(r"[\"'](?:us\.)?(?:stability|amazon|anthropic)\.", logic)


def test_instance_settings_are_typed():
    cfg = common.overlay(
        common.env_config(bedrock.BedrockConfig),
        {
            "parallelCalls": "2",
            "img2img_send_mode": "no",
            "MJ_BEDROCK_ASPECT_RATIOS": "1:1, 16:9",
            "unrelated": "x",
        },
    )
    assert cfg.parallel_calls == 2 and cfg.img2img_send_mode is False
    assert cfg.aspect_ratios == ("1:1", "16:9")

"""The `openai` provider against recorded HTTP responses (a fake urllib opener): the exact
request bodies sent and the handling of the API's errors. No network."""

from __future__ import annotations

import base64
import email.message
import io
import json
import urllib.error
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError
from PIL import Image

from mjproxy.config import Instance
from mjproxy.domain.task import Task, TaskAction
from mjproxy.providers import common, openai
from mjproxy.providers.openai import OpenAIProvider

RED, GREEN, BLUE, YELLOW = (220, 20, 20), (20, 200, 20), (20, 20, 220), (230, 230, 20)
API = "https://api.openai.com/v1"


# ---- fakes ----------------------------------------------------------------------------------
def png(color=RED, size=(64, 64)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def jpeg(color=RED, size=(64, 64)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="JPEG")
    return buf.getvalue()


def image(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def images_reply(*colors, size=(64, 64)) -> dict:
    return {
        "created": 1764000000,
        "data": [{"b64_json": base64.b64encode(png(c, size)).decode()} for c in colors],
        "usage": {"input_tokens": 50, "output_tokens": 4000, "total_tokens": 4050},
    }


def error_reply(message: str, type_: str, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


@dataclass
class Sent:
    url: str
    method: str
    headers: dict[str, str]
    body: bytes
    timeout: float

    def json(self) -> Any:
        assert self.headers["Content-type"] == "application/json"
        return json.loads(self.body)

    def form(self) -> tuple[dict[str, str], list[tuple[str, str, str, bytes]]]:
        """multipart/form-data -> (fields, [(name, filename, content type, data)])."""
        ctype = self.headers["Content-type"]
        assert ctype.startswith("multipart/form-data; boundary=")
        msg = BytesParser(policy=policy.default).parsebytes(
            f"Content-Type: {ctype}\r\n\r\n".encode() + self.body
        )
        fields, files = {}, []
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if part.get_filename():
                files.append(
                    (
                        name,
                        part.get_filename(),
                        part.get_content_type(),
                        part.get_payload(decode=True),
                    )
                )
            else:
                fields[name] = part.get_payload(decode=True).decode()
        return fields, files


class FakeResponse:
    def __init__(self, body: bytes):
        self._body = body

    def read(self) -> bytes:
        return self._body

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class FakeOpener:
    """Replays recorded responses in order and records every request."""

    def __init__(self):
        self.replies: list[tuple[int, Any, dict[str, str]]] = []
        self.sent: list[Sent] = []

    def reply(self, status: int, body: Any, **headers: str) -> FakeOpener:
        self.replies.append((status, body, headers))
        return self

    def open(self, request, timeout=None):
        self.sent.append(
            Sent(
                request.full_url,
                request.get_method(),
                dict(request.header_items()),
                request.data,
                timeout,
            )
        )
        assert self.replies, f"unexpected request to {request.full_url}"
        status, body, headers = self.replies.pop(0)
        if isinstance(body, BaseException):
            raise body
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        if status == 200:
            return FakeResponse(raw)
        hdrs = email.message.Message()
        for k, v in headers.items():
            hdrs[k.replace("_", "-")] = v
        raise urllib.error.HTTPError(request.full_url, status, "error", hdrs, io.BytesIO(raw))


@dataclass
class FakeContext:
    instance_settings: dict[str, Any] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    task_inputs: dict[str, list[bytes]] = field(default_factory=dict)
    quadrants: dict[tuple[str, int], bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.settings = SimpleNamespace(region="us-east-1")
        self.instance = Instance(id="openai-1", provider="openai", settings=self.instance_settings)

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


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith(("MJ_BEDROCK_", "MJ_PROVIDER_", "MJ_OPENAI_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    common.reset()
    openai.forget_keys()
    yield
    common.reset()
    openai.forget_keys()


@pytest.fixture
def opener():
    o = FakeOpener()
    yield o
    assert not o.replies, "recorded responses left unused"


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def provider(opener, sleeps):
    return OpenAIProvider(opener, sleep=sleeps.append, clock=lambda: 0.0)


def imagine(prompt: str) -> Task:
    return Task(id="1700000000000001", action=TaskAction.IMAGINE, prompt=prompt, seed=1)


def run(provider: OpenAIProvider, task: Task, ctx: FakeContext):
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


# ---- IMAGINE ----------------------------------------------------------------------------------
def test_imagine_is_one_generation_with_n4_composed_into_a_grid(provider, opener):
    opener.reply(200, images_reply(RED, GREEN, BLUE, YELLOW))
    out = run(
        provider,
        imagine("a red fox in snow --ar 16:9 --no people --seed 42 --v 6.1"),
        FakeContext(),
    )

    assert out.kind == "done" and out.result == "grid"
    assert quadrant_colors(out.image) == [RED, GREEN, BLUE, YELLOW]
    (sent,) = opener.sent
    assert sent.url == f"{API}/images/generations" and sent.method == "POST"
    assert sent.headers["Authorization"] == "Bearer sk-test"
    assert sent.timeout == 150.0
    assert sent.json() == {
        "model": "gpt-image-1.5",
        "prompt": "a red fox in snow\n\nDo not include: people.",
        "n": 4,
        "size": "1536x1024",
        "quality": "medium",
        "output_format": "png",
    }
    assert out.properties["ignoredParams"] == ["--seed 42", "--v 6.1"]
    assert out.properties["size"] == "1536x1024"


@pytest.mark.parametrize(
    "ar, size",
    [
        ("1:1", "1024x1024"),
        ("16:9", "1536x1024"),
        ("3:2", "1536x1024"),
        ("4:3", "1536x1024"),
        ("2:3", "1024x1536"),
        ("9:16", "1024x1536"),
        ("4:5", "1024x1536"),
        ("5:4", "1536x1024"),
    ],
)
def test_ar_picks_the_nearest_size(provider, opener, ar, size):
    opener.reply(200, images_reply(RED, RED, RED, RED))
    assert run(provider, imagine(f"a fox --ar {ar}"), FakeContext()).kind == "done"
    assert opener.sent[0].json()["size"] == size


def test_model_base_url_sizes_and_quality_come_from_configuration(provider, opener, monkeypatch):
    monkeypatch.setenv("MJ_OPENAI_BASE_URL", "https://gateway.example/openai/v1/")
    monkeypatch.setenv("MJ_OPENAI_IMAGE_MODEL", "gpt-image-2")
    monkeypatch.setenv("MJ_OPENAI_SIZES", "1024x1024,1824x1024,1024x1824")
    monkeypatch.setenv("MJ_OPENAI_QUALITY", "high")
    monkeypatch.setenv("MJ_OPENAI_MODERATION", "low")
    opener.reply(200, images_reply(RED, RED, RED, RED))
    assert run(provider, imagine("a fox --ar 16:9"), FakeContext()).kind == "done"
    sent = opener.sent[0]
    assert sent.url == "https://gateway.example/openai/v1/images/generations"
    assert sent.json() == {
        "model": "gpt-image-2",
        "prompt": "a fox",
        "n": 4,
        "size": "1824x1024",
        "quality": "high",
        "output_format": "png",
        "moderation": "low",
    }


def test_imagine_with_a_reference_image_uses_edits(provider, opener):
    ctx = FakeContext()
    task = imagine("a castle like this one --iw 2")
    ctx.task_inputs[task.id] = [jpeg(BLUE)]
    opener.reply(200, images_reply(RED, GREEN, BLUE, YELLOW))
    out = run(provider, task, ctx)
    assert out.kind == "done" and out.properties["ignoredParams"] == ["--iw 2"]
    fields, files = opener.sent[0].form()
    assert opener.sent[0].url == f"{API}/images/edits"
    assert fields == {
        "model": "gpt-image-1.5",
        "prompt": "a castle like this one",
        "n": "4",
        "size": "1024x1024",
        "quality": "medium",
        "output_format": "png",
    }
    assert files == [("image", "image-1.jpg", "image/jpeg", ctx.task_inputs[task.id][0])]


def test_fewer_images_than_asked_fails(provider, opener):
    opener.reply(200, images_reply(RED, GREEN))
    out = run(provider, imagine("a fox"), FakeContext())
    assert out.kind == "failed" and "2 images instead of 4" in out.fail_reason


# ---- VARIATION, REROLL, BLEND -----------------------------------------------------------------
def test_variation_edits_the_quadrant(provider, opener, monkeypatch):
    monkeypatch.setenv("MJ_OPENAI_INPUT_FIDELITY", "high")
    ctx = FakeContext()
    parent = imagine("a red fox --ar 2:3 --no people --stylize 500")
    ctx.tasks[parent.id] = parent
    quadrant = png(RED, (64, 96))
    ctx.quadrants[(parent.id, 2)] = quadrant
    task = Task(id="2", action=TaskAction.VARIATION, parentId=parent.id, index=2)
    opener.reply(200, images_reply(RED, GREEN, BLUE, YELLOW, size=(64, 96)))

    out = run(provider, task, ctx)

    assert out.kind == "done" and out.result == "grid"
    assert image(out.image).size == (128, 192)
    fields, files = opener.sent[0].form()
    assert opener.sent[0].url == f"{API}/images/edits"
    assert fields == {
        "model": "gpt-image-1.5",
        "prompt": "Create a variation of this image: keep its subject, composition and style, "
        "vary the details. a red fox\n\nDo not include: people.",
        "n": "4",
        "size": "1024x1536",
        "quality": "medium",
        "output_format": "png",
        "input_fidelity": "high",
    }
    assert files == [("image", "image-1.png", "image/png", quadrant)]
    assert out.properties["ignoredParams"] == ["--stylize 500"]


def test_reroll_repeats_the_generation(provider, opener):
    ctx = FakeContext()
    parent = imagine("a fox --ar 9:16")
    ctx.tasks[parent.id] = parent
    task = Task(id="3", action=TaskAction.REROLL, parentId=parent.id)
    opener.reply(200, images_reply(RED, GREEN, BLUE, YELLOW))
    assert run(provider, task, ctx).kind == "done"
    assert opener.sent[0].json()["prompt"] == "a fox"
    assert opener.sent[0].json()["size"] == "1024x1536"


@pytest.mark.parametrize(
    "dimensions, size",
    [("PORTRAIT", "1024x1536"), ("SQUARE", "1024x1024"), ("LANDSCAPE", "1536x1024")],
)
def test_blend_sends_every_input_image(provider, opener, dimensions, size):
    ctx = FakeContext()
    task = Task(id="4", action=TaskAction.BLEND, dimensions=dimensions)
    inputs = [png(RED), jpeg(BLUE), png(GREEN)]
    ctx.task_inputs[task.id] = inputs
    opener.reply(200, images_reply(RED, GREEN, BLUE, YELLOW))
    out = run(provider, task, ctx)
    assert out.kind == "done" and out.result == "grid"
    fields, files = opener.sent[0].form()
    assert fields["size"] == size and fields["n"] == "4"
    assert fields["prompt"] == (
        "Blend these images into one coherent new image that fuses their "
        "subjects, styles and colour palettes."
    )
    assert files == [
        ("image[]", "image-1.png", "image/png", inputs[0]),
        ("image[]", "image-2.jpg", "image/jpeg", inputs[1]),
        ("image[]", "image-3.png", "image/png", inputs[2]),
    ]


# ---- UPSCALE ----------------------------------------------------------------------------------
def upscale_task(ctx: FakeContext, quadrant: bytes) -> Task:
    parent = imagine("a red fox --no people")
    ctx.tasks[parent.id] = parent
    ctx.quadrants[(parent.id, 1)] = quadrant
    return Task(id="5", action=TaskAction.UPSCALE, parentId=parent.id, index=1)


def test_default_upscale_is_a_local_lanczos_resize(provider, opener):
    ctx = FakeContext()
    out = run(provider, upscale_task(ctx, png(GREEN, (100, 60))), ctx)
    assert out.kind == "done" and out.result == "single"
    assert image(out.image).size == (200, 120)
    assert out.properties == {"upscaler": "lanczos x2"}
    assert opener.sent == []


def test_edit_upscale_asks_for_the_largest_size_of_the_quadrants_aspect(
    provider, opener, monkeypatch
):
    monkeypatch.setenv("MJ_OPENAI_UPSCALE_MODE", "edit")
    monkeypatch.setenv("MJ_OPENAI_SIZES", "1024x1024,1536x1024,1024x1536,2048x2048")
    ctx = FakeContext()
    quadrant = png(GREEN, (64, 64))
    opener.reply(200, images_reply(GREEN, size=(256, 256)))
    out = run(provider, upscale_task(ctx, quadrant), ctx)
    assert out.kind == "done" and image(out.image).size == (256, 256)
    fields, files = opener.sent[0].form()
    assert fields["n"] == "1" and fields["size"] == "2048x2048"
    assert fields["prompt"].startswith("Reproduce this image faithfully at a higher resolution")
    assert fields["prompt"].endswith("a red fox\n\nDo not include: people.")
    assert files == [("image", "image-1.png", "image/png", quadrant)]


def test_upscale_mode_none(provider, opener):
    ctx = FakeContext(instance_settings={"upscaleMode": "none"})
    quadrant = png()
    assert run(provider, upscale_task(ctx, quadrant), ctx).image == quadrant


# ---- DESCRIBE ---------------------------------------------------------------------------------
def describe_task(ctx: FakeContext, data: bytes) -> Task:
    task = Task(id="6", action=TaskAction.DESCRIBE)
    ctx.task_inputs[task.id] = [data]
    return task


def chat_reply(content: str | None, refusal: str | None = None, finish: str = "stop") -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "finish_reason": finish,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
            }
        ],
    }


def test_describe_uses_a_vision_chat_model(provider, opener):
    ctx = FakeContext()
    data = png(BLUE, (160, 90))
    opener.reply(
        200,
        chat_reply(
            "1. a blue wall\n2. a navy square\n3. cobalt minimalism\n4. deep blue texture, macro"
        ),
    )
    out = run(provider, describe_task(ctx, data), ctx)
    assert out.kind == "done" and out.result == "text"
    assert out.text == (
        "1\ufe0f\u20e3 a blue wall --ar 16:9\n\n2\ufe0f\u20e3 a navy square --ar 16:9"
        "\n\n3\ufe0f\u20e3 cobalt minimalism --ar 16:9\n\n"
        "4\ufe0f\u20e3 deep blue texture, macro --ar 16:9"
    )
    sent = opener.sent[0]
    assert sent.url == f"{API}/chat/completions"
    url = "data:image/png;base64," + base64.b64encode(data).decode()
    assert sent.json() == {
        "model": "gpt-5-mini",
        "messages": [
            {"role": "system", "content": common.DESCRIBE_SYSTEM},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": common.DESCRIBE_INSTRUCTION},
                    {"type": "image_url", "image_url": {"url": url}},
                ],
            },
        ],
    }


def test_describe_model_is_configurable(provider, opener, monkeypatch):
    monkeypatch.setenv("MJ_OPENAI_DESCRIBE_MODEL", "gpt-5.1")
    ctx = FakeContext()
    opener.reply(200, chat_reply("a\nb\nc\nd"))
    assert run(provider, describe_task(ctx, png()), ctx).kind == "done"
    assert opener.sent[0].json()["model"] == "gpt-5.1"


def test_describe_refusal_fails_with_the_models_words(provider, opener):
    ctx = FakeContext()
    opener.reply(200, chat_reply(None, refusal="I can't help with that image."))
    out = run(provider, describe_task(ctx, png()), ctx)
    assert out.kind == "failed" and "I can't help with that image." in out.fail_reason


# ---- errors -----------------------------------------------------------------------------------
MODERATION = error_reply(
    "Your request was rejected as a result of our safety system.",
    "image_generation_user_error",
    "moderation_blocked",
)


def test_moderation_refusal_fails_with_openais_message(provider, opener, sleeps):
    opener.reply(400, MODERATION)
    out = run(provider, imagine("something forbidden"), FakeContext())
    assert out.kind == "failed"
    assert out.fail_reason == (
        "OpenAI refused the request (OpenAI 400 moderation_blocked): Your "
        "request was rejected as a result of our safety system."
    )
    assert sleeps == []


def test_other_400s_fail_with_openais_message(provider, opener):
    opener.reply(
        400,
        error_reply(
            "Invalid value: '999x999'. Supported values are: ...",
            "invalid_request_error",
            "invalid_value",
        ),
    )
    out = run(provider, imagine("a fox"), FakeContext())
    assert out.kind == "failed"
    assert out.fail_reason == (
        "OpenAI 400 invalid_value: Invalid value: '999x999'. Supported values are: ..."
    )


def test_401_fails(provider, opener, sleeps):
    opener.reply(
        401,
        error_reply(
            "Incorrect API key provided: sk-test.", "invalid_request_error", "invalid_api_key"
        ),
    )
    out = run(provider, imagine("a fox"), FakeContext())
    assert out.kind == "failed" and "rejected the API key" in out.fail_reason
    assert "Incorrect API key provided" in out.fail_reason and sleeps == []


def test_429_is_retried_honouring_retry_after(provider, opener, sleeps):
    opener.reply(
        429,
        error_reply("Rate limit reached for images per minute.", "requests", "rate_limit_exceeded"),
        retry_after="3",
    )
    opener.reply(200, images_reply(RED, GREEN, BLUE, YELLOW))
    out = run(provider, imagine("a fox"), FakeContext())
    assert out.kind == "done"
    assert len(sleeps) == 1 and 3.0 <= sleeps[0] <= 3.75
    assert opener.sent[0].body == opener.sent[1].body  # the same request again


def test_500_is_retried(provider, opener, sleeps):
    opener.reply(
        500, error_reply("The server had an error processing your request.", "server_error")
    )
    opener.reply(200, images_reply(RED, GREEN, BLUE, YELLOW))
    assert run(provider, imagine("a fox"), FakeContext()).kind == "done"
    assert len(sleeps) == 1 and 1.0 <= sleeps[0] <= 1.25


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_persistent_429_or_5xx_waits_then_fails(provider, opener, sleeps, status):
    for _ in range(3):
        opener.reply(status, error_reply("busy", "server_error"))
    task = imagine("a fox")
    out = run(provider, task, FakeContext())
    assert out.kind == "wait" and out.delay == 20 and out.state == {"deferrals": 1}
    assert len(sleeps) == 2

    task.providerState["deferrals"] = 6
    opener.reply(status, error_reply("busy", "server_error"))
    out = provider.poll(task, FakeContext(instance_settings={"retries": 0}))
    assert (
        out.kind == "failed" and f"OpenAI {status}" in out.fail_reason and "busy" in out.fail_reason
    )


def test_a_long_retry_after_becomes_the_wait_delay(provider, opener, sleeps):
    opener.reply(
        429,
        error_reply("Rate limit reached", "requests", "rate_limit_exceeded"),
        retry_after_ms="200000",
    )
    out = run(provider, imagine("a fox"), FakeContext())
    assert out.kind == "wait" and out.delay == 200 and sleeps == []


def test_insufficient_quota_is_not_retried(provider, opener, sleeps):
    opener.reply(
        429,
        error_reply(
            "You exceeded your current quota, please check your plan.",
            "insufficient_quota",
            "insufficient_quota",
        ),
    )
    out = run(provider, imagine("a fox"), FakeContext())
    assert out.kind == "failed" and "exceeded your current quota" in out.fail_reason
    assert sleeps == []


def test_network_errors_are_transient(provider, opener):
    for _ in range(3):
        opener.reply(0, urllib.error.URLError(TimeoutError("timed out")))
    out = run(provider, imagine("a fox"), FakeContext())
    assert out.kind == "wait"


def test_a_non_json_reply_fails(provider, opener):
    opener.reply(200, b"<html>gateway</html>")
    out = run(provider, imagine("a fox"), FakeContext())
    assert out.kind == "failed" and "not JSON" in out.fail_reason


# ---- the API key ------------------------------------------------------------------------------
def test_the_key_secret_is_read_once_and_cached(opener, sleeps, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("MJ_OPENAI_API_KEY_SECRET", "arn:aws:secretsmanager:us-east-1:1:secret:oai")
    reads = []

    def reader(secret_id):
        reads.append(secret_id)
        return "sk-from-secret"

    provider = OpenAIProvider(opener, secret_reader=reader, sleep=sleeps.append, clock=lambda: 0.0)
    for _ in range(2):
        opener.reply(200, images_reply(RED, GREEN, BLUE, YELLOW))
        assert run(provider, imagine("a fox"), FakeContext()).kind == "done"
    assert reads == ["arn:aws:secretsmanager:us-east-1:1:secret:oai"]
    assert all(s.headers["Authorization"] == "Bearer sk-from-secret" for s in opener.sent)

    # a 401 forgets the cached key so a rotated secret is picked up by the next task
    opener.reply(401, error_reply("Incorrect API key provided", "invalid_request_error"))
    assert run(provider, imagine("a fox"), FakeContext()).kind == "failed"
    opener.reply(200, images_reply(RED, GREEN, BLUE, YELLOW))
    assert run(provider, imagine("a fox"), FakeContext()).kind == "done"
    assert len(reads) == 2


def test_secret_in_secrets_manager_json_form(monkeypatch):
    import boto3
    from moto import mock_aws

    from mjproxy import aws

    with mock_aws():
        aws.reset()
        sm = boto3.client("secretsmanager", region_name="us-east-1")
        sm.create_secret(Name="mj/openai", SecretString=json.dumps({"apiKey": "sk-json"}))
        sm.create_secret(Name="mj/openai-raw", SecretString="sk-raw\n")
        assert openai.read_secret("mj/openai") == "sk-json"
        assert openai.read_secret("mj/openai-raw") == "sk-raw"
    aws.reset()


def test_no_key_fails_with_a_configuration_reason(provider, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    out = run(provider, imagine("a fox"), FakeContext())
    assert out.kind == "failed" and "no OpenAI API key" in out.fail_reason


def test_secret_read_errors_fail(opener, monkeypatch):
    monkeypatch.setenv("MJ_OPENAI_API_KEY_SECRET", "mj/missing")

    def reader(secret_id):
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "nope"}}, "GetSecretValue"
        )

    provider = OpenAIProvider(opener, secret_reader=reader, sleep=lambda s: None)
    out = run(provider, imagine("a fox"), FakeContext())
    assert out.kind == "failed" and "mj/missing" in out.fail_reason and "nope" in out.fail_reason

"""The scenario suite with the `bedrock` and `openai` providers behind stubs (issue 7).

Every flow goes through the real API handlers and the real worker on moto (`system.post` /
`system.drain`); only the generator is stubbed:
- bedrock: a real `bedrock-runtime` client under `botocore.stub.Stubber` (moto's Bedrock answers
  `{}`), with every InvokeModel / Converse request recorded as botocore received it;
- openai: a urllib opener that answers with recorded OpenAI JSON responses carrying real base64
  PNGs and records every request. The API key is read from Secrets Manager (moto).
The provider, built with the stubbed client, is put into the provider registry's cache, so the
worker's `get_provider(instance.provider)` returns it. Model ids, timeouts and budgets come from
template.yaml's worker environment (the harness applies it), so the template's defaults are what
these tests check.
"""

from __future__ import annotations

import base64
import copy
import email.message
import http.client
import io
import json
import threading
import urllib.error
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from PIL import Image

from mjproxy import config, jobs, providers
from mjproxy.domain.task import FAILURE_PROGRESS
from mjproxy.providers import common
from mjproxy.providers import openai as openai_module
from mjproxy.providers.bedrock import DEFAULT_BLEND_PROMPT, BedrockProvider
from mjproxy.providers.openai import OpenAIProvider
from mjproxy.store.tasks import TaskRepository
from tests.scenarios import data_url, fetch, png_bytes, run_to_end, submit_ok

# The template's defaults (docs/providers.md).
CORE = "stability.stable-image-core-v1:1"
SD35 = "stability.sd3-5-large-v1:0"
FAST_UPSCALER = "stability.stable-fast-upscale-v1:0"
NOVA = "us.amazon.nova-2-lite-v1:0"
GPT_IMAGE = "gpt-image-1.5"
GPT_DESCRIBE = "gpt-5-mini"
API = "https://api.openai.com/v1"
API_KEY = "sk-test-0123456789"
BEDROCK_REGION = "us-west-2"

PROMPT = "a red fox in snow --ar 3:2 --no people, fences --seed 1234 --v 6.1 --q 2"
TEXT = "a red fox in snow"
NEGATIVE = "people, fences"
OPENAI_TEXT = f"{TEXT}\n\nDo not include: {NEGATIVE}."
CELL = (96, 64)  # a small stand-in for a 3:2 image (1216x832 on Stability, 1536x1024 on OpenAI)
COLORS = [(220, 20, 20), (20, 200, 20), (20, 20, 220), (230, 230, 20)]
UPSCALED = (250, 250, 250)


# ---- what was sent ------------------------------------------------------------------------------
@dataclass
class Call:
    """One request to the generator. bedrock: `endpoint` is the model id and `body` the
    InvokeModel JSON body (or the whole Converse request). openai: `endpoint` is the path and
    `body` the JSON body or the multipart form fields; `files` are (field, type, bytes)."""

    endpoint: str
    body: dict[str, Any]
    files: list[tuple[str, str, bytes]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def without_seed(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "seed"}


def grid_seeds(calls: list[Call]) -> list[int]:
    """The seeds of a Bedrock grid's four calls, which must be s, s+1, s+2, s+3."""
    seeds = sorted(c.body["seed"] for c in calls)
    assert seeds == [seeds[0] + i for i in range(4)], seeds
    return seeds


# ---- bedrock: Stubber on a real client ----------------------------------------------------------
class BedrockBackend:
    name = "bedrock"

    def __init__(self) -> None:
        self.client = boto3.client("bedrock-runtime", region_name=BEDROCK_REGION)
        self.stub = Stubber(self.client)
        self.calls: list[Call] = []
        self.sleeps: list[float] = []
        self.configs: list[tuple[str, Any]] = []
        self.job_delays: list[tuple[str, float]] = []  # (step, delay asked for), see `backend`
        self._lock = threading.Lock()
        # Recorded as botocore receives the parameters (the grid's four calls run in parallel).
        self.client.meta.events.register_first(
            "before-parameter-build.bedrock-runtime", self._record
        )
        self.stub.activate()
        self.provider = BedrockProvider(self._client_for, sleep=self.sleeps.append)

    def _client_for(self, region: str, cfg: Any) -> Any:
        self.configs.append((region, cfg))
        return self.client

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "InvokeModel":
            call = Call(params["modelId"], json.loads(params["body"]))
            assert params["contentType"] == params["accept"] == "application/json"
        else:
            call = Call(params["modelId"], copy.deepcopy(params))
        with self._lock:
            self.calls.append(call)

    @staticmethod
    def _invoke(payload: dict[str, Any]) -> dict[str, Any]:
        raw = json.dumps(payload).encode()
        return {"body": StreamingBody(io.BytesIO(raw), len(raw)), "contentType": "application/json"}

    def _image(self, data: bytes, seed: int = 0) -> None:
        response = self._invoke({"seeds": [seed], "finish_reasons": [None], "images": [b64(data)]})
        self.stub.add_response("invoke_model", response)

    # ---- what the tests queue -----------------------------------------------------------------
    def grid(self, size: tuple[int, int]) -> None:
        for color in COLORS:
            self._image(png_bytes(size, color))

    def upscaled(self, quadrant: tuple[int, int]) -> tuple[int, int]:
        size = (quadrant[0] * 4, quadrant[1] * 4)  # the fast upscaler: 4x
        self._image(png_bytes(size, UPSCALED))
        return size

    def described(self, reply: str) -> None:
        self.stub.add_response(
            "converse",
            {
                "output": {"message": {"role": "assistant", "content": [{"text": reply}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": 1290, "outputTokens": 160, "totalTokens": 1450},
                "metrics": {"latencyMs": 2100},
            },
        )

    def content_filtered(self) -> str:
        self.stub.add_response(
            "invoke_model",
            self._invoke({"seeds": [1234], "finish_reasons": ["Filter reason: prompt"]}),
        )
        return "Bedrock's content filter blocked the prompt (Filter reason: prompt)"

    def throttled(self) -> None:
        """Throttled until the in-call retries (MJ_PROVIDER_RETRIES=2) are used up."""
        for _ in range(3):
            self.stub.add_client_error(
                "invoke_model",
                "ThrottlingException",
                "Too many requests, please wait before trying again.",
                429,
            )

    def sequential(self, monkeypatch: Any) -> None:
        """One call at a time, so a grid consumes the queued answers in order."""
        monkeypatch.setenv("MJ_BEDROCK_PARALLEL_CALLS", "1")
        common.reset()

    def take_calls(self) -> list[Call]:
        with self._lock:
            out, self.calls = self.calls, []
        return out

    def close(self) -> None:
        self.stub.assert_no_pending_responses()
        self.stub.deactivate()


# ---- openai: recorded HTTP responses ------------------------------------------------------------
class _Response:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def read(self) -> bytes:
        return self._body

    def __enter__(self) -> _Response:
        return self

    def __exit__(self, *exc: Any) -> bool:
        return False


class RecordedOpenAI:
    """A urllib opener: answers each request with the next recorded (status, JSON, headers)."""

    def __init__(self) -> None:
        self.replies: list[tuple[int, dict[str, Any], dict[str, str]]] = []
        self.calls: list[Call] = []

    def open(self, request: Any, timeout: float | None = None) -> _Response:
        headers = dict(request.header_items())
        assert request.full_url.startswith(API + "/") and request.get_method() == "POST"
        path = request.full_url[len(API) :]
        ctype = headers["Content-type"]
        if ctype == "application/json":
            call = Call(path, json.loads(request.data), headers=headers, timeout=timeout)
        else:
            form, files = _multipart(ctype, request.data)
            call = Call(path, form, files, headers=headers, timeout=timeout)
        self.calls.append(call)
        assert self.replies, f"unexpected request to {path}"
        status, body, reply_headers = self.replies.pop(0)
        raw = json.dumps(body).encode()
        if status == 200:
            return _Response(raw)
        hdrs = email.message.Message()
        for name, value in reply_headers.items():
            hdrs[name] = value
        raise urllib.error.HTTPError(
            request.full_url, status, http.client.responses[status], hdrs, io.BytesIO(raw)
        )


def _multipart(ctype: str, body: bytes) -> tuple[dict[str, str], list[tuple[str, str, bytes]]]:
    assert ctype.startswith("multipart/form-data; boundary=")
    msg = BytesParser(policy=policy.default).parsebytes(
        f"Content-Type: {ctype}\r\n\r\n".encode() + body
    )
    form, files = {}, []
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if part.get_filename():
            files.append((name, part.get_content_type(), part.get_payload(decode=True)))
        else:
            form[name] = part.get_payload(decode=True).decode()
    return form, files


def _openai_error(message: str, type_: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


class OpenAIBackend:
    name = "openai"

    def __init__(self) -> None:
        self.opener = RecordedOpenAI()
        self.sleeps: list[float] = []
        self.job_delays: list[tuple[str, float]] = []  # (step, delay asked for), see `backend`
        self.provider = OpenAIProvider(self.opener, sleep=self.sleeps.append)

    def grid(self, size: tuple[int, int]) -> None:
        self.opener.replies.append(
            (
                200,
                {
                    "created": 1764000000,
                    "background": "opaque",
                    "output_format": "png",
                    "quality": "medium",
                    "size": "1536x1024",
                    "data": [{"b64_json": b64(png_bytes(size, c))} for c in COLORS],
                    "usage": {
                        "input_tokens": 21,
                        "input_tokens_details": {"image_tokens": 0, "text_tokens": 21},
                        "output_tokens": 6240,
                        "total_tokens": 6261,
                    },
                },
                {},
            )
        )

    def upscaled(self, quadrant: tuple[int, int]) -> tuple[int, int]:
        # MJ_OPENAI_UPSCALE_MODE=lanczos (the default): resized locally by 2, no API call.
        return (quadrant[0] * 2, quadrant[1] * 2)

    def described(self, reply: str) -> None:
        self.opener.replies.append(
            (
                200,
                {
                    "id": "chatcmpl-CmjproxyDescribe01",
                    "object": "chat.completion",
                    "created": 1764000000,
                    "model": "gpt-5-mini-2025-08-07",
                    "choices": [
                        {
                            "index": 0,
                            "message": {
                                "role": "assistant",
                                "content": reply,
                                "refusal": None,
                                "annotations": [],
                            },
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {
                        "prompt_tokens": 1100,
                        "completion_tokens": 700,
                        "total_tokens": 1800,
                    },
                },
                {},
            )
        )

    def content_filtered(self) -> str:
        message = (
            "Your request was rejected by the safety system. If you believe this is an error, "
            "contact us at help.openai.com and include the request ID req_0123456789abcdef."
        )
        self.opener.replies.append(
            (400, _openai_error(message, "image_generation_user_error", "moderation_blocked"), {})
        )
        return f"OpenAI refused the request (OpenAI 400 moderation_blocked): {message}"

    def throttled(self) -> None:
        """429 until the in-call retries (MJ_PROVIDER_RETRIES=2) are used up."""
        message = (
            "Rate limit reached for gpt-image-1.5 in organization org-test on images per minute "
            "(IPM): Limit 5, Used 5, Requested 4. Please try again in 12s."
        )
        for _ in range(3):
            self.opener.replies.append(
                (
                    429,
                    _openai_error(message, "requests", "rate_limit_exceeded"),
                    {"retry-after": "12"},
                )
            )

    def sequential(self, monkeypatch: Any) -> None:
        """One call per grid anyway (n=4)."""

    def take_calls(self) -> list[Call]:
        out, self.opener.calls = self.opener.calls, []
        return out

    def close(self) -> None:
        assert not self.opener.replies, f"unused recorded replies: {len(self.opener.replies)}"


# ---- the fixture --------------------------------------------------------------------------------
_PENDING: list[Any] = []


def _pending_provider() -> Any:
    """The registry's "class" while `install_provider` runs: hands out the stubbed provider."""
    return _PENDING.pop()


def install_provider(name: str, provider: Any) -> None:
    """Put `provider` into the registry's cache under `name`: get_provider(name) builds it once
    (lru cache keyed by name), here through a registry entry that returns the stubbed instance."""
    original = providers.REGISTRY[name]
    providers.get_provider.cache_clear()
    providers.REGISTRY[name] = f"{__name__}:_pending_provider"
    _PENDING.append(provider)
    try:
        assert providers.get_provider(name) is provider
    finally:
        providers.REGISTRY[name] = original
        _PENDING.clear()


@pytest.fixture(params=["bedrock", "openai"])
def backend(request, system, monkeypatch):
    """MJ_PROVIDER=<provider> with its generator stubbed. Delayed jobs are sent without delay
    (moto would hide them from the drain) and the delays asked for are kept in `job_delays`."""
    name = request.param
    monkeypatch.setenv("MJ_PROVIDER", name)
    if name == "bedrock":
        monkeypatch.setenv("MJ_BEDROCK_REGION", BEDROCK_REGION)  # BedrockRegion=us-west-2
    else:
        secret = boto3.client("secretsmanager").create_secret(
            Name="mjproxy/openai-api-key", SecretString=json.dumps({"apiKey": API_KEY})
        )
        monkeypatch.setenv("MJ_OPENAI_API_KEY_SECRET", secret["ARN"])
    config.reset()
    common.reset()
    openai_module.forget_keys()
    stubbed = BedrockBackend() if name == "bedrock" else OpenAIBackend()
    install_provider(name, stubbed.provider)

    real_send = jobs.send

    def send(job: jobs.Job, delay_seconds: float = 0, queue_url: str | None = None) -> None:
        stubbed.job_delays.append((job.step, delay_seconds))
        real_send(job, 0, queue_url)

    monkeypatch.setattr(jobs, "send", send)
    yield stubbed
    stubbed.close()
    common.reset()
    openai_module.forget_keys()


# ---- helpers ------------------------------------------------------------------------------------
def object_bytes(url: str) -> bytes:
    """The object behind a presigned URL, read from moto's S3 (path or virtual-host style)."""
    bucket = config.settings().bucket_name
    parts = urlsplit(url)
    path = unquote(parts.path).lstrip("/")
    key = path[len(bucket) + 1 :] if path.startswith(bucket + "/") else path
    return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def image_at(url: str) -> Image.Image:
    img = Image.open(io.BytesIO(object_bytes(url)))
    img.load()
    return img


def center(img: Image.Image) -> tuple[int, int, int]:
    return img.convert("RGB").getpixel((img.width // 2, img.height // 2))


def assert_grid(task: dict[str, Any], cell: tuple[int, int]) -> None:
    """SUCCESS with a 2x2 grid of `cell`-sized images made of the four generated images."""
    assert task["status"] == "SUCCESS", task
    assert task["progress"] == "100%" and task["failReason"] is None
    grid = image_at(task["imageUrl"])
    assert grid.format == "PNG" and grid.size == (cell[0] * 2, cell[1] * 2)
    assert len(task["imageUrls"]) == 4
    quadrants = [image_at(u["url"]) for u in task["imageUrls"]]
    assert {q.size for q in quadrants} == {cell}
    assert sorted(center(q) for q in quadrants) == sorted(COLORS)
    assert any(b["customId"].startswith("MJ::JOB::upsample::1::") for b in task["buttons"])


def imagine(backend: Any, system: Any, prompt: str = PROMPT) -> dict[str, Any]:
    backend.grid(CELL)
    task = run_to_end(system, submit_ok(system, "/mj/submit/imagine", {"prompt": prompt}))
    assert_grid(task, CELL)
    return task


def change(system: Any, parent_id: str, action: str, index: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"taskId": parent_id, "action": action}
    if index is not None:
        body["index"] = index
    return run_to_end(system, submit_ok(system, "/mj/submit/change", body))


def step_until_done(system: Any, task_id: str) -> list[str]:
    """Deliver jobs one round at a time; the task's status after each round."""
    statuses = [fetch(system, task_id)["status"]]
    for _ in range(100):
        if not system.deliver_once():
            break
        statuses.append(fetch(system, task_id)["status"])
    return statuses


# ---- imagine --------------------------------------------------------------------------------------
def test_imagine_sends_the_prompt_without_midjourney_parameters(backend, system):
    task = imagine(backend, system)
    calls = backend.take_calls()
    props = task["properties"]
    assert task["prompt"] == PROMPT and task["description"] == f"/imagine {PROMPT}"
    if backend.name == "bedrock":
        assert [c.endpoint for c in calls] == [CORE] * 4
        assert sorted((c.body for c in calls), key=lambda b: b["seed"]) == [
            {
                "prompt": TEXT,
                "negative_prompt": NEGATIVE,
                "aspect_ratio": "3:2",
                "seed": 1234 + i,
                "output_format": "png",
            }
            for i in range(4)
        ]
        assert props["finalPrompt"] == TEXT and props["aspectRatio"] == "3:2"
        assert props["ignoredParams"] == ["--v 6.1", "--q 2"]
        # MJ_BEDROCK_REGION and the template's worker timeouts reach the provider.
        region, cfg = backend.configs[-1]
        assert region == BEDROCK_REGION
        assert (cfg.timeout_seconds, cfg.step_budget_seconds) == (150.0, 300.0)
    else:
        [call] = calls
        assert call.endpoint == "/images/generations"
        assert call.body == {
            "model": GPT_IMAGE,
            "prompt": OPENAI_TEXT,
            "n": 4,
            "size": "1536x1024",
            "quality": "medium",
            "output_format": "png",
        }
        assert call.headers["Authorization"] == f"Bearer {API_KEY}"  # from Secrets Manager
        assert call.timeout == 150.0
        assert props["finalPrompt"] == OPENAI_TEXT and props["size"] == "1536x1024"
        assert props["ignoredParams"] == ["--seed 1234", "--v 6.1", "--q 2"]


def test_imagine_with_reference_images(backend, system):
    ref = png_bytes((64, 64), (10, 200, 40))
    backend.grid((64, 64))
    body = {"prompt": "a garden --iw 1.5", "base64Array": [data_url(ref)]}
    task = run_to_end(system, submit_ok(system, "/mj/submit/imagine", body))
    assert_grid(task, (64, 64))
    calls = backend.take_calls()
    if backend.name == "bedrock":
        # Image-to-image from the references' mix at the prompt's aspect; --iw 1.5 -> 0.55.
        start = b64(common.mix_images([ref], (1024, 1024)))
        assert [c.endpoint for c in calls] == [SD35] * 4
        grid_seeds(calls)
        assert [without_seed(c.body) for c in calls] == [
            {
                "prompt": "a garden",
                "mode": "image-to-image",
                "image": start,
                "strength": 0.55,
                "output_format": "png",
            }
        ] * 4
    else:
        [call] = calls
        assert call.endpoint == "/images/edits"
        assert call.body == {
            "model": GPT_IMAGE,
            "prompt": "a garden",
            "n": "4",
            "size": "1024x1024",
            "quality": "medium",
            "output_format": "png",
        }
        assert call.files == [("image", "image/png", ref)]
        assert task["properties"]["ignoredParams"] == ["--iw 1.5"]


# ---- U1-U4, V1-V4, reroll ---------------------------------------------------------------------------
def test_upscale_u1_to_u4_is_the_chosen_quadrant(backend, system):
    parent = imagine(backend, system)
    backend.take_calls()
    for index in (1, 2, 3, 4):
        quadrant = object_bytes(parent["imageUrls"][index - 1]["url"])
        size = backend.upscaled(CELL)
        child = change(system, parent["id"], "UPSCALE", index)
        assert child["status"] == "SUCCESS", child
        assert child["description"] == f"/up {parent['id']} U{index}"
        assert child["imageUrls"] is None
        assert "MJ::JOB::reroll::0::" in child["buttons"][-1]["customId"]
        assert not any("::upsample::" in b["customId"] for b in child["buttons"])
        up = image_at(child["imageUrl"])
        assert up.format == "PNG" and up.size == size
        calls = backend.take_calls()
        if backend.name == "bedrock":
            assert [(c.endpoint, c.body) for c in calls] == [
                (FAST_UPSCALER, {"image": b64(quadrant), "output_format": "png"})
            ]
            assert child["properties"]["upscaler"] == "fast" and center(up) == UPSCALED
        else:
            assert calls == []
            assert child["properties"]["upscaler"] == "lanczos x2"
            assert center(up) == center(Image.open(io.BytesIO(quadrant)))


def test_variation_v1_to_v4_starts_from_the_chosen_quadrant(backend, system):
    parent = imagine(backend, system)
    backend.take_calls()
    for index in (1, 2, 3, 4):
        quadrant = object_bytes(parent["imageUrls"][index - 1]["url"])
        backend.grid(CELL)
        child = change(system, parent["id"], "VARIATION", index)
        assert_grid(child, CELL)
        assert child["description"] == f"/up {parent['id']} V{index}"
        calls = backend.take_calls()
        if backend.name == "bedrock":
            assert [c.endpoint for c in calls] == [SD35] * 4
            assert 1234 not in grid_seeds(calls)  # new seeds, not the prompt's --seed
            assert [without_seed(c.body) for c in calls] == [
                {
                    "prompt": TEXT,
                    "negative_prompt": NEGATIVE,
                    "mode": "image-to-image",
                    "image": b64(quadrant),
                    "strength": 0.6,
                    "output_format": "png",
                }
            ] * 4
        else:
            [call] = calls
            assert call.endpoint == "/images/edits"
            assert call.body == {
                "model": GPT_IMAGE,
                "prompt": "Create a variation of this image: keep its subject, composition and "
                f"style, vary the details. {OPENAI_TEXT}",
                "n": "4",
                "size": "1536x1024",
                "quality": "medium",
                "output_format": "png",
            }
            assert call.files == [("image", "image/png", quadrant)]


def test_reroll_makes_a_new_grid_that_can_be_changed_again(backend, system):
    parent = imagine(backend, system)
    first = backend.take_calls()
    backend.grid(CELL)
    reroll = change(system, parent["id"], "REROLL")
    assert_grid(reroll, CELL)
    assert reroll["description"] == f"/up {parent['id']} R"
    calls = backend.take_calls()
    if backend.name == "bedrock":
        # The same request with new seeds (the prompt's --seed 1234 would repeat the grid).
        assert [c.endpoint for c in calls] == [CORE] * 4
        assert grid_seeds(calls)[0] != 1234
        assert [without_seed(c.body) for c in calls] == [without_seed(c.body) for c in first]
    else:
        assert [(c.endpoint, c.body) for c in calls] == [(c.endpoint, c.body) for c in first]
    # A rerolled grid is a grid like any other: U and V work on it.
    backend.upscaled(CELL)
    assert change(system, reroll["id"], "UPSCALE", 2)["status"] == "SUCCESS"
    backend.grid(CELL)
    assert_grid(change(system, reroll["id"], "VARIATION", 1), CELL)
    backend.take_calls()


# ---- describe and blend -----------------------------------------------------------------------------
DESCRIBED = """1. a golden wheat field at noon, flat colour, minimalist poster, warm light --ar 3:2
2) "amber abstract colour field painting, soft gradient, calm mood"
- sunlit yellow wall, close-up texture, matte paint, afternoon glow
4\ufe0f\u20e3 mustard yellow backdrop, studio photography, even lighting, simple composition"""
EXPECTED_DESCRIPTION = "\n\n".join(
    [
        "1\ufe0f\u20e3 a golden wheat field at noon, flat colour, minimalist poster, warm light "
        "--ar 3:2",
        "2\ufe0f\u20e3 amber abstract colour field painting, soft gradient, calm mood --ar 3:2",
        "3\ufe0f\u20e3 sunlit yellow wall, close-up texture, matte paint, afternoon glow --ar 3:2",
        "4\ufe0f\u20e3 mustard yellow backdrop, studio photography, even lighting, simple "
        "composition --ar 3:2",
    ]
)


def test_describe_writes_four_prompts_about_the_image(backend, system):
    src = png_bytes((96, 64), (240, 200, 40))
    backend.described(DESCRIBED)
    task = run_to_end(system, submit_ok(system, "/mj/submit/describe", {"base64": data_url(src)}))
    assert task["status"] == "SUCCESS", task
    assert task["prompt"] == task["promptEn"] == EXPECTED_DESCRIPTION
    assert task["properties"]["finalPrompt"] == EXPECTED_DESCRIPTION
    described = image_at(task["imageUrl"])
    assert described.size == (96, 64) and task["imageUrls"] is None
    assert task["buttons"][-1]["customId"] == "MJ::Picread::Retry"
    [call] = backend.take_calls()
    if backend.name == "bedrock":
        assert call.endpoint == NOVA
        assert call.body == {
            "modelId": NOVA,
            "system": [{"text": common.DESCRIBE_SYSTEM}],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"image": {"format": "png", "source": {"bytes": src}}},
                        {"text": common.DESCRIBE_INSTRUCTION},
                    ],
                }
            ],
            "inferenceConfig": {"maxTokens": 1024, "temperature": 0.7},
        }
    else:
        assert call.endpoint == "/chat/completions"
        assert call.body == {
            "model": GPT_DESCRIBE,
            "messages": [
                {"role": "system", "content": common.DESCRIBE_SYSTEM},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": common.DESCRIBE_INSTRUCTION},
                        {"type": "image_url", "image_url": {"url": data_url(src)}},
                    ],
                },
            ],
        }


def test_blend_then_upscale_variation_reroll(backend, system):
    inputs = [png_bytes((64, 64), c) for c in COLORS[:3]]
    backend.grid(CELL)
    body = {"base64Array": [data_url(i) for i in inputs], "dimensions": "LANDSCAPE"}
    blend = run_to_end(system, submit_ok(system, "/mj/submit/blend", body))
    assert_grid(blend, CELL)
    assert blend["description"] == f"/blend {blend['id']} 3"
    calls = backend.take_calls()
    if backend.name == "bedrock":
        # The inputs mixed evenly at LANDSCAPE (3:2, about 1 MP), then image-to-image.
        start = b64(common.mix_images(inputs, (1280, 832)))
        assert [c.endpoint for c in calls] == [SD35] * 4
        grid_seeds(calls)
        assert [without_seed(c.body) for c in calls] == [
            {
                "prompt": DEFAULT_BLEND_PROMPT,
                "mode": "image-to-image",
                "image": start,
                "strength": 0.75,
                "output_format": "png",
            }
        ] * 4
        assert blend["properties"]["finalPrompt"] == DEFAULT_BLEND_PROMPT
    else:
        [call] = calls
        text = (
            "Blend these images into one coherent new image that fuses their subjects, styles "
            "and colour palettes."
        )
        assert call.endpoint == "/images/edits"
        assert call.body == {
            "model": GPT_IMAGE,
            "prompt": text,
            "n": "4",
            "size": "1536x1024",
            "quality": "medium",
            "output_format": "png",
        }
        assert call.files == [("image[]", "image/png", data) for data in inputs]
        assert blend["properties"]["finalPrompt"] == text

    size = backend.upscaled(CELL)
    up = change(system, blend["id"], "UPSCALE", 1)
    assert up["status"] == "SUCCESS" and image_at(up["imageUrl"]).size == size
    backend.grid(CELL)
    assert_grid(change(system, blend["id"], "VARIATION", 2), CELL)
    backend.take_calls()
    backend.grid(CELL)
    reroll = change(system, blend["id"], "REROLL")
    assert_grid(reroll, CELL)
    again = backend.take_calls()
    if backend.name == "bedrock":
        assert 0 < len(again) and [without_seed(c.body) for c in again] == [
            without_seed(c.body) for c in calls
        ]
    else:
        assert [(c.endpoint, c.body, c.files) for c in again] == [
            (c.endpoint, c.body, c.files) for c in calls
        ]


# ---- failures and throttling ------------------------------------------------------------------------
def test_a_content_filter_result_fails_the_task_with_a_readable_reason(
    backend, system, monkeypatch
):
    backend.sequential(monkeypatch)
    reason = backend.content_filtered()
    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": PROMPT})
    task = run_to_end(system, task_id)
    assert (task["status"], task["progress"]) == ("FAILURE", FAILURE_PROGRESS), task
    assert task["failReason"] == reason
    assert task["imageUrl"] is None and task["imageUrls"] is None and task["buttons"] == []
    # Refused at once: one request, no retries, no delayed polls.
    assert len(backend.take_calls()) == 1 and backend.sleeps == []
    assert [d for step, d in backend.job_delays if step == jobs.POLL] == [0]


def test_throttling_is_retried_and_the_task_completes_later(backend, system, monkeypatch):
    backend.sequential(monkeypatch)
    backend.throttled()
    backend.grid(CELL)
    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": PROMPT})
    statuses = step_until_done(system, task_id)
    assert "FAILURE" not in statuses and statuses[-1] == "SUCCESS", statuses
    assert_grid(fetch(system, task_id), CELL)
    # Two in-call retries with backoff, then a `wait`: the worker polls again later
    # (MJ_PROVIDER_DEFER_SECONDS=20; OpenAI's retry-after 12 s is honoured in the call).
    assert len(backend.sleeps) == 2
    if backend.name == "bedrock":
        assert 1.0 <= backend.sleeps[0] <= 1.25 and 2.0 <= backend.sleeps[1] <= 2.5
    else:
        assert all(12.0 <= s <= 15.0 for s in backend.sleeps)
    assert [d for step, d in backend.job_delays if step == jobs.POLL] == [0, 20.0]
    assert TaskRepository().get(task_id).providerState["deferrals"] == 1
    calls = backend.take_calls()
    if backend.name == "bedrock":
        assert len(calls) == 3 + 4 and {c.endpoint for c in calls} == {CORE}
        assert [c.body["seed"] for c in calls] == [1234, 1234, 1234, 1234, 1235, 1236, 1237]
    else:
        assert len(calls) == 4 and all(c.body == calls[0].body for c in calls)


# ---- the waiting worker (jobs.py lanes; template UseWaitWorker) -----------------------------------
@pytest.fixture
def lanes(system, monkeypatch):
    """The stack as deployed with Provider bedrock or openai: the waiting worker's queue is set
    (WAIT_JOBS_QUEUE_URL, as template.yaml sets it under UseWaitWorker), and every job delivery is
    recorded as (function that ran it, step). Requested before `backend`, whose reset reads it."""
    monkeypatch.setenv("WAIT_JOBS_QUEUE_URL", system.template.physical["WaitJobsQueue"])
    config.reset()
    seen: list[tuple[str, str]] = []

    def record(fn_name: str, records: list[dict[str, Any]]) -> None:
        if fn_name in ("WorkerFunction", "WaitWorkerFunction"):
            seen.extend((fn_name, jobs.Job.from_json(r["body"]).step) for r in records)

    def run(task_id: str) -> dict[str, Any]:
        seen.clear()
        for _ in range(100):
            if not system.deliver_once(crash=record):
                break
        return fetch(system, task_id)

    return seen, run


WAITED = [("WorkerFunction", jobs.START), ("WaitWorkerFunction", jobs.POLL)]


def test_grid_steps_run_on_the_waiting_worker_and_upscales_on_the_worker(lanes, backend, system):
    seen, run = lanes
    backend.grid(CELL)
    parent = run(submit_ok(system, "/mj/submit/imagine", {"prompt": PROMPT}))
    assert_grid(parent, CELL)
    assert seen == WAITED  # the plan on the worker, the generator's wait on the waiting one
    backend.grid(CELL)
    body = {"taskId": parent["id"], "action": "VARIATION", "index": 2}
    assert_grid(run(submit_ok(system, "/mj/submit/change", body)), CELL)
    assert seen == WAITED
    backend.grid(CELL)
    assert_grid(run(submit_ok(system, "/mj/submit/change", {**body, "action": "REROLL"})), CELL)
    assert seen == WAITED
    # An upscale may hold a 4K image: it stays on the worker, sized for it.
    backend.upscaled(CELL)
    body = {"taskId": parent["id"], "action": "UPSCALE", "index": 1}
    assert run(submit_ok(system, "/mj/submit/change", body))["status"] == "SUCCESS"
    assert seen == [("WorkerFunction", jobs.START), ("WorkerFunction", jobs.POLL)]
    # So does an imagine of the client's own images (they may be large).
    backend.grid(CELL)
    body = {"prompt": PROMPT, "base64Array": [data_url(png_bytes((40, 30), (9, 9, 9)))]}
    assert_grid(run(submit_ok(system, "/mj/submit/imagine", body)), CELL)
    assert seen == [("WorkerFunction", jobs.START), ("WorkerFunction", jobs.POLL)]


def test_a_throttled_grid_step_is_retried_on_the_waiting_worker(
    lanes, backend, system, monkeypatch
):
    seen, run = lanes
    backend.sequential(monkeypatch)
    backend.throttled()
    backend.grid(CELL)
    task = run(submit_ok(system, "/mj/submit/imagine", {"prompt": PROMPT}))
    assert_grid(task, CELL)
    # The deferred retry (a `wait` outcome) went back to where the step ran.
    assert seen == [*WAITED, ("WaitWorkerFunction", jobs.POLL)]

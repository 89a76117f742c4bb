"""`openai`: GPT image models over plain HTTPS (docs/providers.md, aws-notes.md §8.5).

No SDK: urllib keeps the Lambda layer small. Same step model as `bedrock`: `start` returns
`submitted(delay=0)` and the next `poll` makes the call(s) within MJ_PROVIDER_STEP_BUDGET_SECONDS,
returning the result, a failure, or `wait` after 429/5xx responses that outlast the in-call retries.

Mapping of the Midjourney actions:
- IMAGINE: one `/images/generations` call with n=4, the four base64 images composed into a grid
  (with reference images: `/images/edits` with them instead). `--ar` picks the nearest configured
  size; `--no` is appended to the prompt as "Do not include: …" (the API has no negative prompt);
  `--seed` and the other Midjourney parameters cannot be honoured and are listed in
  `ignoredParams`.
- VARIATION n: `/images/edits` from the parent's quadrant with a "variation" prompt, n=4 (the old
  variations endpoint no longer accepts requests).
- REROLL: the action that made the grid again (the API has no seeds, every call differs).
- BLEND: `/images/edits` with all the input images, n=4, sized by `dimensions`.
- UPSCALE n (MJ_OPENAI_UPSCALE_MODE): "lanczos" (default) resizes the quadrant locally by
  MJ_OPENAI_UPSCALE_FACTOR: free and faithful but no new detail; the GPT image models have no
  upscaler and, at the portable sizes (1024/1536 px), an edit cannot produce more pixels than a
  1024 px quadrant. "edit" asks `/images/edits` for a faithful higher-resolution rendering at the
  largest configured size of the quadrant's aspect (worth it with models that take larger sizes,
  such as gpt-image-2; it costs one image and may change details). "none" returns the quadrant.
- DESCRIBE: `/chat/completions` with a vision-capable model, answer in Midjourney's format.

API key: MJ_OPENAI_API_KEY_SECRET (Secrets Manager id/ARN; read on first use and cached per
process) on AWS, or OPENAI_API_KEY locally.
"""

from __future__ import annotations

import base64
import http.client
import json
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..actions import spec_of
from ..config import ConfigError
from ..domain.task import Task, TaskAction
from ..edits.openai import OpenAIEdits
from ..faceswap.openai import OpenAIFaceSwap
from .base import Outcome, ProviderContext
from .common import (
    ACTION_METHODS,
    BLEND_ASPECTS,
    DESCRIBE_INSTRUCTION,
    DESCRIBE_SYSTEM,
    Permanent,
    StepConfig,
    StepProvider,
    Transient,
    call_with_retries,
    compose_grid,
    ensure_png,
    format_described,
    image_size,
    parse_ratio,
    plan_prompt,
    prepare_for_vision,
    reroll_origin,
    resize_by,
    setting,
    source_prompt,
)
from .common import nearest as nearest_size
from .openai_actions import OpenAIActions

PORTABLE_SIZES = ("1024x1024", "1536x1024", "1024x1536")
UPSCALE_MODES = ("lanczos", "edit", "none")
_RETRY_STATUS = (408, 409, 429)
_REFUSAL_CODES = ("moderation_blocked", "content_policy_violation", "image_generation_user_error")
_VISION_MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}


@dataclass(frozen=True)
class OpenAIConfig(StepConfig):
    base_url: str = setting("MJ_OPENAI_BASE_URL", "https://api.openai.com/v1", "API base URL")
    image_model: str = setting(
        "MJ_OPENAI_IMAGE_MODEL", "gpt-image-1.5", "image model (generations and edits)"
    )
    sizes: tuple = setting(
        "MJ_OPENAI_SIZES",
        PORTABLE_SIZES,
        "sizes the image model accepts; --ar maps to the nearest (gpt-image-2 takes any WxH, both ÷16)",
    )
    quality: str = setting(
        "MJ_OPENAI_QUALITY", "medium", "low | medium | high | auto (sets the price)"
    )
    moderation: str = setting(
        "MJ_OPENAI_MODERATION", "", "generations `moderation`: low | auto (empty: API default)"
    )
    input_fidelity: str = setting(
        "MJ_OPENAI_INPUT_FIDELITY", "", "edits `input_fidelity`: high | low (empty: API default)"
    )
    variation_prompt: str = setting(
        "MJ_OPENAI_VARIATION_PROMPT",
        "Create a variation of this image: keep its subject, composition and style, vary the "
        "details. {prompt}",
        "VARIATION prompt; {prompt} is the original prompt",
    )
    blend_prompt: str = setting(
        "MJ_OPENAI_BLEND_PROMPT",
        "Blend these images into one coherent new image that fuses their subjects, styles and "
        "colour palettes. {prompt}",
        "BLEND prompt; {prompt} is the task's prompt, usually empty",
    )
    upscale_mode: str = setting(
        "MJ_OPENAI_UPSCALE_MODE", "lanczos", "UPSCALE by: lanczos | edit | none"
    )
    upscale_factor: float = setting("MJ_OPENAI_UPSCALE_FACTOR", 2.0, "lanczos scale factor")
    upscale_prompt: str = setting(
        "MJ_OPENAI_UPSCALE_PROMPT",
        "Reproduce this image faithfully at a higher resolution with sharper fine detail; do not "
        "change the content, composition or colours. {prompt}",
        "prompt of an `edit` upscale",
    )
    outpaint_prompt: str = setting(
        "MJ_OPENAI_OUTPAINT_PROMPT",
        "Extend this picture into the transparent area: continue its scene, style, light and "
        "colours seamlessly. {prompt}",
        "prompt of pans and zooms (the transparent area is painted)",
    )
    region_prompt: str = setting(
        "MJ_OPENAI_REGION_PROMPT",
        "Repaint only the transparent area so that it fits the rest of the picture: {prompt}",
        "prompt of Vary (Region); {prompt} is the modal's prompt",
    )
    edit_prompt: str = setting(
        "MJ_OPENAI_EDIT_PROMPT",
        "Edit this picture as asked, keeping everything else about it: {prompt}",
        "prompt of /mj/submit/edits without a mask (with one: MJ_OPENAI_REGION_PROMPT)",
    )
    retexture_prompt: str = setting(
        "MJ_OPENAI_RETEXTURE_PROMPT",
        "Keep this picture's composition, shapes and outlines exactly; change only its "
        "materials, textures, colours and lighting to: {prompt}",
        "prompt of /mj/submit/retexture",
    )
    face_swap_prompt: str = setting(
        "MJ_OPENAI_FACE_SWAP_PROMPT",
        "Put the face from the second image on the person in the first image: keep the first "
        "image's pose, hair, body, clothes, background, light and style exactly, and match the "
        "face's skin tone and lighting to it.",
        "instruction of /mj/insight-face/swap (the target image first, then the face)",
    )
    vary_subtle_prompt: str = setting(
        "MJ_OPENAI_VARY_SUBTLE_PROMPT",
        "Create a subtle variation of this image: keep its subject, composition, colours and "
        "style, change only small details. {prompt}",
        "prompt of Vary (Subtle)",
    )
    vary_strong_prompt: str = setting(
        "MJ_OPENAI_VARY_STRONG_PROMPT",
        "Create a strong variation of this image: keep its subject and style, freely change the "
        "composition, pose, lighting and details. {prompt}",
        "prompt of Vary (Strong)",
    )
    describe_model: str = setting(
        "MJ_OPENAI_DESCRIBE_MODEL", "gpt-5-mini", "vision-capable chat model for DESCRIBE"
    )
    api_key_secret: str = setting(
        "MJ_OPENAI_API_KEY_SECRET",
        "",
        'Secrets Manager id/ARN of the API key (raw or JSON {"apiKey": …})',
    )
    api_key: str = setting(
        "OPENAI_API_KEY", "", "API key (local use; on AWS use the secret)", repr=False
    )


# ---- API key --------------------------------------------------------------------------------
_KEYS: dict[str, str] = {}
_KEYS_LOCK = threading.Lock()
_SECRET_JSON_KEYS = ("apiKey", "api_key", "OPENAI_API_KEY", "key")


def read_secret(secret_id: str) -> str:
    """The API key stored in Secrets Manager: the raw string, or a JSON object holding it."""
    from ..aws import client

    out = client("secretsmanager").get_secret_value(SecretId=secret_id)
    value = out.get("SecretString")
    if value is None:
        value = bytes(out["SecretBinary"]).decode("utf-8")
    value = value.strip()
    if value.startswith("{"):
        data = json.loads(value)
        for key in _SECRET_JSON_KEYS:
            if data.get(key):
                return str(data[key]).strip()
        raise Permanent(f"secret {secret_id} holds JSON without an apiKey field")
    return value


def forget_keys() -> None:
    with _KEYS_LOCK:
        _KEYS.clear()


# ---- HTTP -----------------------------------------------------------------------------------
def encode_multipart(
    fields: list[tuple[str, str]], files: list[tuple[str, str, bytes, str]]
) -> tuple[bytes, str]:
    """multipart/form-data body and its Content-Type. files: (field, filename, data, type)."""
    boundary = f"mjproxy-{uuid.uuid4().hex}"
    out = bytearray()
    for name, value in fields:
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    for name, filename, data, ctype in files:
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'
        ).encode()
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def _retry_after(headers: Any) -> float | None:
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw:
            try:
                return max(0.0, float(raw) * scale)
            except ValueError:
                continue
    return None


def _image_file(data: bytes, n: int) -> tuple[str, bytes, str]:
    """(filename, bytes, type) of an image the edits endpoint accepts (png, jpeg, webp)."""
    if data.startswith(b"\xff\xd8\xff"):
        return f"image-{n}.jpg", data, "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return f"image-{n}.webp", data, "image/webp"
    return f"image-{n}.png", ensure_png(data), "image/png"


class OpenAIProvider(OpenAIActions, OpenAIEdits, OpenAIFaceSwap, StepProvider):
    name = "openai"
    config_type = OpenAIConfig

    def __init__(
        self,
        opener: Any | None = None,
        *,
        secret_reader: Callable[[str], str] | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(sleep=sleep, clock=clock)
        self._opener = opener or urllib.request.build_opener()
        self._read_secret = secret_reader or read_secret

    def validate(self, cfg: OpenAIConfig) -> None:
        if cfg.upscale_mode not in UPSCALE_MODES:
            raise ConfigError(f"MJ_OPENAI_UPSCALE_MODE must be one of {', '.join(UPSCALE_MODES)}")
        if not cfg.sizes:
            raise ConfigError("MJ_OPENAI_SIZES is empty")
        for size in cfg.sizes:
            try:
                parse_ratio(size)
            except ValueError as exc:
                raise ConfigError(f"MJ_OPENAI_SIZES: {size!r} is not WxH") from exc
        if cfg.upscale_factor <= 0:
            raise ConfigError("MJ_OPENAI_UPSCALE_FACTOR must be positive")

    # ---- the API key ------------------------------------------------------------------------
    def _api_key(self, cfg: OpenAIConfig) -> str:
        if cfg.api_key_secret:
            with _KEYS_LOCK:
                key = _KEYS.get(cfg.api_key_secret)
            if key:
                return key
            try:
                key = self._read_secret(cfg.api_key_secret)
            except Permanent:
                raise
            except Exception as exc:
                code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
                if code in ("ThrottlingException", "InternalServiceError"):
                    raise Transient(f"cannot read the OpenAI API key secret ({code})") from exc
                raise Permanent(
                    f"cannot read the OpenAI API key secret {cfg.api_key_secret}: {exc}"
                ) from exc
            if not key:
                raise Permanent(f"the secret {cfg.api_key_secret} is empty")
            with _KEYS_LOCK:
                _KEYS[cfg.api_key_secret] = key
            return key
        if cfg.api_key:
            return cfg.api_key
        raise ConfigError("no OpenAI API key: set MJ_OPENAI_API_KEY_SECRET (AWS) or OPENAI_API_KEY")

    # ---- the step ---------------------------------------------------------------------------
    def generate(
        self, task: Task, ctx: ProviderContext, cfg: OpenAIConfig, deadline: float
    ) -> Outcome:
        api = _Api(self, cfg, self._api_key(cfg), deadline)
        if task.action == TaskAction.UPSCALE:
            return self._upscale(task, ctx, cfg, api)
        if task.action == TaskAction.DESCRIBE:
            return self._describe(task, ctx, cfg, api)
        if task.action in (TaskAction.EDIT, TaskAction.RETEXTURE):
            return self.image_edit(task, ctx, cfg, api, task.promptEn or task.prompt or "")
        if task.action == TaskAction.SWAP_FACE:
            return self.face_swap(task, ctx, cfg, api)
        origin = reroll_origin(task, ctx) if task.action == TaskAction.REROLL else task
        prompt = task.promptEn or task.prompt or source_prompt(origin, ctx)
        spec = spec_of(origin)
        if spec is not None and spec.family.capability in ACTION_METHODS:
            return getattr(self, spec.family.capability.value)(origin, ctx, cfg, api, spec, prompt)
        if origin.action == TaskAction.IMAGINE:
            return self._imagine(prompt, ctx.inputs(origin), cfg, api)
        if origin.action == TaskAction.BLEND:
            return self._blend(task.prompt, origin, ctx.inputs(origin), cfg, api)
        if origin.action == TaskAction.VARIATION:
            return self._variation(prompt, ctx.parent_quadrant(origin), cfg, api)
        raise Permanent(f"cannot reroll a {origin.action.value} task")

    @staticmethod
    def _text(plan: Any) -> str:
        if plan.negative:
            return f"{plan.text}\n\nDo not include: {plan.negative}."
        return plan.text

    def _imagine(self, prompt: str, refs: list[bytes], cfg: OpenAIConfig, api: _Api) -> Outcome:
        plan = plan_prompt(prompt, ("ar", "aspect", "no"))
        if not plan.text:
            raise Permanent("the prompt has no text to generate an image from")
        text = self._text(plan)
        size = nearest_size(plan.aspect, cfg.sizes)
        images = api.edit(text, refs, size, 4) if refs else api.generate(text, size, 4)
        return Outcome.grid(compose_grid(images), properties=plan.properties(text) | {"size": size})

    def _variation(self, prompt: str, quadrant: bytes, cfg: OpenAIConfig, api: _Api) -> Outcome:
        plan = plan_prompt(prompt, ("ar", "aspect", "no"))
        text = cfg.variation_prompt.replace("{prompt}", self._text(plan)).strip()
        size = nearest_size(image_size(quadrant), cfg.sizes)
        images = api.edit(text, [quadrant], size, 4)
        return Outcome.grid(compose_grid(images), properties=plan.properties(text) | {"size": size})

    def _blend(
        self, prompt: str | None, origin: Task, inputs: list[bytes], cfg: OpenAIConfig, api: _Api
    ) -> Outcome:
        if len(inputs) < 2:
            raise Permanent(f"a blend needs at least 2 images, got {len(inputs)}")
        plan = plan_prompt(prompt, ("no",))
        text = cfg.blend_prompt.replace("{prompt}", self._text(plan) if plan.text else "").strip()
        aspect = BLEND_ASPECTS.get((origin.dimensions or "SQUARE").upper(), (1, 1))
        size = nearest_size(aspect, cfg.sizes)
        images = api.edit(text, inputs, size, 4)
        return Outcome.grid(compose_grid(images), properties=plan.properties(text) | {"size": size})

    def _upscale(self, task: Task, ctx: ProviderContext, cfg: OpenAIConfig, api: _Api) -> Outcome:
        quadrant = ctx.parent_quadrant(task)
        if cfg.upscale_mode == "none":
            return Outcome.single(ensure_png(quadrant), properties={"upscaler": "none"})
        if cfg.upscale_mode == "lanczos":
            return Outcome.single(
                resize_by(quadrant, cfg.upscale_factor),
                properties={"upscaler": f"lanczos x{cfg.upscale_factor:g}"},
            )
        plan = plan_prompt(source_prompt(task, ctx), ("no",))
        text = cfg.upscale_prompt.replace("{prompt}", self._text(plan) if plan.text else "").strip()
        # The largest configured size among those nearest the quadrant's aspect ratio.
        ratio = parse_ratio(nearest_size(image_size(quadrant), cfg.sizes))
        same = [
            s for s in cfg.sizes if parse_ratio(s)[0] * ratio[1] == parse_ratio(s)[1] * ratio[0]
        ]
        size = max(same, key=lambda s: parse_ratio(s)[0] * parse_ratio(s)[1])
        image = api.edit(text, [quadrant], size, 1)[0]
        return Outcome.single(
            ensure_png(image), properties={"upscaler": "edit", "size": size, "finalPrompt": text}
        )

    def _describe(self, task: Task, ctx: ProviderContext, cfg: OpenAIConfig, api: _Api) -> Outcome:
        inputs = ctx.inputs(task)
        if not inputs:
            raise Permanent("no image to describe")
        fmt, data, size = prepare_for_vision(inputs[0])
        data_url = f"data:{_VISION_MIME[fmt]};base64,{base64.b64encode(data).decode('ascii')}"
        body = {
            "model": cfg.describe_model,
            "messages": [
                {"role": "system", "content": DESCRIBE_SYSTEM},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": DESCRIBE_INSTRUCTION},
                        {"type": "image_url", "image_url": {"url": data_url}},
                    ],
                },
            ],
        }
        reply = api.post_json("/chat/completions", body)
        choices = reply.get("choices") or []
        if not choices:
            raise Permanent("OpenAI returned no answer to describe the image")
        message = choices[0].get("message") or {}
        if message.get("refusal"):
            raise Permanent(f"OpenAI refused to describe the image: {message['refusal']}")
        if choices[0].get("finish_reason") == "content_filter":
            raise Permanent("OpenAI's content filter blocked the description")
        text = format_described(message.get("content") or "", size)
        return Outcome.described(text, prompt=text, properties={"finalPrompt": text})


class _Api:
    """One poll step's HTTP calls: authentication, error mapping, in-call retries."""

    def __init__(self, provider: OpenAIProvider, cfg: OpenAIConfig, key: str, deadline: float):
        self.provider, self.cfg, self.key, self.deadline = provider, cfg, key, deadline

    def generate(self, prompt: str, size: str, n: int) -> list[bytes]:
        body: dict[str, Any] = {
            "model": self.cfg.image_model,
            "prompt": prompt,
            "n": n,
            "size": size,
            "quality": self.cfg.quality,
            "output_format": "png",
        }
        if self.cfg.moderation:
            body["moderation"] = self.cfg.moderation
        return self._images(self.post_json("/images/generations", body), n)

    def edit(
        self, prompt: str, images: list[bytes], size: str, n: int, mask: bytes | None = None
    ) -> list[bytes]:
        """`/images/edits`; with `mask`, only its transparent area is painted."""
        fields = [
            ("model", self.cfg.image_model),
            ("prompt", prompt),
            ("n", str(n)),
            ("size", size),
            ("quality", self.cfg.quality),
            ("output_format", "png"),
        ]
        if self.cfg.input_fidelity:
            fields.append(("input_fidelity", self.cfg.input_fidelity))
        field_name = "image" if len(images) == 1 else "image[]"
        files = [(field_name, *_image_file(data, i)) for i, data in enumerate(images, start=1)]
        if mask is not None:
            files.append(("mask", "mask.png", mask, "image/png"))
        body, ctype = encode_multipart(fields, files)
        return self._images(self._post("/images/edits", body, ctype), n)

    def post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._post(path, json.dumps(body).encode("utf-8"), "application/json")

    @staticmethod
    def _images(reply: dict[str, Any], n: int) -> list[bytes]:
        data = [item.get("b64_json") for item in reply.get("data") or []]
        if len(data) < n or not all(data):
            raise Permanent(f"OpenAI returned {len([d for d in data if d])} images instead of {n}")
        return [base64.b64decode(d) for d in data[:n]]

    def _post(self, path: str, body: bytes, ctype: str) -> dict[str, Any]:
        p = self.provider
        return call_with_retries(
            lambda: self._once(path, body, ctype), self.cfg, self.deadline, p._sleep, p._clock
        )

    def _once(self, path: str, body: bytes, ctype: str) -> dict[str, Any]:
        request = urllib.request.Request(
            self.cfg.base_url.rstrip("/") + path,
            data=body,
            method="POST",
            headers={
                "Authorization": f"Bearer {self.key}",
                "Content-Type": ctype,
                "Accept": "application/json",
                "User-Agent": "mjproxy",
            },
        )
        try:
            with self.provider._opener.open(request, timeout=self.cfg.timeout_seconds) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc) from exc
        except (
            urllib.error.URLError,
            TimeoutError,
            ConnectionError,
            http.client.HTTPException,
        ) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise Transient(f"cannot reach OpenAI: {reason}") from exc
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise Permanent("OpenAI returned a response that is not JSON") from exc

    def _http_error(self, exc: urllib.error.HTTPError) -> Exception:
        status = exc.code
        try:
            raw = exc.read() or b""
        except Exception:  # the body may be unreadable; the status still says enough
            raw = b""
        error: dict[str, Any] = {}
        try:
            parsed = json.loads(raw)
            if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
                error = parsed["error"]
        except ValueError:
            pass
        message = (
            error.get("message") or raw.decode("utf-8", "replace").strip()[:500] or str(exc.reason)
        )
        code = error.get("code") or error.get("type") or ""
        label = f"OpenAI {status}" + (f" {code}" if code else "")
        if status == 429 and "insufficient_quota" in (error.get("code"), error.get("type")):
            return Permanent(f"{label}: {message}")
        if status in _RETRY_STATUS or status >= 500:
            return Transient(f"{label}: {message}", retry_after=_retry_after(exc.headers))
        if status == 401:
            # A rotated secret: read it again next time.
            if self.cfg.api_key_secret:
                with _KEYS_LOCK:
                    _KEYS.pop(self.cfg.api_key_secret, None)
            return Permanent(f"OpenAI rejected the API key ({label}): {message}")
        if error.get("code") in _REFUSAL_CODES or error.get("type") in _REFUSAL_CODES:
            return Permanent(f"OpenAI refused the request ({label}): {message}")
        return Permanent(f"{label}: {message}")

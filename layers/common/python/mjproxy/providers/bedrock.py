"""`bedrock`: Stability AI image models on Amazon Bedrock (docs/providers.md, aws-notes.md §8.4).

Step model. `start` only plans the job (it picks the four quadrant seeds, so a redelivered or
deferred step regenerates the same images) and returns `submitted(delay=0)`; the following `poll`
does the generation and returns the finished grid / image / text, a failure, or `wait` when Bedrock
throttles. A poll step is bounded by MJ_PROVIDER_STEP_BUDGET_SECONDS: an in-call retry is only
started if it can finish inside the budget, otherwise the step returns `wait` and the worker polls
again later. Nothing is kept between steps except `Outcome.state` ("seeds", "deferrals").

Mapping of the Midjourney actions:
- IMAGINE: four text-to-image calls in parallel (seeds s, s+1, s+2, s+3), composed into a 2x2 grid.
  With reference images, four image-to-image calls from their composite instead (--iw sets how
  closely the result follows them).
- UPSCALE n: the parent's quadrant n through the configured Stability upscaler (fast /
  conservative / creative), or returned as is with mode "none".
- VARIATION n: four image-to-image calls from the parent's quadrant n.
- REROLL: the action that made the grid (IMAGINE, BLEND or VARIATION) again, with the new task's
  seed. The prompt's --seed is deliberately not reused, otherwise 🔄 would repeat the same grid.
- BLEND: four image-to-image calls from an even mix of the inputs, cropped to `dimensions`.
- DESCRIBE: a vision model through the Converse API writes four prompts.

The first part of this module holds helpers shared with the `openai` provider (configuration,
retries, prompt planning, image compositing, the describe format).
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from fractions import Fraction
from functools import cache, lru_cache
from typing import Any

from ..config import ConfigError
from ..domain.prompts import parse_prompt
from ..domain.task import Task, TaskAction
from .base import Outcome, Provider, ProviderContext

# =============================================================================================
# Shared helpers (also used by providers/openai.py)
# =============================================================================================

SEED_LIMIT = 4294967295  # Stability seeds are 0..4294967294
MAX_DELAY_SECONDS = 900  # SQS DelaySeconds limit
BLEND_ASPECTS = {"PORTRAIT": (2, 3), "SQUARE": (1, 1), "LANDSCAPE": (3, 2)}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def setting(env: str, default: Any, doc: str, **kw: Any) -> Any:
    """A configuration field read from the environment variable `env` (see docs/providers.md)."""
    return field(default=default, metadata={"env": env, "doc": doc}, **kw)


@dataclass(frozen=True)
class StepConfig:
    """Settings every generating provider shares: how long one call and one step may take and
    what to do when the service is busy."""

    timeout_seconds: float = setting(
        "MJ_PROVIDER_TIMEOUT_SECONDS", 150.0, "read timeout of one provider HTTP call"
    )
    step_budget_seconds: float = setting(
        "MJ_PROVIDER_STEP_BUDGET_SECONDS",
        300.0,
        "a poll step starts no retry that could end later than this; keep below the worker timeout",
    )
    retries: int = setting(
        "MJ_PROVIDER_RETRIES", 2, "in-call retries of a throttled / unavailable call"
    )
    backoff_seconds: float = setting(
        "MJ_PROVIDER_BACKOFF_SECONDS", 1.0, "first in-call retry delay, doubled each retry"
    )
    defer_seconds: float = setting(
        "MJ_PROVIDER_DEFER_SECONDS",
        20.0,
        "first `wait` delay once in-call retries are used up, doubled each time (max 900)",
    )
    max_deferrals: int = setting(
        "MJ_PROVIDER_MAX_DEFERRALS", 6, "`wait` outcomes before the task fails"
    )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


def _coerce(f: Any, raw: Any, source: str) -> Any:
    kind = type(f.default)
    try:
        if kind is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if kind is tuple:
            items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
            return tuple(str(i).strip() for i in items if str(i).strip())
        return str(raw).strip()
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: cannot read {raw!r} as {kind.__name__}") from exc


@cache
def env_config(cls: type) -> Any:
    """`cls` (a StepConfig dataclass) from the environment, read once per process."""
    values = {}
    for f in fields(cls):
        env = f.metadata.get("env")
        raw = os.environ.get(env, "") if env else ""
        if raw.strip():
            values[f.name] = _coerce(f, raw, env)
    return cls(**values)


def overlay(cfg: Any, overrides: Mapping[str, Any] | None) -> Any:
    """`cfg` with the per-instance settings applied. An instance setting may be named like the
    field (`image_model_id`), in camelCase (`imageModelId`) or like its variable
    (`MJ_BEDROCK_IMAGE_MODEL_ID`); other keys are left to other code."""
    if not overrides:
        return cfg
    by_key: dict[str, Any] = {}
    for f in fields(cfg):
        by_key[f.name] = f
        by_key[_camel(f.name)] = f
        if f.metadata.get("env"):
            by_key[f.metadata["env"]] = f
    changes = {}
    for key, value in overrides.items():
        f = by_key.get(key)
        if f is not None and value is not None:
            changes[f.name] = _coerce(f, value, f"instance setting {key}")
    return replace(cfg, **changes) if changes else cfg


def reset() -> None:
    """Forget the cached environment configuration (tests change the environment)."""
    env_config.cache_clear()


class Transient(Exception):
    """Worth trying again later: throttling, a 5xx, a timeout. `deferrable=False` means: retry in
    the call, but once those retries are used up fail instead of waiting."""

    def __init__(self, message: str, retry_after: float | None = None, deferrable: bool = True):
        super().__init__(message)
        self.retry_after = retry_after
        self.deferrable = deferrable


class Permanent(Exception):
    """Fails the task; the message becomes failReason."""


def call_with_retries(
    fn: Callable[[], Any],
    cfg: StepConfig,
    deadline: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> Any:
    """Run `fn`, retrying Transient errors with exponential backoff (plus up to 25 % jitter, so
    parallel calls throttled together do not retry together) while the step budget allows."""
    attempt = 0
    while True:
        try:
            return fn()
        except Transient as exc:
            attempt += 1
            delay = max(cfg.backoff_seconds * 2 ** (attempt - 1), exc.retry_after or 0.0)
            delay += random.uniform(0, delay * 0.25)
            if attempt > cfg.retries or clock() + delay + cfg.timeout_seconds > deadline:
                if not exc.deferrable:
                    raise Permanent(str(exc)) from exc
                raise
            sleep(delay)


def run_all(calls: Sequence[Callable[[], Any]], workers: int) -> list[Any]:
    """Run the calls (in parallel with `workers` > 1) and return their results in order. A
    Permanent error wins over a Transient one, so a rejected prompt fails at once."""
    if workers <= 1 or len(calls) <= 1:
        return [call() for call in calls]
    errors: list[Exception] = []
    results: list[Any] = [None] * len(calls)
    with ThreadPoolExecutor(max_workers=min(workers, len(calls))) as pool:
        futures = [pool.submit(call) for call in calls]
        for i, fut in enumerate(futures):
            try:
                results[i] = fut.result()
            except Exception as exc:
                errors.append(exc)
                for other in futures:
                    other.cancel()
    if errors:
        for exc in errors:
            if isinstance(exc, Permanent):
                raise exc
        raise errors[0]
    return results


def defer(task: Task, cfg: StepConfig, exc: Transient) -> Outcome:
    """`wait` (the worker polls again after the delay) or, after max_deferrals, `failed`."""
    count = int(task.providerState.get("deferrals", 0) or 0) + 1
    if count > cfg.max_deferrals:
        return Outcome.failed(f"{exc} (gave up after {count - 1} delayed retries)")
    delay = max(exc.retry_after or 0.0, cfg.defer_seconds * 2 ** (count - 1))
    return Outcome.wait(min(MAX_DELAY_SECONDS, delay), state={"deferrals": count})


# ---- prompts ----------------------------------------------------------------------------------
_URL_RE = re.compile(r"(?:^|\s)(<?https?://\S+?>?)(?=\s|$)")


@dataclass(frozen=True)
class PromptPlan:
    """What is sent for a Midjourney prompt: the text and the parameters a provider honours."""

    text: str
    negative: str | None
    aspect: tuple[int, int]
    seed: int | None
    image_weight: float | None
    ignored: tuple[str, ...]
    image_urls: tuple[str, ...]

    def properties(self, final_prompt: str | None = None) -> dict[str, Any]:
        props: dict[str, Any] = {"finalPrompt": self.text if final_prompt is None else final_prompt}
        if self.ignored:
            props["ignoredParams"] = list(self.ignored)
        if self.image_urls:
            props["ignoredImageUrls"] = list(self.image_urls)
        return props


def plan_prompt(prompt: str | None, honoured: Iterable[str]) -> PromptPlan:
    """Split a Midjourney prompt. Parameters not in `honoured` are removed from the text and
    listed (e.g. "--v 6.1"); image URLs at the front of a prompt are removed too (providers are
    not given arbitrary URLs to fetch)."""
    parsed = parse_prompt(prompt or "")
    urls = tuple(u.strip("<>") for u in _URL_RE.findall(parsed.text))
    text = " ".join(_URL_RE.sub(" ", parsed.text).split())
    keep = set(honoured)
    ignored = tuple(f"--{k} {v}".strip() for k, v in parsed.params.items() if k not in keep)
    iw = None
    if "iw" in keep and parsed.params.get("iw"):
        try:
            iw = max(0.0, min(3.0, float(parsed.params["iw"])))
        except ValueError:
            iw = None
    return PromptPlan(
        text=text,
        negative=parsed.negative if "no" in keep else None,
        aspect=parsed.aspect,
        seed=parsed.seed if "seed" in keep else None,
        image_weight=iw,
        ignored=ignored,
        image_urls=urls,
    )


def source_prompt(task: Task, ctx: ProviderContext) -> str:
    """The prompt of a task, falling back to its parent's (U/V/R tasks may carry none)."""
    text = task.promptEn or task.prompt
    if text:
        return text
    parent = ctx.parent(task) if task.parentId else None
    return (parent.promptEn or parent.prompt or "") if parent else ""


def reroll_origin(task: Task, ctx: ProviderContext) -> Task:
    """The task whose action a REROLL repeats: the nearest ancestor that is not itself a REROLL."""
    current = task
    for _ in range(16):
        parent = ctx.parent(current)
        if parent is None:
            raise Permanent("cannot reroll: the parent task no longer exists")
        if parent.action != TaskAction.REROLL:
            return parent
        current = parent
    raise Permanent("cannot reroll: too many nested rerolls")


def quadrant_seeds(base: int) -> list[int]:
    return [(base + i) % SEED_LIMIT for i in range(4)]


# ---- aspect ratios and sizes ----------------------------------------------------------------
def parse_ratio(value: str) -> tuple[int, int]:
    """ "16:9" or "1536x1024" -> (16, 9) / (1536, 1024)."""
    w, _, h = value.replace("x", ":").partition(":")
    return int(w), int(h)


def nearest(aspect: tuple[int, int], candidates: Sequence[str]) -> str:
    """The candidate ("W:H" or "WxH") whose ratio is nearest to `aspect` on a log scale; on a
    tie the one listed first."""
    if not candidates:
        raise ConfigError("no aspect ratios / sizes configured")
    target = math.log(aspect[0] / aspect[1])

    def distance(item: tuple[int, str]) -> tuple[float, int]:
        w, h = parse_ratio(item[1])
        return (round(abs(math.log(w / h) - target), 9), item[0])

    return min(enumerate(candidates), key=distance)[1]


def canvas_size(
    aspect: tuple[int, int], area: int = 1024 * 1024, multiple: int = 64
) -> tuple[int, int]:
    """About `area` pixels at `aspect`, both sides multiples of `multiple`."""
    ratio = aspect[0] / aspect[1]
    w = math.sqrt(area * ratio)
    h = w / ratio
    return (
        max(multiple, round(w / multiple) * multiple),
        max(multiple, round(h / multiple) * multiple),
    )


def ar_string(size: tuple[int, int]) -> str:
    """Image size -> Midjourney's --ar value: exact when small (16:9), else approximated."""
    w, h = size
    g = math.gcd(w, h) or 1
    if w // g <= 21 and h // g <= 21:
        return f"{w // g}:{h // g}"
    frac = Fraction(w, h).limit_denominator(16)
    return f"{frac.numerator}:{frac.denominator}"


# ---- images ---------------------------------------------------------------------------------
def _open(data: bytes) -> Any:
    from PIL import Image

    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def _png(img: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def image_size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return img.size


def ensure_png(data: bytes) -> bytes:
    if data.startswith(PNG_SIGNATURE):
        return data
    img = _open(data)
    if img.mode not in ("RGB", "RGBA"):
        img = img.convert("RGBA" if "A" in img.getbands() else "RGB")
    return _png(img)


def compose_grid(images: Sequence[bytes]) -> bytes:
    """Four images -> one 2x2 grid PNG (top-left, top-right, bottom-left, bottom-right), each
    cell the size of the first image."""
    from PIL import Image

    if len(images) != 4:
        raise Permanent(f"expected 4 images for a grid, got {len(images)}")
    opened = [_open(b) for b in images]
    mode = "RGBA" if any("A" in im.getbands() for im in opened) else "RGB"
    cw, ch = opened[0].size
    grid = Image.new(mode, (cw * 2, ch * 2))
    for i, im in enumerate(opened):
        im = im.convert(mode)
        if im.size != (cw, ch):
            im = im.resize((cw, ch), Image.Resampling.LANCZOS)
        grid.paste(im, ((i % 2) * cw, (i // 2) * ch))
    return _png(grid)


def mix_images(images: Sequence[bytes], size: tuple[int, int]) -> bytes:
    """An even mix of the images, each scaled and centre-cropped to `size`: the starting point
    of an image-to-image blend."""
    from PIL import Image, ImageOps

    if not images:
        raise Permanent("no input images")
    out = None
    for i, data in enumerate(images, start=1):
        layer = ImageOps.fit(_open(data).convert("RGB"), size, Image.Resampling.LANCZOS)
        out = layer if out is None else Image.blend(out, layer, 1.0 / i)
    return _png(out)


def fit_pixels(data: bytes, max_pixels: int, max_side: int | None = None) -> bytes:
    """Scale an image down (never up) to at most `max_pixels` and `max_side`."""
    from PIL import Image

    img = _open(data)
    w, h = img.size
    scale = min(1.0, math.sqrt(max_pixels / (w * h)))
    if max_side:
        scale = min(scale, max_side / max(w, h))
    if scale >= 1.0:
        return ensure_png(data)
    size = (max(1, int(w * scale)), max(1, int(h * scale)))
    return _png(img.resize(size, Image.Resampling.LANCZOS))


def resize_by(data: bytes, factor: float) -> bytes:
    from PIL import Image

    img = _open(data)
    w, h = img.size
    return _png(img.resize((round(w * factor), round(h * factor)), Image.Resampling.LANCZOS))


def prepare_for_vision(
    data: bytes, max_side: int = 1568, max_bytes: int = 3_500_000
) -> tuple[str, bytes, tuple[int, int]]:
    """(format, bytes, original size) for a vision model: PNG/JPEG/WebP/GIF kept when small
    enough, anything else (or too big) re-encoded, scaled to `max_side`."""
    from PIL import Image

    img = _open(data)
    original = img.size
    fmt = (img.format or "").lower()
    if (
        fmt in ("png", "jpeg", "webp", "gif")
        and max(original) <= max_side
        and len(data) <= max_bytes
    ):
        return fmt, data, original
    img = img.convert("RGB")
    if max(original) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = _png(img)
    if len(out) <= max_bytes:
        return "png", out, original
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return "jpeg", buf.getvalue(), original


# ---- describe -------------------------------------------------------------------------------
DESCRIBE_SYSTEM = (
    "You write prompts for a text-to-image model, in the style of Midjourney's /describe command."
)
DESCRIBE_INSTRUCTION = (
    "Write four different prompts that would each generate an image like this one. Each prompt is "
    "a single line of comma-separated descriptive phrases: subject, setting, composition, medium "
    "or art style, lighting, colours, mood. Do not number them, do not use quotes and do not add "
    "parameters such as --ar. Reply with the four lines only."
)
NUMBER_EMOJI = ("1\ufe0f\u20e3", "2\ufe0f\u20e3", "3\ufe0f\u20e3", "4\ufe0f\u20e3")
_LINE_PREFIX = re.compile(
    r"^\s*(?:[-*\u2022]\s*|\d+\s*[.):]\s*|[1-4]\ufe0f?\u20e3\s*|prompt\s*\d*\s*[:.-]\s*)+", re.I
)


def format_described(raw: str, size: tuple[int, int]) -> str:
    """The model's reply -> "1️⃣ prompt --ar W:H\\n\\n2️⃣ …" (Midjourney's describe output)."""
    prompts = []
    for line in raw.splitlines():
        line = _LINE_PREFIX.sub("", line).strip().strip("\"'\u201c\u201d").strip()
        line = parse_prompt(line).text.rstrip(" ,.;")
        if line:
            prompts.append(line)
    if len(prompts) < 4:
        raise Permanent(f"the describe model returned {len(prompts)} prompts instead of 4")
    ar = ar_string(size)
    return "\n\n".join(f"{NUMBER_EMOJI[i]} {p} --ar {ar}" for i, p in enumerate(prompts[:4]))


# ---- the step scaffolding -------------------------------------------------------------------
class StepProvider(Provider):
    """`start` plans (state only) and returns submitted(delay=0); `poll` does the work."""

    config_type: type[StepConfig] = StepConfig
    supported = tuple(TaskAction)

    def __init__(
        self,
        *,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        import time

        self._sleep = sleep or time.sleep
        self._clock = clock or time.monotonic

    def config(self, ctx: ProviderContext) -> Any:
        settings = getattr(getattr(ctx, "instance", None), "settings", None)
        return overlay(env_config(self.config_type), settings)

    def plan_state(self, task: Task, cfg: Any) -> dict[str, Any]:
        return {}

    def start(self, task: Task, ctx: ProviderContext) -> Outcome:
        try:
            cfg = self.config(ctx)
            self.validate(cfg)
        except ConfigError as exc:
            return Outcome.failed(f"{self.name} provider is misconfigured: {exc}")
        if task.action not in self.supported:
            return Outcome.failed(f"the {self.name} provider cannot run {task.action.value}")
        return Outcome.submitted(delay=0, state={"deferrals": 0, **self.plan_state(task, cfg)})

    def poll(self, task: Task, ctx: ProviderContext) -> Outcome:
        try:
            cfg = self.config(ctx)
            self.validate(cfg)
        except ConfigError as exc:
            return Outcome.failed(f"{self.name} provider is misconfigured: {exc}")
        deadline = self._clock() + cfg.step_budget_seconds
        try:
            return self.generate(task, ctx, cfg, deadline)
        except Permanent as exc:
            return Outcome.failed(str(exc)[:1000])
        except ConfigError as exc:
            return Outcome.failed(f"{self.name} provider is misconfigured: {exc}")
        except Transient as exc:
            return defer(task, cfg, exc)

    def validate(self, cfg: Any) -> None:
        """Raise ConfigError for settings that cannot work."""

    def generate(self, task: Task, ctx: ProviderContext, cfg: Any, deadline: float) -> Outcome:
        raise NotImplementedError


# =============================================================================================
# Bedrock
# =============================================================================================

STABILITY_ASPECT_RATIOS = ("16:9", "1:1", "21:9", "2:3", "3:2", "4:5", "5:4", "9:16", "9:21")
UPSCALE_MODES = ("fast", "conservative", "creative", "none")
# Input limits of the Stability upscalers (Stability "Upscale" API reference; same on Bedrock):
# (max pixels, max side). Larger quadrants are scaled down before upscaling.
UPSCALE_INPUT_LIMITS = {
    "fast": (1_048_576, 1536),
    "conservative": (9_437_184, None),
    "creative": (1_048_576, None),
}
DEFAULT_BLEND_PROMPT = (
    "one coherent image that seamlessly fuses the subjects, styles and colour palettes of the "
    "reference images, highly detailed"
)
FALLBACK_PROMPT = "a highly detailed, high quality image"
# Converse stop reasons that mean the model or a guardrail refused.
_BLOCKED_STOP_REASONS = ("content_filtered", "guardrail_intervened")
_FILTER_MESSAGES = {
    "Filter reason: prompt": "the prompt",
    "Filter reason: output image": "the generated image",
    "Filter reason: input image": "the input image",
}
# Error codes of InvokeModel / Converse (botocore service model).
_THROTTLE_CODES = (
    "ThrottlingException",
    "ServiceUnavailableException",
    "ServiceQuotaExceededException",
    "InternalServerException",
    "ModelTimeoutException",
)
_ERROR_HINTS = {
    "ValidationException": "Bedrock rejected the request to {model}",
    "AccessDeniedException": (
        "access denied to Bedrock model {model} (enable model access in the Bedrock console and "
        "allow bedrock:InvokeModel on it)"
    ),
    "ResourceNotFoundException": (
        "Bedrock model {model} was not found in {region} (check the model id and region; the "
        "model may be past end of life)"
    ),
    "ModelErrorException": "Bedrock model {model} failed to process the request",
    "ModelNotReadyException": "Bedrock model {model} is not ready to serve requests",
}


@dataclass(frozen=True)
class BedrockConfig(StepConfig):
    region: str = setting(
        "MJ_BEDROCK_REGION",
        "",
        "Bedrock region (empty: the stack's region); Stability models are in us-west-2",
    )
    image_model_id: str = setting(
        "MJ_BEDROCK_IMAGE_MODEL_ID", "stability.stable-image-core-v1:1", "text-to-image model"
    )
    img2img_model_id: str = setting(
        "MJ_BEDROCK_IMG2IMG_MODEL_ID",
        "stability.sd3-5-large-v1:0",
        "image-to-image model (VARIATION, BLEND, IMAGINE with reference images)",
    )
    img2img_send_mode: bool = setting(
        "MJ_BEDROCK_IMG2IMG_SEND_MODE",
        True,
        'send "mode": "image-to-image" (SD3.5 Large needs it; set false for models without `mode`)',
    )
    aspect_ratios: tuple = setting(
        "MJ_BEDROCK_ASPECT_RATIOS",
        STABILITY_ASPECT_RATIOS,
        "aspect_ratio values the text-to-image model accepts; --ar maps to the nearest",
    )
    variation_strength: float = setting(
        "MJ_BEDROCK_VARIATION_STRENGTH",
        0.6,
        "image-to-image strength for VARIATION (0 = copy, 1 = ignore the image)",
    )
    blend_strength: float = setting(
        "MJ_BEDROCK_BLEND_STRENGTH", 0.75, "image-to-image strength for BLEND"
    )
    reference_strength: float = setting(
        "MJ_BEDROCK_REFERENCE_STRENGTH",
        0.7,
        "strength for IMAGINE with reference images at --iw 1 (--iw w gives 1 - 0.3*w, clamped)",
    )
    blend_prompt: str = setting(
        "MJ_BEDROCK_BLEND_PROMPT", DEFAULT_BLEND_PROMPT, "prompt sent with a BLEND"
    )
    upscale_mode: str = setting(
        "MJ_BEDROCK_UPSCALE_MODE", "fast", "UPSCALE through: fast | conservative | creative | none"
    )
    upscale_fast_model_id: str = setting(
        "MJ_BEDROCK_UPSCALE_FAST_MODEL_ID",
        "stability.stable-fast-upscale-v1:0",
        "fast upscaler (4x, image only)",
    )
    upscale_conservative_model_id: str = setting(
        "MJ_BEDROCK_UPSCALE_CONSERVATIVE_MODEL_ID",
        "stability.stable-conservative-upscale-v1:0",
        "conservative upscaler (to 4K, prompt-guided, minimal changes)",
    )
    upscale_creative_model_id: str = setting(
        "MJ_BEDROCK_UPSCALE_CREATIVE_MODEL_ID",
        "stability.stable-creative-upscale-v1:0",
        "creative upscaler (to 4K, re-imagines detail; slowest)",
    )
    upscale_creativity: float = setting(
        "MJ_BEDROCK_UPSCALE_CREATIVITY",
        0.0,
        "creativity for conservative/creative upscales (0 = model default)",
    )
    describe_model_id: str = setting(
        "MJ_BEDROCK_DESCRIBE_MODEL_ID",
        "us.amazon.nova-2-lite-v1:0",
        "vision model for DESCRIBE (Converse API)",
    )
    parallel_calls: int = setting(
        "MJ_BEDROCK_PARALLEL_CALLS", 4, "concurrent InvokeModel calls for a grid (1..4)"
    )

    def upscale_model_id(self) -> str:
        return {
            "fast": self.upscale_fast_model_id,
            "conservative": self.upscale_conservative_model_id,
            "creative": self.upscale_creative_model_id,
        }[self.upscale_mode]


@lru_cache(maxsize=8)
def _boto_client(region: str, timeout: float) -> Any:
    import boto3
    from botocore.config import Config

    # botocore's own retries are off: throttling is retried here, within the step budget.
    config = Config(
        read_timeout=timeout,
        connect_timeout=10,
        retries={"mode": "standard", "total_max_attempts": 1},
        max_pool_connections=10,
    )
    return boto3.client("bedrock-runtime", region_name=region, config=config)


def _default_client_factory(region: str, cfg: BedrockConfig) -> Any:
    return _boto_client(region, cfg.timeout_seconds)


class BedrockProvider(StepProvider):
    name = "bedrock"
    config_type = BedrockConfig

    def __init__(
        self,
        client_factory: Callable[[str, BedrockConfig], Any] | None = None,
        *,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(sleep=sleep, clock=clock)
        self._client_factory = client_factory or _default_client_factory

    # ---- planning -------------------------------------------------------------------------
    def validate(self, cfg: BedrockConfig) -> None:
        if cfg.upscale_mode not in UPSCALE_MODES:
            raise ConfigError(f"MJ_BEDROCK_UPSCALE_MODE must be one of {', '.join(UPSCALE_MODES)}")
        for name in ("variation_strength", "blend_strength", "reference_strength"):
            if not 0.0 <= getattr(cfg, name) <= 1.0:
                raise ConfigError(f"{name} must be between 0 and 1")
        if not 1 <= cfg.parallel_calls <= 4:
            raise ConfigError("MJ_BEDROCK_PARALLEL_CALLS must be 1..4")
        if not cfg.aspect_ratios:
            raise ConfigError("MJ_BEDROCK_ASPECT_RATIOS is empty")

    def plan_state(self, task: Task, cfg: BedrockConfig) -> dict[str, Any]:
        return {"seeds": quadrant_seeds(self._base_seed(task))}

    @staticmethod
    def _base_seed(task: Task) -> int:
        if task.action == TaskAction.IMAGINE:
            user_seed = plan_prompt(task.prompt, ("seed",)).seed
            if user_seed is not None:
                return user_seed % SEED_LIMIT
        if task.seed is not None:
            return int(task.seed) % SEED_LIMIT
        return random.randrange(SEED_LIMIT - 4)

    def _seeds(self, task: Task) -> list[int]:
        seeds = task.providerState.get("seeds")
        if isinstance(seeds, list) and len(seeds) == 4:
            return [int(s) for s in seeds]
        return quadrant_seeds(self._base_seed(task))

    # ---- the step ---------------------------------------------------------------------------
    def generate(
        self, task: Task, ctx: ProviderContext, cfg: BedrockConfig, deadline: float
    ) -> Outcome:
        region = cfg.region or ctx.settings.region
        client = self._client_factory(region, cfg)
        call = _Caller(self, client, cfg, region, deadline)
        if task.action == TaskAction.UPSCALE:
            return self._upscale(task, ctx, cfg, call)
        if task.action == TaskAction.DESCRIBE:
            return self._describe(task, ctx, cfg, call)
        origin = reroll_origin(task, ctx) if task.action == TaskAction.REROLL else task
        prompt = task.promptEn or task.prompt or source_prompt(origin, ctx)
        seeds = self._seeds(task)
        if origin.action == TaskAction.IMAGINE:
            return self._imagine(prompt, ctx.inputs(origin), seeds, cfg, call)
        if origin.action == TaskAction.BLEND:
            return self._blend(task.prompt, origin, ctx.inputs(origin), seeds, cfg, call)
        if origin.action == TaskAction.VARIATION:
            return self._variation(prompt, ctx.parent_quadrant(origin), seeds, cfg, call)
        raise Permanent(f"cannot reroll a {origin.action.value} task")

    def _imagine(
        self, prompt: str, refs: list[bytes], seeds: list[int], cfg: BedrockConfig, call: _Caller
    ) -> Outcome:
        honoured = ("ar", "aspect", "no", "seed") + (("iw",) if refs else ())
        plan = plan_prompt(prompt, honoured)
        if refs:
            iw = plan.image_weight if plan.image_weight is not None else 1.0
            strength = round(max(0.05, min(0.95, cfg.reference_strength - 0.3 * (iw - 1.0))), 3)
            size = canvas_size(parse_ratio(nearest(plan.aspect, cfg.aspect_ratios)))
            start = mix_images(refs, size)
            images = self._img2img_grid(
                plan.text or FALLBACK_PROMPT, plan.negative, start, strength, seeds, cfg, call
            )
            return Outcome.grid(
                compose_grid(images), properties=plan.properties(), state={"seeds": seeds}
            )
        if not plan.text:
            raise Permanent("the prompt has no text to generate an image from")
        ratio = nearest(plan.aspect, cfg.aspect_ratios)
        bodies = []
        for seed in seeds:
            body: dict[str, Any] = {"prompt": plan.text}
            if plan.negative:
                body["negative_prompt"] = plan.negative
            body.update({"aspect_ratio": ratio, "seed": seed, "output_format": "png"})
            bodies.append(body)
        images = run_all([call.bind(cfg.image_model_id, b) for b in bodies], cfg.parallel_calls)
        props = plan.properties() | {"aspectRatio": ratio}
        return Outcome.grid(compose_grid(images), properties=props, state={"seeds": seeds})

    def _variation(
        self, prompt: str, quadrant: bytes, seeds: list[int], cfg: BedrockConfig, call: _Caller
    ) -> Outcome:
        # The quadrant fixes the aspect ratio; the prompt's --seed is not reused (new seeds).
        plan = plan_prompt(prompt, ("ar", "aspect", "no"))
        images = self._img2img_grid(
            plan.text or FALLBACK_PROMPT,
            plan.negative,
            quadrant,
            cfg.variation_strength,
            seeds,
            cfg,
            call,
        )
        return Outcome.grid(
            compose_grid(images), properties=plan.properties(), state={"seeds": seeds}
        )

    def _blend(
        self,
        prompt: str | None,
        origin: Task,
        inputs: list[bytes],
        seeds: list[int],
        cfg: BedrockConfig,
        call: _Caller,
    ) -> Outcome:
        if len(inputs) < 2:
            raise Permanent(f"a blend needs at least 2 images, got {len(inputs)}")
        plan = plan_prompt(prompt, ("no",))
        text = f"{plan.text}, {cfg.blend_prompt}" if plan.text else cfg.blend_prompt
        aspect = BLEND_ASPECTS.get((origin.dimensions or "SQUARE").upper(), (1, 1))
        start = mix_images(inputs, canvas_size(aspect))
        images = self._img2img_grid(
            text, plan.negative, start, cfg.blend_strength, seeds, cfg, call
        )
        return Outcome.grid(
            compose_grid(images), properties=plan.properties(text), state={"seeds": seeds}
        )

    def _img2img_grid(
        self,
        text: str,
        negative: str | None,
        image: bytes,
        strength: float,
        seeds: list[int],
        cfg: BedrockConfig,
        call: _Caller,
    ) -> list[bytes]:
        encoded = base64.b64encode(ensure_png(image)).decode("ascii")
        bodies = []
        for seed in seeds:
            body: dict[str, Any] = {"prompt": text}
            if negative:
                body["negative_prompt"] = negative
            if cfg.img2img_send_mode:
                body["mode"] = "image-to-image"
            body.update(
                {"image": encoded, "strength": strength, "seed": seed, "output_format": "png"}
            )
            bodies.append(body)
        return run_all([call.bind(cfg.img2img_model_id, b) for b in bodies], cfg.parallel_calls)

    def _upscale(
        self, task: Task, ctx: ProviderContext, cfg: BedrockConfig, call: _Caller
    ) -> Outcome:
        quadrant = ctx.parent_quadrant(task)
        mode = cfg.upscale_mode
        if mode == "none":
            return Outcome.single(ensure_png(quadrant), properties={"upscaler": "none"})
        max_pixels, max_side = UPSCALE_INPUT_LIMITS[mode]
        encoded = base64.b64encode(fit_pixels(quadrant, max_pixels, max_side)).decode("ascii")
        plan = plan_prompt(source_prompt(task, ctx), ("no",))
        if mode == "fast":
            body: dict[str, Any] = {"image": encoded, "output_format": "png"}
        else:
            body = {"image": encoded, "prompt": plan.text or FALLBACK_PROMPT}
            if plan.negative:
                body["negative_prompt"] = plan.negative
            if cfg.upscale_creativity > 0:
                body["creativity"] = cfg.upscale_creativity
            body.update({"seed": self._seeds(task)[0], "output_format": "png"})
        image = call.bind(cfg.upscale_model_id(), body)()
        props: dict[str, Any] = {"upscaler": mode}
        if mode != "fast":
            props["finalPrompt"] = body["prompt"]
        return Outcome.single(ensure_png(image), properties=props)

    def _describe(
        self, task: Task, ctx: ProviderContext, cfg: BedrockConfig, call: _Caller
    ) -> Outcome:
        inputs = ctx.inputs(task)
        if not inputs:
            raise Permanent("no image to describe")
        fmt, data, size = prepare_for_vision(inputs[0])
        request = {
            "modelId": cfg.describe_model_id,
            "system": [{"text": DESCRIBE_SYSTEM}],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"image": {"format": fmt, "source": {"bytes": data}}},
                        {"text": DESCRIBE_INSTRUCTION},
                    ],
                }
            ],
            "inferenceConfig": {"maxTokens": 1024, "temperature": 0.7},
        }
        reply = call.converse(request)
        if reply.get("stopReason") in _BLOCKED_STOP_REASONS:
            raise Permanent(
                f"Bedrock model {cfg.describe_model_id} refused to describe the image "
                f"(stopReason: {reply['stopReason']})"
            )
        content = ((reply.get("output") or {}).get("message") or {}).get("content") or []
        raw = "\n".join(
            block["text"] for block in content if isinstance(block, dict) and "text" in block
        )
        text = format_described(raw, size)
        return Outcome.described(text, prompt=text, properties={"finalPrompt": text})


class _Caller:
    """One poll step's Bedrock calls: error mapping and in-call retries within the deadline."""

    def __init__(
        self,
        provider: BedrockProvider,
        client: Any,
        cfg: BedrockConfig,
        region: str,
        deadline: float,
    ) -> None:
        self.provider, self.client, self.cfg = provider, client, cfg
        self.region, self.deadline = region, deadline

    def bind(self, model_id: str, body: dict[str, Any]) -> Callable[[], bytes]:
        return lambda: self._retrying(lambda: self._invoke(model_id, body))

    def converse(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._retrying(
            lambda: self._guard(request["modelId"], lambda: self.client.converse(**request))
        )

    def _retrying(self, fn: Callable[[], Any]) -> Any:
        p = self.provider
        return call_with_retries(fn, self.cfg, self.deadline, p._sleep, p._clock)

    def _invoke(self, model_id: str, body: dict[str, Any]) -> bytes:
        response = self._guard(
            model_id,
            lambda: self.client.invoke_model(
                modelId=model_id,
                body=json.dumps(body),
                contentType="application/json",
                accept="application/json",
            ),
        )
        try:
            payload = json.loads(response["body"].read())
        except ValueError as exc:
            raise Permanent(
                f"Bedrock model {model_id} returned a response that is not JSON"
            ) from exc
        reason = next((r for r in payload.get("finish_reasons") or [] if r), None)
        if reason:
            what = _FILTER_MESSAGES.get(reason)
            if what:
                raise Permanent(f"Bedrock's content filter blocked {what} ({reason})")
            raise Permanent(f"Bedrock model {model_id} did not return an image ({reason})")
        images = payload.get("images") or []
        if not images:
            raise Permanent(f"Bedrock model {model_id} returned no image")
        return base64.b64decode(images[0])

    def _guard(self, model_id: str, fn: Callable[[], Any]) -> Any:
        """Bedrock and connection errors -> Transient / Permanent with a readable message."""
        from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

        try:
            return fn()
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "Unknown")
            message = error.get("Message") or str(exc)
            if code in _THROTTLE_CODES:
                raise Transient(f"Bedrock is busy ({code}): {message}") from exc
            hint = _ERROR_HINTS.get(code, "Bedrock error calling {model}").format(
                model=model_id, region=self.region
            )
            if code == "ModelNotReadyException":
                # AWS says retry; we retry in the call, then fail rather than wait indefinitely.
                raise Transient(f"{hint}: {message}", deferrable=False) from exc
            raise Permanent(f"{hint} ({code}): {message}") from exc
        except (ConnectionError, HTTPClientError) as exc:
            raise Transient(f"cannot reach Bedrock in {self.region}: {exc}") from exc

"""Helpers shared by the step-based providers (`bedrock`, `openai`): configuration read from the
environment and overlaid per instance, in-call retries with backoff and `wait` deferrals, prompt
planning (Midjourney parameters honoured or listed as ignored), aspect ratios and sizes, image
compositing, the describe format, and `StepProvider`, the start/poll scaffolding both use.

Step model. `start` only plans the job (state only) and returns `submitted(delay=0)`; the
following `poll` does the generation within MJ_PROVIDER_STEP_BUDGET_SECONDS and returns the
result, a failure, or `wait` when the service throttles (docs/providers.md).
"""

from __future__ import annotations

import io
import math
import os
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from fractions import Fraction
from functools import cache
from typing import Any

from ..actions import Capability, spec_of
from ..config import ConfigError, on_reset
from ..domain.prompts import parse_prompt
from ..domain.task import SINGLE_RESULTS, Task, TaskAction
from ..jobs import WAIT
from .base import Outcome, Provider, ProviderContext

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


@on_reset
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
    """The task whose action a REROLL repeats: the nearest ancestor that made a grid and is not
    itself a REROLL (🔄 on an upscale regenerates the grid the upscale came from)."""
    current = task
    for _ in range(16):
        parent = ctx.parent(current)
        if parent is None:
            raise Permanent("cannot reroll: the parent task no longer exists")
        if parent.action not in (TaskAction.REROLL, *SINGLE_RESULTS):
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


# Families done by a provider method of their own, named after the capability (the others are
# the classic actions: IMAGINE for "imagine this prompt", DESCRIBE for its 🔄, U/V/🔄 of a grid).
ACTION_METHODS = (
    Capability.UPSCALE_HD,
    Capability.VARY,
    Capability.VARY_REGION,
    Capability.OUTPAINT,
)


# ---- images ---------------------------------------------------------------------------------
def _open(data: bytes) -> Any:
    from PIL import Image

    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def _png(img: Any) -> bytes:
    buf = io.BytesIO()
    # Level 3, as images.split_grid: a third of the default level-6 CPU for about the same
    # bytes on generated images (2048x2048 grid: ~1.0 s -> ~0.35 s of worker CPU, billed).
    img.save(buf, format="PNG", compress_level=3)
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
# Tasks whose generate step makes a grid from text or from one of our quadrants: four answers of
# a few MB and a 2048x2048 grid, ~120 MB at the peak (bench/results/worker_memory.md), while the
# step's time is mostly the generator's. They run on the waiting worker (jobs.WAIT). Everything
# else (upscales, edits, blends and imagines of the client's own images, describes, the pans and
# zooms of an upscale) may hold large images and stays on the worker.
WAIT_LANE_ACTIONS = frozenset({TaskAction.IMAGINE, TaskAction.VARIATION, TaskAction.REROLL})
WAIT_LANE_FAMILIES = frozenset({Capability.VARIATION, Capability.REROLL})


def wait_lane(task: Task, ctx: ProviderContext) -> str:
    """jobs.WAIT for a task whose generate step fits the waiting worker, else "" (the worker)."""
    if task.action not in WAIT_LANE_ACTIONS or task.refKeys:
        return ""
    spec = spec_of(task)
    if spec is not None and spec.family.capability not in WAIT_LANE_FAMILIES:
        return ""
    if task.action == TaskAction.REROLL:
        try:
            origin = reroll_origin(task, ctx)
        except Permanent:
            return ""  # the generate step fails it, wherever it runs
        if origin.refKeys or origin.action not in WAIT_LANE_ACTIONS or spec_of(origin):
            return ""
    return WAIT


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
        state = {"deferrals": 0, **self.plan_state(task, cfg)}
        return Outcome.submitted(delay=0, state=state, lane=wait_lane(task, ctx))

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
            return defer(task, cfg, exc)  # polled again in this job's lane (Worker.apply)

    def validate(self, cfg: Any) -> None:
        """Raise ConfigError for settings that cannot work."""

    def generate(self, task: Task, ctx: ProviderContext, cfg: Any, deadline: float) -> Outcome:
        raise NotImplementedError

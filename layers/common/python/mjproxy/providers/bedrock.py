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

The helpers shared with the `openai` provider (configuration, retries, prompt planning, image
compositing, the describe format, the step scaffolding) live in providers/common.py.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..actions import spec_of
from ..config import ConfigError, on_reset
from ..domain.task import Task, TaskAction
from ..edits.bedrock import BedrockEdits
from .base import Outcome, ProviderContext
from .bedrock_actions import BedrockActions
from .common import (
    ACTION_METHODS,
    BLEND_ASPECTS,
    DESCRIBE_INSTRUCTION,
    DESCRIBE_SYSTEM,
    SEED_LIMIT,
    Permanent,
    StepConfig,
    StepProvider,
    Transient,
    call_with_retries,
    canvas_size,
    compose_grid,
    ensure_png,
    fit_pixels,
    format_described,
    mix_images,
    nearest,
    parse_ratio,
    plan_prompt,
    prepare_for_vision,
    quadrant_seeds,
    reroll_origin,
    run_all,
    setting,
    source_prompt,
)

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
    outpaint_model_id: str = setting(
        "MJ_BEDROCK_OUTPAINT_MODEL_ID",
        "stability.stable-outpaint-v1:0",
        "outpaint model (pans, Zoom Out, Custom Zoom)",
    )
    inpaint_model_id: str = setting(
        "MJ_BEDROCK_INPAINT_MODEL_ID",
        "stability.stable-image-inpaint-v1:0",
        "inpaint model (Vary (Region))",
    )
    retexture_model_id: str = setting(
        "MJ_BEDROCK_RETEXTURE_MODEL_ID",
        "stability.stable-image-control-structure-v1:0",
        "structure-keeping model of /mj/submit/retexture (Control Structure)",
    )
    retexture_control_strength: float = setting(
        "MJ_BEDROCK_RETEXTURE_CONTROL_STRENGTH",
        0.7,
        "how closely a retexture follows the image's structure (0..1)",
    )
    edit_strength: float = setting(
        "MJ_BEDROCK_EDIT_STRENGTH",
        0.6,
        "image-to-image strength of /mj/submit/edits without a mask (with one: the inpaint model)",
    )
    vary_subtle_strength: float = setting(
        "MJ_BEDROCK_VARY_SUBTLE_STRENGTH", 0.35, "image-to-image strength of Vary (Subtle)"
    )
    vary_strong_strength: float = setting(
        "MJ_BEDROCK_VARY_STRONG_STRENGTH", 0.8, "image-to-image strength of Vary (Strong)"
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


class BedrockProvider(BedrockActions, BedrockEdits, StepProvider):
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
        for name in (
            "variation_strength",
            "blend_strength",
            "reference_strength",
            "vary_subtle_strength",
            "vary_strong_strength",
        ):
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
        if task.action in (TaskAction.EDIT, TaskAction.RETEXTURE):
            prompt = task.promptEn or task.prompt or ""
            return self.image_edit(task, ctx, cfg, call, prompt, self._seeds(task))
        origin = reroll_origin(task, ctx) if task.action == TaskAction.REROLL else task
        prompt = task.promptEn or task.prompt or source_prompt(origin, ctx)
        seeds = self._seeds(task)
        spec = spec_of(origin)
        if spec is not None and spec.family.capability in ACTION_METHODS:
            act = getattr(self, spec.family.capability.value)
            return act(origin, ctx, cfg, call, spec, prompt, seeds)
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
        prompt = source_prompt(task, ctx)
        image, props = self._upscale_image(
            quadrant, cfg.upscale_mode, prompt, self._seeds(task)[0], cfg, call
        )
        return Outcome.single(ensure_png(image), properties=props)

    def _upscale_image(
        self, image: bytes, mode: str, prompt: str, seed: int, cfg: BedrockConfig, call: _Caller
    ) -> tuple[bytes, dict[str, Any]]:
        """`image` through the Stability upscaler `mode` (or as is with "none")."""
        if mode == "none":
            return ensure_png(image), {"upscaler": "none"}
        max_pixels, max_side = UPSCALE_INPUT_LIMITS[mode]
        encoded = base64.b64encode(fit_pixels(image, max_pixels, max_side)).decode("ascii")
        plan = plan_prompt(prompt, ("no",))
        if mode == "fast":
            body: dict[str, Any] = {"image": encoded, "output_format": "png"}
        else:
            body = {"image": encoded, "prompt": plan.text or FALLBACK_PROMPT}
            if plan.negative:
                body["negative_prompt"] = plan.negative
            if cfg.upscale_creativity > 0:
                body["creativity"] = cfg.upscale_creativity
            body.update({"seed": seed, "output_format": "png"})
        model = {
            "fast": cfg.upscale_fast_model_id,
            "conservative": cfg.upscale_conservative_model_id,
            "creative": cfg.upscale_creative_model_id,
        }[mode]
        result = call.bind(model, body)()
        props: dict[str, Any] = {"upscaler": mode}
        if mode != "fast":
            props["finalPrompt"] = body["prompt"]
        return result, props

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


on_reset(_boto_client.cache_clear)

"""The buttons of an upscaled image on `bedrock` (plus-api.md §2.1.3), one method per capability:
Stability's outpaint for pans and zooms, inpaint for Vary (Region), image-to-image of different
strengths for Vary (Subtle)/(Strong), the conservative / creative / fast upscalers for the HD
upscales. Pans, zooms and Vary give four candidates (four seeds), as Midjourney does."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from ..actions import ActionSpec
from . import canvas
from .base import Outcome
from .common import (
    Permanent,
    compose_grid,
    ensure_png,
    fit_pixels,
    image_size,
    plan_prompt,
    run_all,
)

if TYPE_CHECKING:
    from ..domain.task import Task
    from .base import ProviderContext
    from .bedrock import BedrockConfig, _Caller

# Stability's edit services take up to ~9.4 MP in; a 1 MP source keeps four calls quick.
EDIT_INPUT_PIXELS = 1_048_576
OUTPAINT_MAX_SIDE_PAD = 2000  # Stability's limit for left/right/up/down


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class BedrockActions:
    """Mixed into BedrockProvider; `source` is the parent's image, `seeds` the task's four."""

    FALLBACK_PROMPT = "a highly detailed, high quality image"

    def _edit_plan(self, prompt: str) -> tuple[str, str | None]:
        plan = plan_prompt(prompt, ("no",))
        return plan.text or self.FALLBACK_PROMPT, plan.negative

    @staticmethod
    def _seeded_grid(
        model_id: str, base: dict[str, Any], seeds: list[int], prompt: str,
        cfg: BedrockConfig, call: _Caller,
    ) -> Outcome:  # fmt: skip
        """One call of `model_id` per seed with the same `base` body, run side by side, as a grid."""
        bodies = [{**base, "seed": seed} for seed in seeds]
        images = run_all([call.bind(model_id, b) for b in bodies], cfg.parallel_calls)
        return Outcome.grid(compose_grid(images), properties={"finalPrompt": prompt})

    def outpaint(
        self, task: Task, ctx: ProviderContext, cfg: BedrockConfig, call: _Caller,
        spec: ActionSpec, prompt: str, seeds: list[int],
    ) -> Outcome:  # fmt: skip
        source = fit_pixels(ctx.parent_grid(task), EDIT_INPUT_PIXELS)
        pads = [
            min(OUTPAINT_MAX_SIDE_PAD, p) for p in canvas.margins(image_size(source), spec, prompt)
        ]
        text, _ = self._edit_plan(prompt)
        base: dict[str, Any] = {"image": _b64(source), "prompt": text, "output_format": "png"}
        base.update(zip(("left", "right", "up", "down"), pads, strict=True))
        return self._seeded_grid(cfg.outpaint_model_id, base, seeds, prompt, cfg, call)

    def vary_region(
        self, task: Task, ctx: ProviderContext, cfg: BedrockConfig, call: _Caller,
        spec: ActionSpec, prompt: str, seeds: list[int],
    ) -> Outcome:  # fmt: skip
        if not task.maskKey:
            raise Permanent("Vary (Region) needs a mask (maskBase64 of /mj/submit/modal)")
        source = fit_pixels(ctx.parent_grid(task), EDIT_INPUT_PIXELS)
        mask = canvas.white_mask(ctx.blob(task.maskKey), image_size(source))
        text, negative = self._edit_plan(prompt)
        base: dict[str, Any] = {"image": _b64(source), "mask": _b64(mask), "prompt": text}
        if negative:
            base["negative_prompt"] = negative
        base["output_format"] = "png"
        return self._seeded_grid(cfg.inpaint_model_id, base, seeds, prompt, cfg, call)

    def vary(
        self, task: Task, ctx: ProviderContext, cfg: BedrockConfig, call: _Caller,
        spec: ActionSpec, prompt: str, seeds: list[int],
    ) -> Outcome:  # fmt: skip
        strength = cfg.vary_strong_strength if spec.strong else cfg.vary_subtle_strength
        source = fit_pixels(ctx.parent_grid(task), EDIT_INPUT_PIXELS)
        text, negative = self._edit_plan(prompt)
        images = self._img2img_grid(text, negative, source, strength, seeds, cfg, call)  # type: ignore[attr-defined]
        return Outcome.grid(
            compose_grid(images), properties={"finalPrompt": prompt, "strength": strength}
        )

    def upscale_hd(
        self, task: Task, ctx: ProviderContext, cfg: BedrockConfig, call: _Caller,
        spec: ActionSpec, prompt: str, seeds: list[int],
    ) -> Outcome:  # fmt: skip
        """(4x) -> the fast upscaler (4x); (Creative) -> creative; (Subtle)/(2x) -> conservative."""
        mode = "fast" if spec.hd_factor == 4 else "creative" if spec.creative else "conservative"
        image, props = self._upscale_image(ctx.parent_grid(task), mode, prompt, seeds[0], cfg, call)  # type: ignore[attr-defined]
        return Outcome.single(ensure_png(image), properties=props)

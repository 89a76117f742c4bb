"""The buttons of an upscaled image on `openai` (plus-api.md §2.1.3), one method per capability:
`/images/edits` with a mask (transparent = where to paint) for pans, zooms and Vary (Region), with
a subtle or strong variation prompt for Vary (Subtle)/(Strong), four candidates each (n=4); the HD
upscales resample locally (Subtle, 2x/4x) or after a faithful edit (Creative)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..actions import ActionSpec
from . import canvas
from .base import Outcome
from .common import Permanent, compose_grid, ensure_png, image_size, plan_prompt, resize_by
from .common import nearest as nearest_size

if TYPE_CHECKING:
    from ..domain.task import Task
    from .base import ProviderContext
    from .openai import OpenAIConfig, _Api


class OpenAIActions:
    """Mixed into OpenAIProvider."""

    def _edit_text(self, template: str, prompt: str) -> str:
        plan = plan_prompt(prompt, ("no",))
        return template.replace("{prompt}", self._text(plan) if plan.text else "").strip()  # type: ignore[attr-defined]

    @staticmethod
    def _edited_grid(
        api: _Api, text: str, image: bytes, size: str, mask: bytes | None = None
    ) -> Outcome:
        """Four `/images/edits` candidates of `image` (painted where `mask` is transparent) as
        a grid."""
        images = api.edit(text, [image], size, 4, mask=mask)
        return Outcome.grid(compose_grid(images), properties={"finalPrompt": text, "size": size})

    def outpaint(
        self, task: Task, ctx: ProviderContext, cfg: OpenAIConfig, api: _Api, spec: ActionSpec,
        prompt: str,
    ) -> Outcome:  # fmt: skip
        source = ensure_png(ctx.parent_grid(task))
        w, h = image_size(source)
        left, right, up, down = canvas.margins((w, h), spec, prompt)
        size = nearest_size((w + left + right, h + up + down), cfg.sizes)
        sw, sh = (int(v) for v in size.split("x"))
        image, mask = canvas.extended(source, (left, right, up, down), (sw, sh))
        return self._edited_grid(
            api, self._edit_text(cfg.outpaint_prompt, prompt), image, size, mask
        )

    def vary_region(
        self, task: Task, ctx: ProviderContext, cfg: OpenAIConfig, api: _Api, spec: ActionSpec,
        prompt: str,
    ) -> Outcome:  # fmt: skip
        if not task.maskKey:
            raise Permanent("Vary (Region) needs a mask (maskBase64 of /mj/submit/modal)")
        source = ensure_png(ctx.parent_grid(task))
        mask = canvas.transparent_mask(ctx.blob(task.maskKey), image_size(source))
        size = nearest_size(image_size(source), cfg.sizes)
        return self._edited_grid(
            api, self._edit_text(cfg.region_prompt, prompt), source, size, mask
        )

    def vary(
        self, task: Task, ctx: ProviderContext, cfg: OpenAIConfig, api: _Api, spec: ActionSpec,
        prompt: str,
    ) -> Outcome:  # fmt: skip
        source = ensure_png(ctx.parent_grid(task))
        template = cfg.vary_strong_prompt if spec.strong else cfg.vary_subtle_prompt
        text = self._edit_text(template, prompt)
        return self._edited_grid(api, text, source, nearest_size(image_size(source), cfg.sizes))

    def upscale_hd(
        self, task: Task, ctx: ProviderContext, cfg: OpenAIConfig, api: _Api, spec: ActionSpec,
        prompt: str,
    ) -> Outcome:  # fmt: skip
        source = ensure_png(ctx.parent_grid(task))
        factor = spec.hd_factor
        if not spec.creative:
            return Outcome.single(
                resize_by(source, factor), properties={"upscaler": f"lanczos x{factor}"}
            )
        # Creative: a faithful re-rendering with new fine detail, then resampled to the target.
        w, h = image_size(source)
        size = nearest_size((w, h), cfg.sizes)
        text = self._edit_text(cfg.upscale_prompt, prompt)
        image = api.edit(text, [source], size, 1)[0]
        target = w * factor / image_size(image)[0]
        return Outcome.single(
            resize_by(image, target),
            properties={"upscaler": f"edit + lanczos x{factor}", "finalPrompt": text},
        )

"""EDIT and RETEXTURE on `bedrock` (Stability AI Image Services, aws-notes.md §8.4): an edit with
a mask repaints only the masked area (the inpaint model), an edit without one is image-to-image
over the whole picture, a retexture keeps the picture's structure (Control Structure) and paints
new materials on it. Four seeds give the 2x2 grid, as for every other Bedrock result."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..domain.task import TaskAction
from ..providers import canvas
from ..providers.base import Outcome
from ..providers.bedrock_actions import EDIT_INPUT_PIXELS, _b64
from ..providers.common import Permanent, compose_grid, fit_pixels, image_size
from . import edit_mask

if TYPE_CHECKING:
    from ..domain.task import Task
    from ..providers.base import ProviderContext
    from ..providers.bedrock import BedrockConfig, _Caller


class BedrockEdits:
    """Mixed into BedrockProvider (which has `_edit_plan`, `_seeded_grid`, `_img2img_grid`)."""

    def image_edit(
        self, task: Task, ctx: ProviderContext, cfg: BedrockConfig, call: _Caller,
        prompt: str, seeds: list[int],
    ) -> Outcome:  # fmt: skip
        inputs = ctx.inputs(task)
        if not inputs:
            raise Permanent("edit needs an image")
        source = fit_pixels(inputs[0], EDIT_INPUT_PIXELS)
        text, negative = self._edit_plan(prompt)  # type: ignore[attr-defined]
        body: dict[str, Any] = {"image": _b64(source), "prompt": text}
        if negative:
            body["negative_prompt"] = negative
        if task.action == TaskAction.RETEXTURE:
            body |= {"control_strength": cfg.retexture_control_strength, "output_format": "png"}
            return self._seeded_grid(cfg.retexture_model_id, body, seeds, prompt, cfg, call)  # type: ignore[attr-defined]
        user_mask = edit_mask(task, inputs)
        if user_mask is not None:
            mask = canvas.white_mask(user_mask, image_size(source))
            body |= {"mask": _b64(mask), "output_format": "png"}
            return self._seeded_grid(cfg.inpaint_model_id, body, seeds, prompt, cfg, call)  # type: ignore[attr-defined]
        images = self._img2img_grid(text, negative, source, cfg.edit_strength, seeds, cfg, call)  # type: ignore[attr-defined]
        return Outcome.grid(
            compose_grid(images), properties={"finalPrompt": prompt, "strength": cfg.edit_strength}
        )

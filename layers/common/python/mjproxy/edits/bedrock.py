"""EDIT and RETEXTURE on `bedrock` (Stability AI Image Services, aws-notes.md §8.4): an edit with
a mask repaints only the masked area (the inpaint model), an edit without one is image-to-image
over the whole picture, a retexture keeps the picture's structure (Control Structure) and paints
new materials on it. Four seeds give the 2x2 grid, as for every other Bedrock result."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from ..domain.task import TaskAction
from ..providers import canvas
from ..providers.base import Outcome
from ..providers.common import Permanent, compose_grid, fit_pixels, image_size

if TYPE_CHECKING:
    from ..domain.task import Task
    from ..providers.base import ProviderContext
    from ..providers.bedrock import BedrockConfig, _Caller

# The same input budget as the buttons' edits (bedrock_actions.EDIT_INPUT_PIXELS): four calls of
# a 1 MP source stay quick, and every Stability edit service accepts it.
EDIT_INPUT_PIXELS = 1_048_576


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
        encoded = base64.b64encode(source).decode("ascii")
        body: dict[str, Any] = {"image": encoded, "prompt": text}
        if negative:
            body["negative_prompt"] = negative
        if task.action == TaskAction.RETEXTURE:
            body |= {"control_strength": cfg.retexture_control_strength, "output_format": "png"}
            return self._seeded_grid(cfg.retexture_model_id, body, seeds, prompt, cfg, call)  # type: ignore[attr-defined]
        if (task.providerState or {}).get("mask") and len(inputs) > 1:
            mask = canvas.white_mask(inputs[1], image_size(source))
            body |= {"mask": base64.b64encode(mask).decode("ascii"), "output_format": "png"}
            return self._seeded_grid(cfg.inpaint_model_id, body, seeds, prompt, cfg, call)  # type: ignore[attr-defined]
        images = self._img2img_grid(text, negative, source, cfg.edit_strength, seeds, cfg, call)  # type: ignore[attr-defined]
        return Outcome.grid(
            compose_grid(images), properties={"finalPrompt": prompt, "strength": cfg.edit_strength}
        )

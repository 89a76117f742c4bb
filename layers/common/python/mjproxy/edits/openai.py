"""EDIT and RETEXTURE on `openai`: `/images/edits` of the given image, n=4 for the 2x2 grid. With a
mask only its area is repainted (sent as OpenAI's transparent-area mask); a retexture asks for the
same composition with new materials (high input fidelity where the model offers it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..domain.task import TaskAction
from ..providers import canvas
from ..providers.common import Permanent, ensure_png, image_size
from ..providers.common import nearest as nearest_size
from . import edit_mask

if TYPE_CHECKING:
    from ..domain.task import Task
    from ..providers.base import Outcome, ProviderContext
    from ..providers.openai import OpenAIConfig, _Api


class OpenAIEdits:
    """Mixed into OpenAIProvider (which has `_edit_text` and `_edited_grid`)."""

    def image_edit(
        self, task: Task, ctx: ProviderContext, cfg: OpenAIConfig, api: _Api, prompt: str
    ) -> Outcome:
        inputs = ctx.inputs(task)
        if not inputs:
            raise Permanent("edit needs an image")
        source = ensure_png(inputs[0])
        size = nearest_size(image_size(source), cfg.sizes)
        if task.action == TaskAction.RETEXTURE:
            text = self._edit_text(cfg.retexture_prompt, prompt)  # type: ignore[attr-defined]
            return self._edited_grid(api, text, source, size)  # type: ignore[attr-defined]
        user_mask = edit_mask(task, inputs)
        if user_mask is not None:
            mask = canvas.transparent_mask(user_mask, image_size(source))
            text = self._edit_text(cfg.region_prompt, prompt)  # type: ignore[attr-defined]
            return self._edited_grid(api, text, source, size, mask)  # type: ignore[attr-defined]
        text = self._edit_text(cfg.edit_prompt, prompt)  # type: ignore[attr-defined]
        return self._edited_grid(api, text, source, size)  # type: ignore[attr-defined]

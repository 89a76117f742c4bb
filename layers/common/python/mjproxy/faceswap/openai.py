"""SWAP_FACE on `openai`: one `/images/edits` call with both images (`image[]`: the target first,
then the face), n=1, and an instruction to put the second image's face on the first image's
person and change nothing else (MJ_OPENAI_FACE_SWAP_PROMPT). The result is one image, as
trueai's is, so it has no grid buttons."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..providers.base import Outcome
from ..providers.common import Permanent, ensure_png, image_size
from ..providers.common import nearest as nearest_size
from . import SOURCE, TARGET

if TYPE_CHECKING:
    from ..domain.task import Task
    from ..providers.base import ProviderContext
    from ..providers.openai import OpenAIConfig, _Api


class OpenAIFaceSwap:
    """Mixed into OpenAIProvider."""

    def face_swap(self, task: Task, ctx: ProviderContext, cfg: OpenAIConfig, api: _Api) -> Outcome:
        inputs = ctx.inputs(task)
        if len(inputs) < 2:
            raise Permanent("face swap needs a face image and a target image")
        target, source = ensure_png(inputs[TARGET]), ensure_png(inputs[SOURCE])
        size = nearest_size(image_size(target), cfg.sizes)
        [image] = api.edit(cfg.face_swap_prompt, [target, source], size, 1)
        props = {"finalPrompt": cfg.face_swap_prompt, "size": size}
        return Outcome.single(image, properties=props, buttons=[])  # trueai offers none either

"""EDIT / RETEXTURE tasks: the local editor (local.py) on `local` instances; `bedrock` and `openai`
run them in their own step (bedrock.py, openai.py here, mixed into those providers). `midjourney`
has no such command: the submit answers 4 for it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PIL import UnidentifiedImageError

from ..domain.task import TaskAction
from ..providers import local_art
from ..providers.base import Outcome, Provider
from . import edit_mask

if TYPE_CHECKING:
    from ..domain.task import Task
    from ..providers.base import ProviderContext



class LocalEditProvider(Provider):
    name = "local-edit"

    def start(self, task: Task, ctx: ProviderContext) -> Outcome:
        return Outcome.submitted(delay=ctx.settings.local_step_seconds, state={"step": 0})

    def poll(self, task: Task, ctx: ProviderContext) -> Outcome:
        from . import local

        if int((task.providerState or {}).get("step", 0)) < 1:
            return Outcome.in_progress(
                "50%", delay=ctx.settings.local_step_seconds, state={"step": 1}
            )
        inputs = ctx.inputs(task)
        if not inputs:
            return Outcome.failed("edit needs an image")
        prompt = task.promptEn or task.prompt or ""
        seed = int(task.seed) if task.seed is not None else local_art.text_seed(f"edit:{task.id}")
        try:
            if task.action == TaskAction.RETEXTURE:
                png = local.retexture(inputs[0], prompt, seed)
            else:
                png = local.edit(inputs[0], prompt, seed, edit_mask(task, inputs))
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            return Outcome.failed(f"invalid input image: {exc}")
        return Outcome.grid(png, seed=seed, properties={"finalPrompt": f"{prompt} --seed {seed}"})

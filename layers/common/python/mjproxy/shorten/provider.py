"""SHORTEN tasks on every non-Discord instance: a text-only step that needs no image generator,
so the worker runs it here whatever the instance's provider (providers without /shorten)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..providers.base import Outcome, Provider
from . import render, shorten

if TYPE_CHECKING:
    from ..domain.task import Task
    from ..providers.base import ProviderContext


class ShortenProvider(Provider):
    name = "shorten"

    def start(self, task: Task, ctx: ProviderContext) -> Outcome:
        return Outcome.submitted(delay=0)

    def poll(self, task: Task, ctx: ProviderContext) -> Outcome:
        analysis = shorten(task.promptEn or task.prompt or "")
        text = render(analysis)
        return Outcome.described(
            text,
            # The prompts themselves, for the 1️⃣…5️⃣ buttons (each imagines one of them).
            state={"prompts": analysis.prompts, "shortener": analysis.source},
            properties={"finalPrompt": text},
        )

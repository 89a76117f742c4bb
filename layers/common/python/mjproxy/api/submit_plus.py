"""The plus API's newer submits (plus-api.md §2.1): shorten, and the capability packages' own
validation for video, edits and face swap. Task creation and queueing are `submit.accept`."""

from __future__ import annotations

from typing import Any

from ..domain import codes
from ..domain.task import TaskAction
from .errors import ProtocolError
from .models import ImagineRequest
from .submit import Services, accept, bot_type_of, choose_instance, english_checked, new_task


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def submit_shorten(
    body: ImagineRequest, mode: str | None = None, svc: Services | None = None
) -> dict[str, Any]:
    """SHORTEN: `description "/shorten <prompt>"`; the five shortened prompts arrive in
    `properties.finalPrompt` and `promptEn`, with 1️⃣…5️⃣ buttons that imagine each one."""
    svc = svc or Services()
    if _blank(body.prompt):
        raise ProtocolError(codes.VALIDATION_ERROR, codes.PROMPT_EMPTY)
    prompt = (body.prompt or "").strip()
    task = new_task(
        TaskAction.SHORTEN,
        state=body.state,
        notify_hook=body.notifyHook,
        mode=mode,
        bot_type=bot_type_of(body.botType),
    )
    task.prompt = prompt
    task.promptEn = english_checked(prompt)
    task.description = f"/shorten {prompt}"
    instance = choose_instance(svc.pool, task, body.accountFilter)
    return accept(svc, task, instance)

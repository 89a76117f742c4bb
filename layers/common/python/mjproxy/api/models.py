"""Request bodies (pydantic). Unknown fields are ignored like the original's Jackson setup;
numbers are accepted where strings belong (Dooy sends numeric ids)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ..domain.task import TaskAction


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    notifyHook: str | None = None
    state: str | None = None


class ImagineRequest(_Body):
    prompt: str | None = None
    base64Array: list[str] | None = None
    base64: str | None = None  # legacy single image (2.1–2.3), appended to base64Array


class ChangeRequest(_Body):
    taskId: str | None = None
    action: TaskAction | None = None
    index: int | None = None

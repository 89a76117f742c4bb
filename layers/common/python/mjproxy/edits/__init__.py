"""Image edits (plus API EDIT and RETEXTURE tasks): change a given image by a prompt."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..domain.task import Task

# Providers that run EDIT / RETEXTURE (edits/providers.py). Here, not there: the submit checks
# it and must not import Pillow (the API functions run without the media layer).
SUPPORTED = ("local", "bedrock", "openai")


def edit_mask(task: Task, inputs: list[bytes]) -> bytes | None:
    """The mask of an EDIT (the second input, when the submit carried `maskBase64`), else None."""
    return inputs[1] if (task.providerState or {}).get("mask") and len(inputs) > 1 else None

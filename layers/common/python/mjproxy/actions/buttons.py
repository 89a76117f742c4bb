"""The buttons on a finished task, derived from the family table and the provider's capabilities
(plus-api.md §2.1.1, §2.1.3): a grid gets U1–U4, 🔄, V1–V4; an upscale gets the HD upscalers, Vary
(Subtle)/(Strong)/(Region), the zooms, pans, Animate and 🔄; a video
Extend (on Discord: U1–U4, and Extend on their answer); a describe result 1️⃣–4️⃣ and 🔄. Clients
substring-match the custom ids, so every provider returns them, Discord or not."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from ..domain.task import GRID_RESULTS, SINGLE_RESULTS, Task, TaskAction
from .table import FAMILIES, Button

ResultKind = Literal["grid", "single", "text", "shorten", "video"]


def result_kind(task: Task) -> ResultKind | None:
    action = TaskAction(task.action)
    if action == TaskAction.VIDEO or task.videoKeys:  # a Discord video's U<i> is a clip too
        return "video"
    if action in GRID_RESULTS:
        return "grid"
    if action in SINGLE_RESULTS:
        return "single"
    if action == TaskAction.DESCRIBE:
        return "text"
    if action == TaskAction.SHORTEN:
        return "shorten"
    return None


def buttons_for(task: Task, job_hash: str | None, capabilities: Iterable[str]) -> list[Button]:
    """The buttons of `task`'s result. Families whose capability the provider lacks are left
    out: a user never sees a button that would answer an error."""
    kind = result_kind(task)
    if kind is None or not job_hash:
        return []
    can = set(capabilities)
    # An HD upscale is not upscaled again (Midjourney's upscalers take the first upscale).
    again = task.action != TaskAction.UPSCALE_HD
    rows = sorted(
        (
            f
            for f in FAMILIES
            if kind in f.on and f.capability in can and (again or f.action != task.action)
        ),
        key=lambda f: f.on[kind],
    )
    out: list[Button] = []
    for fam in rows:
        out.extend(fam.make(job_hash, task))
    return out

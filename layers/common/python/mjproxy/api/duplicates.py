"""Optional duplicate-upscale detection (protocol.md §5.3, MJ_DUPLICATE_UPSCALE=true).

Asking again for `U<n>` of a grid that already has a live upscale of that quadrant answers code 21
`任务已存在` with the existing task's id as `result` and its `status` and `imageUrl` (strings) in
`properties`, instead of generating the same image twice. As the protocol recommends, only an
existing task that has not FAILED counts (2.3–2.6.0 also counted failed ones, so a failed upscale
could never be retried). Variations and rerolls are not deduplicated: they are random by design.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..domain import codes
from ..domain.task import Task, TaskStatus
from ..store.tasks import Conflict
from ..store.upscales import UpscaleMarks
from .errors import ProtocolError
from .tasks import task_view, visible

CLAIM_ATTEMPTS = 5


def existed(task: Task) -> ProtocolError:
    return ProtocolError(
        codes.EXISTED,
        codes.TASK_EXISTED,
        {"status": task.status.value, "imageUrl": task_view(task)["imageUrl"] or ""},
        result=task.id,
    )


def submit_upscale_once(
    repo: Any, parent: Task, task: Task, submit: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """Claim quadrant `task.index` of `parent` for `task`, then `submit()` it; code 21 when a
    live upscale of that quadrant exists. A claim whose task never came to exist (code 23, a
    crash) or failed is simply taken over by the next submit."""
    marks = UpscaleMarks(repo.table)
    index = int(task.index or 0)
    for _ in range(CLAIM_ATTEMPTS):
        current = marks.get(parent.id, index)
        if current:
            existing = repo.get(current)
            if visible(existing) and existing.status != TaskStatus.FAILURE:
                raise existed(existing)
        try:
            marks.claim(parent.id, index, task.id, current)
            break
        except Conflict:
            continue  # another submit claimed it meanwhile: look at its task
    else:
        raise ProtocolError(codes.FAILURE, codes.SUBMIT_FAILED)
    claimed = task.id
    envelope = submit()
    if task.id != claimed:  # accept() drew a new id after an id collision
        try:
            marks.claim(parent.id, index, task.id, claimed)
        except Conflict:
            pass
    return envelope

"""Turn a matched Midjourney message into the Outcome the worker applies (protocol.md §4.3–§4.4).

Pure functions of (event, task as just re-read, downloaded bytes): called inside
Worker.apply_event, which re-reads the task and retries on a concurrent write.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ...domain.task import SINGLE_RESULTS, Task, TaskAction, TaskStatus
from .. import capabilities_of
from ..base import Outcome
from .buttons import MODAL_FAMILIES, buttons_hash, result_buttons
from .cancel import cancel_button
from .matcher import Candidate, Event
from .messages import job_hash


def _percent(progress: str | None) -> int | None:
    if progress and progress.endswith("%") and progress[:-1].isdigit():
        return int(progress[:-1])
    return None


def progress_outcome(
    event: Event, task: Task, cand: Candidate, preview: bytes | None, linked: bool = False
) -> Outcome | None:
    """Start / progress: IN_PROGRESS with Midjourney's percentage; None when nothing changed.
    previewUrl is the preview's Discord URL once stored (`preview`) or, with previews linked
    (MJ_MIDJOURNEY_PREVIEWS=link), as what clients see as imageUrl meanwhile (wire.py)."""
    binding = cand.binding_state()
    state: dict[str, Any] = {**binding}
    if (preview is not None or linked) and event.image_url:
        state["previewUrl"] = event.image_url
    button = cancel_button(event.message)  # what POST /mj/task/{id}/cancel presses (cancel.py)
    if button is not None:
        state["cancelButton"] = button
    new = event.progress or "0%"
    old_pct, new_pct = _percent(task.progress), _percent(new)
    if task.status == TaskStatus.IN_PROGRESS and old_pct is not None:
        if new_pct is None or new_pct < old_pct:
            new = task.progress or new  # never move backwards, never to a non-percentage
    props: dict[str, Any] = {"progressMessageId": event.message.id}
    if event.prompt is not None:
        props["finalPrompt"] = event.prompt
    hash_ = event.job_hash
    if hash_:
        props["messageHash"] = hash_
    changed_state = {k: v for k, v in state.items() if task.providerState.get(k) != v}
    changed_props = {k: v for k, v in props.items() if task.properties.get(k) != v}
    same_progress = task.status == TaskStatus.IN_PROGRESS and task.progress == new
    if same_progress and not changed_state and not changed_props and preview is None:
        return None
    prompt = event.prompt if task.action == TaskAction.BLEND and event.prompt else None
    return Outcome.in_progress(
        new, delay=None, preview=preview, state=state, properties=props, prompt=prompt
    )


def done_outcome(
    event: Event, task: Task, cand: Candidate, image: bytes,
    hidden: Iterable[str] = MODAL_FAMILIES,
) -> Outcome:  # fmt: skip
    """The finished image: grid (with its quadrants) or, for an upscale, one image; its buttons
    are the message's own components (buttons.py) but the `hidden` families."""
    msg = event.message
    buttons = result_buttons(msg, capabilities_of("midjourney"), hidden)
    props: dict[str, Any] = {
        "messageId": msg.id,
        "flags": msg.flags,
        # The UUID its own buttons carry (what /submit/action checks a press against), else
        # the file name's, the job link's.
        "messageHash": buttons_hash(buttons)
        or job_hash(event.image_url)
        or msg.linked_job
        or task.properties.get("messageHash"),
    }
    if event.prompt is not None:
        props["finalPrompt"] = event.prompt
    props = {k: v for k, v in props.items() if v is not None}
    state = {**cand.binding_state(), "resultUrl": event.image_url}
    prompt = event.prompt if task.action == TaskAction.BLEND and event.prompt else None
    if task.action in SINGLE_RESULTS:  # U, and Upscale (Subtle)/(Creative)/(2x)/(4x)
        return Outcome.single(image, state=state, properties=props, prompt=prompt, buttons=buttons)
    return Outcome.grid(image, state=state, properties=props, prompt=prompt, buttons=buttons)


def describe_outcome(event: Event, task: Task, cand: Candidate) -> Outcome:
    """DESCRIBE: Midjourney's four prompts as they are (the original does not split them)."""
    text = event.text or ""
    props = {"finalPrompt": text, "messageId": event.message.id,
             "progressMessageId": event.message.id}  # fmt: skip
    buttons = result_buttons(event.message, capabilities_of("midjourney"))
    return Outcome.described(text, state=cand.binding_state(), properties=props, buttons=buttons)


def failure_outcome(event: Event, task: Task) -> Outcome:
    return Outcome.failed(event.reason or "Midjourney could not complete the job")

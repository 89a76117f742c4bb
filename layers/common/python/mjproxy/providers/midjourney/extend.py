"""Video Extend (`/mj/submit/video {"action":"extend"}`) on a Discord account, in trueai's three
steps (TaskService.cs:776-830, DiscordWebSocketService.cs:3795-3830, 4080-4215); one VIDEO task
the client sees from SUBMITTED to SUCCESS:

1. `upscale`: the worker presses `MJ::JOB::video_virtual_upscale::<index+1>::<video job>` on
   the video's message. Midjourney answers with that one clip, a message whose components carry
   `MJ::JOB::animate_{high,low}_extend::<n>::<hash>` (trueai tells it apart by "animate" in its
   components: video.is_upscaled_video).
2. That message does not finish the task (upscaled()): the `animate_<motion>_extend` button is
   taken from its components, not built (trueai :4104-4106: the upscale's own hash may not be
   the one Midjourney expects), and handed back to the worker, which presses it (`extend`).
   No such button: FAILURE `找不到 extend 按钮 (motion: <m>)`, trueai's reason.
3. Midjourney opens its Remix window for the press, `MJ::AnimateModal::<hash>::<n>::<motion>::1`
   with the text input `MJ::AnimateModal::prompt` (trueai :4190-4205 builds that id from the
   extend id's parts 4 and 3); the events Lambda answers it with the extend prompt
   (modals.answer). The job that follows is a video job like any other: SUCCESS with its clips.

Midjourney opens that window only with Remix mode on (trueai :4144, "必须开启 REMIX 模式才支持
API 视频拓展"; the AnimateModal ids are in its Remix branch, DiscordService.cs:2188-2330), and
only the gateway listener receives it (modals.py): without either, the submit answers code 4 at
once. The task's timeoutMinutes (sweeper.py) bounds the three steps together, as trueai bounds
its wait for the window (5 min).
"""

from __future__ import annotations

from typing import Any

from ...config import Instance
from ...domain.task import Task
from ...store.instances import InstancePool
from ..base import Outcome
from .messages import Message

STATE = "extend"  # providerState key: {stage, index, customId, messageId, flags}
UPSCALE, PRESS = "upscale", "extend"
DESCRIPTION = "/video extend"  # trueai's task description
NO_BUTTON = "找不到 extend 按钮 (motion: {motion})"
ANIMATE_MODAL = "MJ::AnimateModal::"
LABEL = "Video extend"
NEEDS_REMIX = (
    "video extend gives Midjourney its prompt through the Remix window, which Midjourney opens "
    "only with Remix mode on: turn Remix on for this account (/settings) and set the instance's "
    "remix flag (docs/midjourney.md)"
)


def stage(task: Task) -> str | None:
    """UPSCALE or PRESS while the task is a Discord extend before its last job; else None."""
    ext = task.providerState.get(STATE)
    return str(ext.get("stage")) if isinstance(ext, dict) else None


def refused(instance: Instance, pool: InstancePool, gateway_live: bool | None = None) -> str | None:
    """Why this account cannot extend a video now (code 4 at the submit, FAILURE at a press)."""
    from .modals import NEEDS_GATEWAY  # modals imports the poller: only when asked
    from .state import DiscordState

    if not instance.flag("remix"):
        return NEEDS_REMIX
    if gateway_live is None:
        gateway_live = DiscordState(pool).sending(instance.id)[0] is not None
    return None if gateway_live else NEEDS_GATEWAY.format(label=LABEL)


def prepare(task: Task, parent: Task, index: int) -> None:
    """Step 1's press on the parent video's message: clip `index` (0-based, as the API's)."""
    job = str(parent.properties.get("messageHash") or parent.id)
    custom = f"MJ::JOB::video_virtual_upscale::{index + 1}::{job}"
    task.providerState[STATE] = {"stage": UPSCALE, "index": index + 1, "customId": custom}
    message_id = parent.properties.get("messageId")
    if message_id:  # the answer replies to it (matcher.by_parent_message)
        task.properties["referencedMessageId"] = message_id
        task.properties["progressMessageId"] = message_id
    task.description = DESCRIPTION


def target(task: Task, parent: Task | None) -> tuple[str, int, str]:
    """(message id, message flags, custom_id) of the press the task's stage makes."""
    ext: dict[str, Any] = task.providerState.get(STATE) or {}
    if ext.get("stage") == PRESS:
        return str(ext.get("messageId") or ""), int(ext.get("flags") or 0), str(ext["customId"])
    props = parent.properties if parent else {}
    return str(props.get("messageId") or ""), int(props.get("flags") or 0), str(ext["customId"])


def extend_button(msg: Message, motion: str) -> str | None:
    """The `animate_<motion>_extend` custom_id among the message's components (trueai :4107)."""
    return next((c for c in msg.custom_ids if f"animate_{motion}_extend" in c), None)


def animate_modal_id(extend_custom_id: str) -> str:
    """The window trueai answers for an extend press (DiscordWebSocketService.cs:4195-4202)."""
    parts = extend_custom_id.split("::")
    motion = "low" if "low" in extend_custom_id else "high"
    return f"{ANIMATE_MODAL}{parts[4]}::{parts[3]}::{motion}::1"


def upscaled(msg: Message, task: Task) -> Outcome | None:
    """Step 2: the upscaled clip arrived. The task stays IN_PROGRESS and goes back to the worker
    (delay 0: the account's pacing spaces the press) with the extend button to press; its job
    binding is cleared, so the next job's messages bind afresh. None: not at step 1 any more
    (the message was delivered again)."""
    if stage(task) != UPSCALE:
        return None
    motion = str(task.providerState.get("motion") or "high")  # trueai's default: high
    button = extend_button(msg, motion)
    if button is None:
        return Outcome.failed(NO_BUTTON.format(motion=motion))
    ext = {**task.providerState[STATE], "stage": PRESS, "customId": button, "messageId": msg.id,
           "flags": msg.flags}  # fmt: skip
    state = {STATE: ext, "sentAt": None, "interactionId": None, "jobHash": None,
             "messageIds": [], "upscaledMessageId": msg.id}  # fmt: skip
    props = {"referencedMessageId": msg.id, "progressMessageId": msg.id}
    return Outcome.in_progress("0%", delay=0, state=state, properties=props)

"""VIDEO tasks on the `midjourney` provider (issue 16 item 8), as trueai runs them on Discord:

- `/mj/submit/video` is an `/imagine` of `<start image link> <prompt> --video 1 [--end loop |
  --end <end image link>] --motion low|high` (trueai TaskService.cs:680-715), the images uploaded
  as for an imagine's reference images;
- Animate (High/Low motion) on an upscale presses `MJ::JOB::animate_{high,low}::1::<hash>::SOLO`
  on the upscale's message (CustomComponentModel.cs:62-90); provider.PRESSED covers it.

The answer is an imagine-format job message whose echoed prompt carries `--video`
(MjMessageParser.cs:302, which is how trueai tells a video job from an image one); its attachment
is the first clip, `<uuid>_0.mp4` (DiscordHelper.cs:186), and the whole batch (4 clips, `--bs 1|2`
fewer) is on Midjourney's CDN as `https://cdn.midjourney.com/video/<uuid>/0_<i>.mp4`
(TaskInfo.cs:786-800). We store the attachment in S3 (it is on Discord's CDN, which the Lambda
fetches like any result image) and copy the other clips when their host is allowed
(MJ_DISCORD_CDN_HOSTS); a clip we may not fetch stays a Midjourney CDN link, as trueai keeps them.

A video's U1..U4 (`MJ::JOB::video_virtual_upscale::<i>::<job>`, TaskInfo.cs:1110-1130) make an
UPSCALE task (SubmitController.cs:539-556) whose answer is that one clip with the Extend buttons
`MJ::JOB::animate_{high,low}_extend::<n>::<hash>` (is_upscaled_video); pressing one is a VIDEO
task like Animate. `/submit/video {"action":"extend"}` runs those two presses and the Remix
window after them as one task (extend.py).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...actions import parse, spec_of
from ...domain.task import Task, TaskAction
from .. import capabilities_of
from ..base import Outcome
from .buttons import MODAL_FAMILIES, buttons_hash, result_buttons
from .discord import DiscordError
from .messages import job_hash

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .discord import DiscordClient
    from .matcher import Candidate, Event
    from .messages import Message

CDN_ENV = "MJ_MIDJOURNEY_CDN"  # the simulator points it at itself
DEFAULT_CDN = "https://cdn.midjourney.com"
DEFAULT_BATCH = 4
_VIDEO = re.compile(r"(?:^|\s)--video\b", re.IGNORECASE)
_BATCH = re.compile(r"(?:^|\s)--bs\s+(\d)\b", re.IGNORECASE)


def is_video_prompt(prompt: str | None) -> bool:
    """A job message echoing `--video` is a video job (trueai MjMessageParser.cs:302)."""
    return bool(prompt) and _VIDEO.search(prompt or "") is not None


def is_upscaled_video(msg: Message) -> bool:
    """The answer of a video's U<i>: its components carry the Extend buttons (trueai tells it
    apart by "animate" in them, DiscordWebSocketService.cs:3618-3619)."""
    return any("animate" in c.lower() for c in msg.custom_ids)


def is_video_result(event: Event) -> bool:
    """A finished message whose attachment is a clip: a video job, or a video's U<i>."""
    name = (event.image_url or "").split("?", 1)[0].lower()
    return is_video_prompt(event.prompt) or name.endswith(".mp4")


def video_child(task: Task) -> bool:
    """A press whose answer is a video message replying to the pressed one (Animate, Extend, a
    video's U<i>): siblings of one message are told apart by send order (provider.py)."""
    if not task.parentId:
        return False
    spec = spec_of(task)
    return task.action == TaskAction.VIDEO or (
        spec is not None and spec.family.name == "video_upscale"
    )


def video_prompt(task: Task, base_prompt: str, urls: list[str]) -> str:
    """What /imagine receives for a /submit/video task. `base_prompt` is provider.imagine_prompt
    of the start image link (speed mode, seed marker); the end image or loop and the motion are
    appended as trueai does, unless the user wrote them."""
    state = task.providerState or {}
    text = base_prompt
    if "--video" not in text.lower():
        text += " --video 1"
    if "--end" not in text.lower():
        if state.get("loop"):
            text += " --end loop"
        elif state.get("endImage") and len(urls) > 1:
            text += f" --end {urls[1]}"
    motion = str(state.get("motion") or "low")
    if "--motion" not in text.lower():
        text += f" --motion {motion}"
    return text


def clip_urls(job: str, prompt: str | None) -> list[str]:
    """The batch's clips on Midjourney's CDN (TaskInfo.cs:786-800)."""
    m = _BATCH.search(prompt or "")
    n = int(m.group(1)) if m and 1 <= int(m.group(1)) <= DEFAULT_BATCH else DEFAULT_BATCH
    base = (os.environ.get(CDN_ENV) or DEFAULT_CDN).rstrip("/")
    return [f"{base}/video/{job}/0_{i}.mp4" for i in range(n)]


def first_frame_png(mp4: bytes) -> bytes:
    """The clip's first frame: the task's imageUrl (the still clients show before it plays)."""
    import av

    with av.open(io.BytesIO(mp4)) as container:
        for frame in container.decode(video=0):
            out = io.BytesIO()
            frame.to_image().save(out, format="PNG")
            return out.getvalue()
    raise ValueError("the video has no frames")


def video_job(event: Event) -> str | None:
    """The job UUID: the "Open on website" link first (trueai's source for video jobs,
    DiscordWebSocketService.cs:3840-3850), else the attachment name `<uuid>_0.mp4`."""
    return event.message.linked_job or job_hash(event.image_url)


def fetch_result(
    event: Event, cand: Candidate, client: DiscordClient, hidden: Iterable[str] = MODAL_FAMILIES
) -> Callable[[Task], Outcome]:
    """Download the finished job's clips (raises DiscordError when the attachment cannot be
    read: the poller retries) and return what makes the task's outcome. A video's U<i> is the
    one clip attached; `hidden`: the families whose window cannot be answered now."""
    first = client.download(event.image_url or "")
    job = video_job(event)
    more: list[bytes | str] = []
    batch = clip_urls(job, event.prompt)[1:] if job and not is_upscaled_video(event.message) else []
    for url in batch:
        try:
            more.append(client.download(url))
        except DiscordError:  # not an allowed host, or Cloudflare said no: keep the link
            more.append(url)
    still = first_frame_png(first)

    def make(task: Task) -> Outcome:
        return video_outcome(event, task, cand, first, still, more, job, hidden)

    return make


def video_outcome(
    event: Event, task: Task, cand: Candidate, mp4: bytes, still: bytes,
    more: list[bytes | str], job: str | None, hidden: Iterable[str] = MODAL_FAMILIES,
) -> Outcome:  # fmt: skip
    """SUCCESS with the clips (worker.outcome_changes stores the bytes in S3, links as they
    are), the first frame as imageUrl, the buttons' job hash as messageHash (what a press is
    checked against), else the job UUID."""
    msg = event.message
    # Only a video's own buttons (U1..U4, Extend): 🔄 would answer a REROLL task with a video.
    buttons = [
        b for b in result_buttons(msg, capabilities_of("midjourney"), hidden)
        if (spec := parse(b["customId"])) is not None and "video" in spec.family.on
    ]  # fmt: skip
    props: dict[str, Any] = {"messageId": msg.id, "flags": msg.flags,
                             "messageHash": buttons_hash(buttons) or job}  # fmt: skip
    if event.prompt is not None:
        props["finalPrompt"] = event.prompt
    props = {k: v for k, v in props.items() if v is not None}
    return Outcome.video_clip(
        mp4, still, more_videos=tuple(more), properties=props, buttons=buttons,
        state={**cand.binding_state(), "resultUrl": event.image_url},
    )  # fmt: skip

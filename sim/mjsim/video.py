"""Midjourney's video jobs, as trueai-org/midjourney-proxy sees them (tests/fixtures/midjourney/
video.json names each source):

- an `/imagine` whose prompt has `--video` (MjMessageParser.cs:302) or a press of Animate
  (High/Low motion) `MJ::JOB::animate_{high,low}::1::<job>::SOLO` on an upscale
  (CustomComponentModel.cs:62-90) starts a job with the grid's start / progress messages;
- the final message echoes the prompt with `--video 1 --motion <m>`, carries the first clip as
  `<job>_0.mp4` (DiscordHelper.cs:186) and the video U1..U4 `MJ::JOB::video_virtual_upscale::<i>::<job>`
  and 🔄 (TaskInfo.cs:1106-1125);
- the batch's clips are on Midjourney's CDN at `/video/<job>/0_<i>.mp4` (TaskInfo.cs:786-800),
  served here under `/mjcdn` (`cdn_base`);
- a video's U<n> (`video_virtual_upscale`) answers with clip n alone, in the imagine form (the
  message trueai's FindAndFinishVideoTask reads, MjMessageParser.cs:302), its buttons the Extend
  ones `MJ::JOB::animate_{high,low}_extend::<n>::<video job>` (DiscordWebSocketService.cs:3618,
  TaskInfo.cs:1139-1165); its file is named after a job of its own, so only the buttons name
  the video (trueai :4104-4106 takes the extend id from them for that reason);
- Extend on it starts a video job replying to it; with Remix on the press opens the
  AnimateModal window first (modals.py).
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

from . import formats

if TYPE_CHECKING:
    from .core import Account, Job, Response, Simulator

CDN_PREFIX = "/mjcdn"
CLIPS = 4  # Midjourney's default batch (--bs 1|2 fewer, TaskService.cs:740-748)
_VIDEO = re.compile(r"(?:^|\s)--video\b", re.IGNORECASE)
_BS = re.compile(r"--bs\s+([12])\b")
_ANIMATE = re.compile(r"^animate_(high|low)$")
_EXTEND = re.compile(r"^animate_(high|low)_extend$")


def is_video(prompt: str) -> bool:
    return _VIDEO.search(prompt) is not None


def animate_row(job: str) -> dict[str, Any]:
    """Animate (High/Low motion) on an upscale (CustomComponentModel.cs:62-90)."""
    return {"type": 1, "components": [
        formats.button(f"MJ::JOB::animate_high::1::{job}::SOLO", "Animate (High motion)", "🎞️"),
        formats.button(f"MJ::JOB::animate_low::1::{job}::SOLO", "Animate (Low motion)", "🎞️"),
    ]}  # fmt: skip


def result_components(job: str, web: bool) -> list[dict[str, Any]]:
    row = [formats.button(f"MJ::JOB::video_virtual_upscale::{i}::{job}", f"U{i}")
           for i in range(1, 5)]  # fmt: skip
    row.append(formats.button(f"MJ::JOB::reroll::0::{job}::SOLO", emoji="🔄"))
    rows = [{"type": 1, "components": row}]
    return [*rows, formats.web_row(job)] if web else rows


def clip(seed: str, n: int) -> bytes:
    """A real, tiny H.264 MP4 (PyAV): 12 frames of a colour drifting with `n`."""
    import av

    out = io.BytesIO()
    h = sum(seed.encode()) % 200
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        from PIL import Image

        for f in range(12):
            img = Image.new("RGB", (64, 64), ((h + 10 * f) % 256, (40 * n) % 256, 90))
            for packet in stream.encode(av.VideoFrame.from_image(img)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def motion_prompt(prompt: str, motion: str) -> str:
    return prompt if is_video(prompt) else f"{prompt} --video 1 --motion {motion}"


def press(
    sim: Simulator, acct: Account, ix: str, nonce: str, parent: Job, parts: list[str]
) -> bool:
    """Animate on an upscale, a video's U<n>, Extend on a video's U<n>: False for any other
    button."""
    action = parts[2] if parts[1] == "JOB" else parts[1]
    if action == "video_virtual_upscale" and parent.kind == "video":
        upscale(sim, acct, ix, nonce, parent, int(parts[3]))
        return True
    m = _EXTEND.match(action)
    if m is not None and parent.kind == "video_upscale":
        extend_job(sim, acct, ix, nonce, parent, m.group(1))
        return True
    m = _ANIMATE.match(action)
    if m is None or parent.kind not in ("upscale", "upscale_hd"):
        return False
    job = sim._new_job(acct, ix, nonce, "video", motion_prompt(parent.prompt, m.group(1)), None,
                       parent_message_id=parent.final_message_id)  # fmt: skip
    job.image = parent.image
    sim._schedule_grid_job(job)
    return True


def extend_row(video_job: str, n: int) -> dict[str, Any]:
    return {"type": 1, "components": [
        formats.button(f"MJ::JOB::animate_{m}_extend::{n}::{video_job}",
                       f"Extend ({m.title()} motion)", "🎞️")
        for m in ("high", "low")
    ]}  # fmt: skip


def upscale(sim: Simulator, acct: Account, ix: str, nonce: str, parent: Job, n: int) -> None:
    """U<n> of a video: clip n of its batch, a reply to the video's message."""
    job = sim._new_job(acct, ix, nonce, "video_upscale", parent.prompt, None,
                       parent_message_id=parent.final_message_id, index=n)  # fmt: skip
    job.image = parent.image

    def done() -> None:
        clip_bytes = sim.clips[f"/video/{parent.id}/0_{n - 1}.mp4"]
        rows = [extend_row(parent.id, n)]
        sim._reply(
            job, parent,
            formats.grid_done(job.prompt, acct.user_id, sim.mode, None,
                              job.id if sim.current else None),
            sim._attachment(acct.channel_id, clip_bytes, f"{job.id}_0.mp4", "video/mp4"),
            [*rows, formats.web_row(job.id)] if sim.current else rows,
        )  # fmt: skip

    sim._at(sim.upscale_seconds, done)


def extend_job(
    sim: Simulator, acct: Account, ix: str, nonce: str, parent: Job, motion: str,
    prompt: str | None = None,
) -> None:  # fmt: skip
    """Extend of a video's U<n>: a new video job replying to it, with the prompt the Remix
    window submitted (Remix off: the video's own)."""
    job = sim._new_job(acct, ix, nonce, "video", motion_prompt(prompt or parent.prompt, motion),
                       None, parent_message_id=parent.final_message_id)  # fmt: skip
    job.image = parent.image
    sim.log.append({"t": sim.now(), "event": "extend", "job": job.id, "nonce": nonce,
                    "from": parent.id, "motion": motion})  # fmt: skip
    sim._schedule_grid_job(job)


def finish(sim: Simulator, job: Job) -> dict[str, Any]:
    """The final message of a video job (core._finish_grid calls it for kind "video")."""
    acct = job.account
    clips = int(m.group(1)) if (m := _BS.search(job.prompt)) else CLIPS
    for i in range(clips):
        sim.clips[f"/video/{job.id}/0_{i}.mp4"] = clip(job.id, i)
    first = sim.clips[f"/video/{job.id}/0_0.mp4"]
    return sim._bot_post(
        job,
        content=formats.grid_done(job.prompt, acct.user_id, sim.mode, None,
                                  job.id if sim.current else None),
        attachments=[sim._attachment(acct.channel_id, first, f"{job.id}_0.mp4", "video/mp4")],
        components=result_components(job.id, web=sim.current),
    )  # fmt: skip


def serve(sim: Simulator, path: str) -> Response:
    """GET <cdn_base>/video/<job>/0_<i>.mp4."""
    from .core import Call, Response

    data = sim.clips.get(path[len(CDN_PREFIX) :])
    if data is None:
        return Response(404, b"Not Found")
    sim.calls.append(Call(sim.now(), "GET", "mjcdn", 200))
    return Response(200, data, {"content-type": "video/mp4"})

"""VIDEO tasks on each provider: `local` renders a procedural clip (local.py); `bedrock` runs
Amazon Nova Reel asynchronously (its job writes the MP4 to our bucket, we poll it);
`midjourney` runs Midjourney's video jobs through Discord (providers/midjourney/video.py). Other
providers have no video model here: the submit answers 4 视频功能未启用 for them."""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any

from PIL import Image

from .. import images
from ..providers.base import Outcome, Provider
from . import local

if TYPE_CHECKING:
    from ..domain.task import Task
    from ..providers.base import ProviderContext

NOVA_REEL_MODEL = "amazon.nova-reel-v1:1"
NOVA_REEL_SIZE = (1280, 720)  # the only image size Nova Reel's TEXT_VIDEO accepts
NOVA_POLL_SECONDS = 15


def video_provider(name: str) -> Provider:
    if name == "bedrock":
        return NovaReelProvider()
    if name == "local":
        return LocalVideoProvider()
    if name == "midjourney":  # Discord's own video jobs: the provider itself (its video.py)
        from ..providers import get_provider

        return get_provider(name)
    raise ValueError(f"provider {name!r} has no video model")


def source_images(task: Task, ctx: ProviderContext) -> tuple[bytes, bytes | None]:
    """(start image, end image or None): the submitted images, else for an extend the parent
    video's last frame, else (Animate on an upscale) the parent's image."""
    inputs = ctx.inputs(task)
    state = task.providerState or {}
    if inputs:
        end = inputs[1] if state.get("endImage") and len(inputs) > 1 else None
        return inputs[0], end
    parent = ctx.parent(task)
    if parent is not None and parent.videoKeys:
        return local.last_frame_png(images.get(parent.videoKeys[0])), None
    if parent is not None and parent.imageKey:
        return images.get(parent.imageKey), None
    raise LookupError("the video has no source image")


class LocalVideoProvider(Provider):
    name = "local-video"

    def start(self, task: Task, ctx: ProviderContext) -> Outcome:
        return Outcome.submitted(delay=ctx.settings.local_step_seconds, state={"step": 0})

    def poll(self, task: Task, ctx: ProviderContext) -> Outcome:
        state = task.providerState or {}
        if int(state.get("step", 0)) < 1:
            return Outcome.in_progress(
                "50%", delay=ctx.settings.local_step_seconds, state={"step": 1}
            )
        try:
            start, end = source_images(task, ctx)
            clip = local.render(
                start, motion=str(state.get("motion") or "low"), end_image=end,
                loop=bool(state.get("loop")),
            )  # fmt: skip
        except (LookupError, OSError, ValueError) as exc:
            return Outcome.failed(f"video failed: {exc}")
        return Outcome.video_clip(
            clip.mp4,
            local.first_frame_png(start),
            properties={"videoWidth": clip.width, "videoHeight": clip.height,
                        "videoFrames": clip.frames, "finalPrompt": task.promptEn or task.prompt},
        )  # fmt: skip


def _nova_image(data: bytes) -> str:
    """The image cover-cropped to 1280x720 PNG, base64 (Nova Reel refuses other sizes)."""
    img = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = img.size
    tw, th = NOVA_REEL_SIZE
    scale = max(tw / w, th / h)
    img = img.resize((round(w * scale), round(h * scale)), Image.LANCZOS)
    left, top = (img.width - tw) // 2, (img.height - th) // 2
    out = io.BytesIO()
    img.crop((left, top, left + tw, top + th)).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


class NovaReelProvider(Provider):
    """Amazon Nova Reel image-to-video: StartAsyncInvoke writes `output.mp4` under
    s3://<bucket>/tasks/<id>/nova/; GetAsyncInvoke says when it is done."""

    name = "bedrock-video"

    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    def _bedrock(self) -> Any:
        from ..aws import client

        return self._client or client("bedrock-runtime")

    def start(self, task: Task, ctx: ProviderContext) -> Outcome:
        if (task.providerState or {}).get("invocationArn"):
            return Outcome.submitted(delay=NOVA_POLL_SECONDS)  # a redelivered start
        start, _end = source_images(task, ctx)
        out = self._bedrock().start_async_invoke(
            modelId=NOVA_REEL_MODEL,
            modelInput={
                "taskType": "TEXT_VIDEO",
                "textToVideoParams": {
                    "text": (task.promptEn or task.prompt or "")[:512],
                    "images": [{"format": "png", "source": {"bytes": _nova_image(start)}}],
                },
                "videoGenerationConfig": {
                    "durationSeconds": 6,
                    "fps": 24,
                    "dimension": "1280x720",
                    "seed": int(task.seed or 0) % 2147483646,
                },
            },  # fmt: skip
            outputDataConfig={
                "s3OutputDataConfig": {
                    "s3Uri": f"s3://{ctx.settings.bucket_name}/tasks/{task.id}/nova"
                }
            },
            clientRequestToken=f"mjproxy-{task.id}",
        )
        return Outcome.submitted(
            delay=NOVA_POLL_SECONDS,
            state={"invocationArn": out["invocationArn"]},
        )

    def poll(self, task: Task, ctx: ProviderContext) -> Outcome:
        arn = (task.providerState or {}).get("invocationArn")
        if not arn:
            return Outcome.failed("Nova Reel job was never started")
        job = self._bedrock().get_async_invoke(invocationArn=arn)
        status = job.get("status")
        if status == "Failed":
            return Outcome.failed(f"Nova Reel: {job.get('failureMessage') or 'failed'}")
        if status != "Completed":
            return Outcome.in_progress("50%", delay=NOVA_POLL_SECONDS)
        uri = job["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"].rstrip("/")
        key = uri.split("/", 3)[3] + "/output.mp4"
        mp4 = images.get(key)
        start, _end = source_images(task, ctx)
        return Outcome.video_clip(mp4, local.first_frame_png(start, 720))

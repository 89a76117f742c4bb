"""The plus API's newer submits (plus-api.md §2.1): shorten, and the capability packages' own
validation for video, edits and face swap. Task creation and queueing are `submit.accept`."""

from __future__ import annotations

from typing import Any

from .. import images
from ..config import Instance
from ..domain import codes
from ..domain.task import Task, TaskAction, TaskStatus
from .errors import ProtocolError
from .models import EditRequest, FaceSwapRequest, ImagineRequest, VideoRequest
from .submit import (
    Services,
    accept,
    choose_instance,
    find_parent,
    new_task,
    parse_images,
    prompt_task,
)
from .submit_more import image_from_link


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
    task = prompt_task(TaskAction.SHORTEN, body, (body.prompt or "").strip(), mode)
    instance = choose_instance(svc.pool, task, body.accountFilter)
    return accept(svc, task, instance)


def image_input(value: str) -> images.DataUrl:
    """An image given as an http(s) URL (downloaded with the SSRF guard) or a data URL; bare
    base64 gets the `data:image/png;base64,` prefix, as trueai does for edits and video."""
    value = value.strip()
    if value.lower().startswith(("http://", "https://")):
        return image_from_link(value)
    if not value.startswith("data:"):
        value = "data:image/png;base64," + value
    (image,) = parse_images([value])
    return image


def submit_video(
    body: VideoRequest, mode: str | None = None, svc: Services | None = None
) -> dict[str, Any]:
    """VIDEO from an image (or, with `action:"extend"` + `taskId`, continuing a finished video):
    `videoUrl` / `videoUrls[{url}]` point at the MP4 (video/providers.py for each provider)."""
    from ..video import NO_EXTEND, SUPPORTED

    svc = svc or Services()
    if _blank(body.prompt):
        raise ProtocolError(codes.VALIDATION_ERROR, codes.VIDEO_PROMPT_EMPTY)
    extend = (body.action or "").strip().lower() == "extend"
    if not _blank(body.taskId) and not extend:
        raise ProtocolError(codes.VALIDATION_ERROR, codes.VIDEO_TASK_TYPE_INVALID)
    motion = (body.motion or "low").strip().lower()
    if motion not in ("low", "high"):
        raise ProtocolError(codes.VALIDATION_ERROR, codes.MOTION_INVALID)
    parent = None
    inputs: list[images.DataUrl] = []
    if extend:
        if _blank(body.taskId):
            raise ProtocolError(codes.VALIDATION_ERROR, codes.TASK_ID_EMPTY)
        parent = find_parent(svc, body.taskId or "")
        if parent.action != TaskAction.VIDEO or parent.status != TaskStatus.SUCCESS:
            raise ProtocolError(codes.VALIDATION_ERROR, codes.PARENT_STATUS_INVALID)
    else:
        if _blank(body.image):
            raise ProtocolError(codes.VALIDATION_ERROR, codes.IMAGE_EMPTY)
        inputs.append(image_input(body.image or ""))
        if not _blank(body.endImage):
            inputs.append(image_input(body.endImage or ""))
    task = prompt_task(
        TaskAction.VIDEO,
        body,
        (body.prompt or "").strip(),
        mode or (parent.mode if parent else None),
        bot_type=parent.botType if parent else None,
    )
    task.providerState = {"motion": motion, "loop": bool(body.loop), "endImage": len(inputs) > 1}
    if parent is not None:
        task.parentId = parent.id
        instance = svc.pool.instance(parent.instanceId)
        if instance is None or not instance.enable:
            raise ProtocolError(
                codes.NOT_FOUND, codes.INSTANCE_UNAVAILABLE_FMT.format(id=parent.instanceId)
            )
    else:
        instance = choose_instance(svc.pool, task, body.accountFilter)
    if instance.provider not in SUPPORTED:
        raise ProtocolError(codes.VALIDATION_ERROR, codes.VIDEO_DISABLED)
    if parent is not None and instance.provider in NO_EXTEND:
        raise ProtocolError(codes.VALIDATION_ERROR, codes.VIDEO_EXTEND_UNSUPPORTED)
    if parent is not None and instance.provider == "midjourney":
        discord_extend(svc, task, parent, instance, body.index)
    return accept(svc, task, instance, inputs)


def discord_extend(
    svc: Services, task: Task, parent: Task, instance: Instance, index: int | None
) -> None:
    """A Discord account extends clip `index` (0..3) of the video through Midjourney's video U,
    its Extend button and the Remix window (providers/midjourney/extend.py): code 4 at once when
    the account cannot open or receive that window."""
    # Imported here: only a Discord account needs it (and it reads the account's item).
    from ..providers.midjourney import extend

    n = 0 if index is None else index
    if not 0 <= n <= 3:
        raise ProtocolError(codes.VALIDATION_ERROR, codes.VIDEO_INDEX_INVALID)
    reason = extend.refused(instance, svc.pool)
    if reason is not None:
        raise ProtocolError(
            codes.VALIDATION_ERROR, codes.VIDEO_EXTEND_REFUSED_FMT.format(reason=reason)
        )
    extend.prepare(task, parent, n)


def submit_face_swap(
    body: FaceSwapRequest, mode: str | None = None, svc: Services | None = None
) -> dict[str, Any]:
    """SWAP_FACE (trueai's checks and strings, InsightFaceController.cs): the face of `source`
    put on the person in `target`, each a data URL, bare base64 or an http(s) URL. Only `openai`
    instances can (faceswap/); with none, 4 服务不支持 before anything else, as trueai answers
    when its face-swap service is off."""
    from ..faceswap import BOT_TYPE, SUPPORTED

    svc = svc or Services()
    if not any(i.provider in SUPPORTED for i in svc.pool.enabled()):
        raise ProtocolError(codes.VALIDATION_ERROR, codes.FACE_SWAP_UNSUPPORTED)
    source = body.sourceBase64 if not _blank(body.sourceBase64) else body.sourceUrl
    target = body.targetBase64 if not _blank(body.targetBase64) else body.targetUrl
    if _blank(source):
        raise ProtocolError(codes.VALIDATION_ERROR, codes.FACE_SOURCE_EMPTY)
    if _blank(target):
        raise ProtocolError(codes.VALIDATION_ERROR, codes.FACE_TARGET_EMPTY)
    if (source or "").strip() == (target or "").strip():
        raise ProtocolError(codes.VALIDATION_ERROR, codes.FACE_SAME)
    inputs = [image_input(target or ""), image_input(source or "")]  # faceswap.TARGET, SOURCE
    task = new_task(
        TaskAction.SWAP_FACE,
        state=body.state,
        notify_hook=body.notifyHook,
        mode=mode,
        bot_type=BOT_TYPE,
    )
    task.description = "/swap_face"
    instance = choose_instance(svc.pool, task, body.accountFilter, providers=SUPPORTED)
    return accept(svc, task, instance, inputs)


def submit_edit(
    body: EditRequest,
    action: TaskAction = TaskAction.EDIT,
    mode: str | None = None,
    svc: Services | None = None,
) -> dict[str, Any]:
    """EDIT (`/edit <prompt>`, optional `maskBase64`) or RETEXTURE (`/retexture <prompt>`) of a
    given image: a 2x2 grid of variants with U/V buttons (edits/ for each provider)."""
    from ..edits import SUPPORTED

    svc = svc or Services()
    if _blank(body.prompt) or _blank(body.image):
        raise ProtocolError(codes.VALIDATION_ERROR, codes.IMAGE_OR_PROMPT_EMPTY)
    inputs = [image_input(body.image or "")]
    if action == TaskAction.EDIT and not _blank(body.maskBase64):
        inputs.append(image_input(body.maskBase64 or ""))
    task = prompt_task(action, body, (body.prompt or "").strip(), mode)
    task.providerState = {"mask": len(inputs) > 1}
    instance = choose_instance(svc.pool, task, body.accountFilter)
    if instance.provider not in SUPPORTED:
        raise ProtocolError(codes.VALIDATION_ERROR, codes.EDIT_UNSUPPORTED)
    return accept(svc, task, instance, inputs)

"""The submit endpoints beyond imagine/change: simple-change, describe and blend
(protocol.md §3.3–§3.5). Validation happens in the original's order; task creation, input images,
instance choice and queueing are `submit.accept`, U/V/R is `submit.change`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import images, links
from ..domain import codes
from ..domain.prompts import blend_description, describe_description
from ..domain.task import TaskAction
from .errors import ProtocolError
from .models import BlendRequest, DescribeRequest, SimpleChangeRequest
from .submit import (
    Services,
    accept,
    bot_type_of,
    change,
    choose_instance,
    new_task,
    parse_images,
)

BLEND_MIN = 2
BLEND_MAX = 5


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


@dataclass(frozen=True)
class ChangeParams:
    task_id: str
    action: TaskAction
    index: int | None


def parse_simple_change(content: str | None) -> ChangeParams | None:
    """`"<taskId> <op>"`, op ∈ U1..U4 | V1..V4 | R, case-insensitive (protocol.md §5.2).

    Split on single spaces with no trimming or collapsing (so `" 1 U1"`, `"1  U1"` and `"1 U1 "`
    do not parse); only the character right after U/V is read, so `U12` means U1. None when the
    content does not parse.
    """
    if content is None:
        return None
    parts = content.split(" ")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        return None
    task_id, op = parts[0], parts[1].lower()
    if op == "r":
        return ChangeParams(task_id, TaskAction.REROLL, None)
    action = {"u": TaskAction.UPSCALE, "v": TaskAction.VARIATION}.get(op[0])
    if action is None or len(op) < 2 or op[1] not in "1234":
        return None
    return ChangeParams(task_id, action, int(op[1]))


def submit_simple_change(
    body: SimpleChangeRequest, mode: str | None = None, svc: Services | None = None
) -> dict[str, Any]:
    params = parse_simple_change(body.content)
    if params is None:
        raise ProtocolError(codes.VALIDATION_ERROR, codes.CONTENT_INVALID)
    return change(
        svc or Services(),
        params.task_id,
        params.action,
        params.index,
        state=body.state,
        notify_hook=body.notifyHook,
        mode=mode,
    )


def submit_describe(
    body: DescribeRequest, mode: str | None = None, svc: Services | None = None
) -> dict[str, Any]:
    """DESCRIBE: the image goes to S3 with the task; the provider's four prompts land in
    prompt, promptEn and properties.finalPrompt, imageUrl is the described image (worker.py)."""
    svc = svc or Services()
    if _blank(body.base64) and _blank(body.link):
        raise ProtocolError(codes.VALIDATION_ERROR, codes.BASE64_OR_LINK_EMPTY)
    if not _blank(body.base64):
        (image,) = parse_images([body.base64])
    else:
        image = image_from_link(body.link or "")
    task = new_task(
        TaskAction.DESCRIBE,
        state=body.state,
        notify_hook=body.notifyHook,
        mode=mode,
        bot_type=bot_type_of(body.botType),
    )
    task.description = describe_description(task.id, image.ext)
    instance = choose_instance(svc.pool, task, body.accountFilter)
    return accept(svc, task, instance, [image])


def image_from_link(link: str) -> images.DataUrl:
    """An image a client named by URL: 4 链接格式错误 unless http(s), 4 链接图片下载失败 when the
    guarded download refuses or fails (links.py)."""
    if not links.valid_link(link):
        raise ProtocolError(codes.VALIDATION_ERROR, codes.LINK_INVALID)
    try:
        return links.fetch_image(link.strip())
    except links.LinkError as exc:
        raise ProtocolError(
            codes.VALIDATION_ERROR, codes.LINK_FETCH_FAILED_FMT.format(reason=exc)
        ) from exc


def submit_blend(
    body: BlendRequest, mode: str | None = None, svc: Services | None = None
) -> dict[str, Any]:
    """BLEND of 2–5 images. prompt/promptEn stay null until the provider reports the prompt it
    shows (Outcome.prompt), as Midjourney's start message does in the original."""
    svc = svc or Services()
    raw = body.base64Array or []
    if not BLEND_MIN <= len(raw) <= BLEND_MAX:
        raise ProtocolError(codes.VALIDATION_ERROR, codes.BASE64_LIST_INVALID)
    if body.dimensions is None:
        raise ProtocolError(codes.VALIDATION_ERROR, codes.DIMENSIONS_INVALID)
    inputs = parse_images(raw)
    task = new_task(
        TaskAction.BLEND,
        state=body.state,
        notify_hook=body.notifyHook,
        mode=mode,
        bot_type=bot_type_of(body.botType),
    )
    task.description = blend_description(task.id, len(inputs))
    task.dimensions = body.dimensions.value
    instance = choose_instance(svc.pool, task, body.accountFilter)
    return accept(svc, task, instance, inputs)

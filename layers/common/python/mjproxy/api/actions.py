"""POST /mj/submit/action and /mj/submit/modal (plus-api.md §2.1.1, §2.1.2): press any button of
a finished task by its customId; confirm a button that opened a modal (Custom Zoom, Vary
(Region), remix) with a prompt and a mask."""

from __future__ import annotations

from typing import Any

from .. import images
from ..actions import Modal, parse, result_kind
from ..domain import codes
from ..domain.task import TaskStatus
from ..providers import capabilities_of
from .errors import ProtocolError
from .models import ActionRequest, ModalRequest
from .submit import (
    Services,
    _blank,
    confirm,
    english_checked,
    find_parent,
    parent_instance,
    press,
)


def submit_action(
    body: ActionRequest, mode: str | None = None, svc: Services | None = None
) -> dict[str, Any]:
    """Checks in trueai's order: parameters, parent, parent status, customId; then whether the
    parent's result has that button and the instance's provider can do it."""
    svc = svc or Services()
    if _blank(body.taskId) or _blank(body.customId):
        raise ProtocolError(codes.VALIDATION_ERROR, codes.PARAMS_INVALID)
    parent = find_parent(svc, body.taskId or "")
    if parent.status != TaskStatus.SUCCESS:
        raise ProtocolError(codes.VALIDATION_ERROR, codes.PARENT_STATUS_INVALID)
    spec = parse(body.customId)
    if spec is None:
        raise ProtocolError(codes.VALIDATION_ERROR, codes.ACTION_UNKNOWN)
    # The hash names the message the button is on: a button of another task is refused.
    if spec.hash is not None and spec.hash not in (parent.properties.get("messageHash"), parent.id):
        raise ProtocolError(codes.VALIDATION_ERROR, codes.CUSTOM_ID_MISMATCH)
    if result_kind(parent) not in spec.family.on:
        raise ProtocolError(codes.VALIDATION_ERROR, codes.PARENT_ACTION_INVALID)
    instance = parent_instance(svc, parent)
    if spec.family.capability not in capabilities_of(instance.provider):
        raise ProtocolError(
            codes.VALIDATION_ERROR,
            codes.ACTION_UNSUPPORTED_FMT.format(label=f"{spec.family.name} ({instance.provider})"),
        )
    if instance.provider == "midjourney":
        # Imported here, as only a Discord account has buttons whose window needs its gateway
        # listener (Custom Zoom; V/🔄/Vary/pans with Remix on): code 4 now, not a failure later.
        from ..providers.midjourney.modals import refused_now

        reason = refused_now(instance, spec, svc.pool)
        if reason is not None:
            raise ProtocolError(
                codes.VALIDATION_ERROR, codes.ACTION_UNSUPPORTED_FMT.format(label=reason)
            )
    # A Discord account confirms a remix window only when Midjourney opens one: with its Remix
    # mode off, V/🔄/Vary/pan start at once and the confirmed prompt would be ignored.
    remix_wanted = bool(body.enableRemix) and spec.family.modal == Modal.REMIX
    if remix_wanted and instance.provider == "midjourney" and not instance.flag("remix"):
        raise ProtocolError(codes.VALIDATION_ERROR, codes.REMIX_OFF)
    return press(
        svc,
        parent,
        spec,
        state=body.state,
        notify_hook=body.notifyHook,
        mode=mode,
        remix=bool(body.enableRemix),
    )


def submit_modal(
    body: ModalRequest, mode: str | None = None, svc: Services | None = None
) -> dict[str, Any]:
    """Confirm a MODAL task: its prompt (empty: the parent's prompt, then its finalPrompt, as
    trueai does for rix api), Vary (Region)'s mask; then it is queued like any task."""
    svc = svc or Services()
    if _blank(body.taskId):
        raise ProtocolError(codes.VALIDATION_ERROR, codes.PARAMS_INVALID)
    task = find_parent(svc, body.taskId or "")
    if task.status != TaskStatus.MODAL:
        raise ProtocolError(codes.VALIDATION_ERROR, codes.PARENT_STATUS_INVALID)
    parent = svc.repo.get(task.parentId) if task.parentId else None
    prompt = (body.prompt or "").strip()
    if not prompt and parent is not None:
        prompt = (parent.prompt or parent.properties.get("finalPrompt") or "").strip()
    if not prompt:
        raise ProtocolError(codes.VALIDATION_ERROR, codes.PROMPT_EMPTY)
    prompt_en = english_checked(prompt)
    changes: dict[str, Any] = {
        "prompt": prompt,
        "promptEn": prompt_en,
        "properties": {**task.properties, "finalPrompt": prompt_en},
    }
    spec = parse(task.customId)
    if spec is not None and spec.family.clear_prompt:  # Vary (Region): the area to repaint
        if _blank(body.maskBase64):
            raise ProtocolError(codes.VALIDATION_ERROR, codes.MASK_EMPTY)
        raw = (body.maskBase64 or "").strip()
        try:
            mask = images.parse_data_url(
                raw if raw.startswith("data:") else f"data:image/png;base64,{raw}"
            )
        except (images.InvalidImage, images.ImageTooLarge) as exc:
            raise ProtocolError(codes.VALIDATION_ERROR, codes.MASK_INVALID) from exc
        key = images.ref_key(task.id, 0, f"mask.{mask.ext}")
        images.put_upload(key, mask.data, mask.content_type)
        changes["maskKey"] = key
    instance = parent_instance(svc, task)
    return confirm(svc, task, instance, changes)

"""The one serializer for everything that leaves the system (fetch, lists, callbacks, envelopes).

Compact JSON (new-api string-replaces `"code":22`), UTF-8 kept as is, DynamoDB Decimals as ints
(Go's int64 rejects 1.7e12), ids as strings, every Task field present (`null` when unset).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from typing import Any

from .domain.task import Task

# Public Task fields, in the order the original emits them (protocol.md §4.1).
TASK_FIELDS = (
    "id", "action", "status", "prompt", "promptEn", "description", "state", "submitTime",
    "startTime", "finishTime", "imageUrl", "progress", "failReason", "properties", "buttons",
    # plus-API extras (plus-api.md §2.1.4, §2.3): always present, null when unset, so a strict
    # decoder (new-api's Go struct) sees one stable shape.
    "imageUrls", "botType", "parentId", "seed", "mode", "videoUrl", "videoUrls",
)  # fmt: skip
# properties keys that are always present (null when unset): new-api reads both as strings.
PROPERTY_FIELDS = ("finalPrompt", "finalZhPrompt")

ImageUrl = Callable[[str], str]


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"not serializable: {type(value).__name__}")


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_default)


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def task_json(
    task: Task, image_url: ImageUrl | None = None, quadrant_url: ImageUrl | None = None
) -> dict[str, Any]:
    """The Task as clients see it. `image_url` turns an S3 key into a fresh presigned URL;
    `quadrant_url` does it for quadrants stored only when first read (task.quadrantsLazy)."""

    def url(key: str | None) -> str | None:
        return image_url(key) if key and image_url else None

    quadrant = quadrant_url if task.quadrantsLazy and quadrant_url and image_url else None

    key = task.imageKey or (task.previewKey if not task.terminal else None)
    # midjourney with MJ_MIDJOURNEY_PREVIEWS=link stores no preview: while it runs, imageUrl is
    # the latest preview's Discord CDN URL (as trueai's proxy answers); a stored image wins.
    linked = None if key or task.terminal else task.providerState.get("previewUrl")
    props = {k: v for k, v in task.properties.items()}
    for name in PROPERTY_FIELDS:
        props.setdefault(name, None)
    # A video "key" may be a provider's own link (a Midjourney CDN clip we could not copy).
    videos = [
        u for u in (k if k.startswith(("https://", "http://")) else url(k) for k in task.videoKeys)
        if u
    ]  # fmt: skip
    return {
        "id": str(task.id),
        "action": task.action.value,
        "status": task.status.value,
        "prompt": task.prompt,
        "promptEn": task.promptEn,
        "description": task.description,
        "state": task.state,
        "submitTime": _int_or_none(task.submitTime),
        "startTime": _int_or_none(task.startTime),
        "finishTime": _int_or_none(task.finishTime),
        "imageUrl": url(key) or linked,
        "progress": task.progress,
        "failReason": task.failReason,
        "properties": props,
        "buttons": list(task.buttons),
        # Dooy's web UI shows the four split images when present (clients.md §G).
        "imageUrls": [{"url": quadrant(k) if quadrant else url(k)} for k in task.quadrantKeys]
        if task.quadrantKeys
        else None,
        "botType": task.botType,
        "parentId": None if task.parentId is None else str(task.parentId),
        # A string, as trueai sends it: seeds reach 2^32 and JS clients read ids as strings.
        "seed": None if task.seed is None else str(int(task.seed)),
        "mode": task.mode,
        "videoUrl": videos[0] if videos else None,
        # Objects, not strings: new-api's Go struct is `[]struct{Url string}` (clients.md §0.2).
        "videoUrls": [{"url": u} for u in videos] if videos else None,
    }


def envelope(
    code: int, description: str, result: str | None = None, properties: dict | None = None
) -> dict[str, Any]:
    return {
        "code": code,
        "description": description,
        "result": None if result is None else str(result),
        "properties": properties or {},
    }

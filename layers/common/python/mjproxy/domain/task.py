"""The Task entity, its enums and the allowed status transitions (protocol.md §4, design.md §4)."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class TaskAction(StrEnum):
    IMAGINE = "IMAGINE"
    UPSCALE = "UPSCALE"
    VARIATION = "VARIATION"
    REROLL = "REROLL"
    DESCRIBE = "DESCRIBE"
    BLEND = "BLEND"
    SHORTEN = "SHORTEN"
    VIDEO = "VIDEO"
    EDIT = "EDIT"
    RETEXTURE = "RETEXTURE"
    SWAP_FACE = "SWAP_FACE"
    # plus API (plus-api.md §2.1.1, §2.1.4): the follow-ups of /mj/submit/action
    PAN = "PAN"
    ZOOM = "ZOOM"
    UPSCALE_HD = "UPSCALE_HD"
    INPAINT = "INPAINT"
    OUTPAINT = "OUTPAINT"


class TaskStatus(StrEnum):
    NOT_START = "NOT_START"
    SUBMITTED = "SUBMITTED"
    IN_PROGRESS = "IN_PROGRESS"
    FAILURE = "FAILURE"
    SUCCESS = "SUCCESS"
    # Cancelled by the client (POST /mj/task/{id}/cancel): terminal, like FAILURE for relays.
    CANCEL = "CANCEL"
    # Created by /mj/submit/action, waiting for /mj/submit/modal (plus-api.md §2.1.2).
    MODAL = "MODAL"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = (TaskStatus.SUCCESS, TaskStatus.FAILURE, TaskStatus.CANCEL)
# Unfinished statuses: in the sparse active index, so the sweeper ends a MODAL task never
# confirmed (MJ_MODAL_TIMEOUT_MINUTES) like any other stuck task.
ACTIVE = (TaskStatus.NOT_START, TaskStatus.SUBMITTED, TaskStatus.IN_PROGRESS, TaskStatus.MODAL)

# Which statuses may move to which. IN_PROGRESS -> IN_PROGRESS is a progress update. A task may
# jump from NOT_START or SUBMITTED straight to a terminal status (protocol.md §4.2).
TRANSITIONS: dict[TaskStatus, tuple[TaskStatus, ...]] = {
    TaskStatus.MODAL: (TaskStatus.NOT_START, TaskStatus.FAILURE, TaskStatus.CANCEL),
    TaskStatus.NOT_START: (TaskStatus.SUBMITTED, TaskStatus.IN_PROGRESS) + TERMINAL,
    TaskStatus.SUBMITTED: (TaskStatus.SUBMITTED, TaskStatus.IN_PROGRESS) + TERMINAL,
    TaskStatus.IN_PROGRESS: (TaskStatus.IN_PROGRESS,) + TERMINAL,
    TaskStatus.SUCCESS: (),
    TaskStatus.FAILURE: (),
    TaskStatus.CANCEL: (),
}

# Actions whose result is a 2x2 grid and may therefore be the parent of U/V/R (protocol.md §5.1).
GRID_ACTIONS = (
    TaskAction.IMAGINE, TaskAction.VARIATION, TaskAction.REROLL, TaskAction.BLEND,
    TaskAction.EDIT, TaskAction.RETEXTURE,
)  # fmt: skip
# Every action whose result is a 2x2 grid (pans, zooms and the Vary buttons give four candidates,
# as on Midjourney), one image, or text (actions/buttons.py derives the buttons from this).
GRID_RESULTS = GRID_ACTIONS + (
    TaskAction.PAN,
    TaskAction.ZOOM,
    TaskAction.INPAINT,
    TaskAction.OUTPAINT,
)
SINGLE_RESULTS = (TaskAction.UPSCALE, TaskAction.UPSCALE_HD)

DISCORD_EPOCH_MS = 1420070400000

# The progress string on FAILURE. The original sends "", but new-api only stops polling a row when
# progress == "100%" (or failReason is non-empty); clients.md §G asks for "100%" on FAILURE too.
FAILURE_PROGRESS = "100%"
SUCCESS_PROGRESS = "100%"


def now_ms() -> int:
    return int(time.time() * 1000)


def new_task_id(ms: int | None = None) -> str:
    """16-digit id: epoch milliseconds followed by three random digits (protocol.md §4.1)."""
    return f"{ms if ms is not None else now_ms()}{random.randrange(1000):03d}"


def new_nonce(ms: int | None = None) -> str:
    """A Discord-style snowflake, unique enough to be Discord's interaction nonce (§4.5)."""
    ms = ms if ms is not None else now_ms()
    return str(((ms - DISCORD_EPOCH_MS) << 22) | random.getrandbits(22))


@dataclass
class Task:
    """One task. Attribute names are the protocol's own; attributes after `properties` are internal
    and never leave the system (wire.task_json picks the public ones)."""

    id: str
    action: TaskAction
    status: TaskStatus = TaskStatus.NOT_START
    prompt: str | None = None
    promptEn: str | None = None
    description: str | None = None
    state: str | None = None
    submitTime: int | None = None
    startTime: int | None = None
    finishTime: int | None = None
    progress: str | None = None
    failReason: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    buttons: list[dict[str, Any]] = field(default_factory=list)
    # --- internal ---
    instanceId: str | None = None
    mode: str | None = None  # speed mode from the /mj-fast|/mj-relax|/mj-turbo prefix
    botType: str | None = None  # MID_JOURNEY | NIJI_JOURNEY (plus API), echoed on the task
    parentId: str | None = None
    index: int | None = None
    seed: int | None = None
    imageKey: str | None = None  # S3 key of the result (grid, upscaled image, described image)
    previewKey: str | None = None  # S3 key of the latest progress preview
    previewAt: int | None = None  # epoch ms when it was stored (images.preview_due)
    quadrantKeys: list[str] = field(default_factory=list)
    # True: the quadrants are stored when first read (images.quadrants_on_read), not at finish.
    quadrantsLazy: bool | None = None
    videoKeys: list[str] = field(default_factory=list)  # S3 keys of VIDEO results (MP4)
    refKeys: list[str] = field(default_factory=list)  # reference / input images in S3
    dimensions: str | None = None  # blend
    seq: int = 0  # worker step counter: a job runs only when its seq matches (worker.py)
    providerState: dict[str, Any] = field(default_factory=dict)
    # The customId (/mj/submit/action) that created this task; `mjproxy.actions.parse` reads the
    # family and its arguments (pan direction, zoom factor, ...) back from it.
    customId: str | None = None
    maskKey: str | None = None  # S3 key of the Vary (Region) mask (/mj/submit/modal maskBase64)
    expiresAt: int | None = None  # epoch seconds, DynamoDB TTL

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def can_move_to(self, status: TaskStatus) -> bool:
        return status in TRANSITIONS[self.status]

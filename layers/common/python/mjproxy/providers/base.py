"""The provider interface (design.md §5).

A provider moves one task forward one step at a time so that a Lambda never blocks for minutes:
the worker calls `start` once, then `poll` each time the previous outcome asked for a follow-up,
and applies each `Outcome` to the task with a conditional update.

What Midjourney calls U1–U4, V1–V4 and 🔄 maps onto every provider: UPSCALE = the chosen quadrant
(upscaled where the provider can), VARIATION = image-to-image from that quadrant, REROLL = the same
prompt with new seeds. DESCRIBE yields text; BLEND combines the input images into a grid.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from ..config import Instance, Settings
    from ..domain.task import Task

OutcomeKind = Literal["submitted", "progress", "done", "failed", "wait"]
ResultKind = Literal["grid", "single", "text", "video"]


@dataclass(frozen=True)
class Outcome:
    """What one provider step produced.

    - submitted: the generator accepted the job (task -> SUBMITTED, progress "0%").
    - progress:  task -> IN_PROGRESS with `progress` (a string such as "46%"), optional `preview`.
    - done:      task -> SUCCESS. `result` says what `image`/`text` hold: a 2x2 grid PNG ("grid";
                 the worker stores it and its four quadrants), one image ("single", e.g. UPSCALE),
                 or text ("text": DESCRIBE's four prompts; imageUrl is then the described image).
    - failed:    task -> FAILURE with `fail_reason` (the generator's own words where it has them).
    - wait:      no visible change (e.g. rate limited); just poll again after `delay`.

    `delay` is the number of seconds until the worker should call `poll` again; None means "do not
    poll" (an external event source, such as the Discord matcher, will move the task on).
    `state` is merged into `task.providerState` (the provider's own bookkeeping, JSON-able values);
    `properties` is merged into the public `task.properties` (finalPrompt, messageHash, …);
    `prompt` sets prompt/promptEn (BLEND's displayed prompt, DESCRIBE's four prompts).
    """

    kind: OutcomeKind
    progress: str | None = None
    preview: bytes | None = None
    delay: float | None = None
    state: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    result: ResultKind | None = None
    image: bytes | None = None
    text: str | None = None
    prompt: str | None = None
    fail_reason: str | None = None
    seed: int | None = None  # the seed the generator really used (GET /mj/task/{id}/image-seed)
    video: bytes | None = None  # "video": the MP4; `image` is then its still (the imageUrl)
    # "video": the batch's other clips (midjourney: up to 3), each the MP4 (stored like `video`)
    # or a link the provider could not copy (kept as it is in videoUrls).
    more_videos: tuple[bytes | str, ...] = ()
    # Where the follow-up poll runs: "" = the worker; jobs.WAIT = the waiting worker (a step that
    # mostly waits on the generator's HTTP answer and whose own work fits in little memory).
    lane: str = ""
    # The result's buttons when the provider knows them (midjourney: the components Midjourney
    # attached); None derives them from the family table and the provider's capabilities.
    buttons: list[dict[str, Any]] | None = None

    # ---- constructors ----
    @classmethod
    def submitted(cls, delay: float | None, **kw: Any) -> Outcome:
        return cls(kind="submitted", progress="0%", delay=delay, **kw)

    @classmethod
    def in_progress(
        cls, progress: str, delay: float | None, preview: bytes | None = None, **kw: Any
    ) -> Outcome:
        return cls(kind="progress", progress=progress, delay=delay, preview=preview, **kw)

    @classmethod
    def grid(cls, png: bytes, **kw: Any) -> Outcome:
        return cls(kind="done", result="grid", image=png, **kw)

    @classmethod
    def single(cls, png: bytes, **kw: Any) -> Outcome:
        return cls(kind="done", result="single", image=png, **kw)

    @classmethod
    def video_clip(cls, mp4: bytes, still_png: bytes, **kw: Any) -> Outcome:
        return cls(kind="done", result="video", video=mp4, image=still_png, **kw)

    @classmethod
    def described(cls, text: str, **kw: Any) -> Outcome:
        return cls(kind="done", result="text", text=text, **kw)

    @classmethod
    def failed(cls, reason: str, **kw: Any) -> Outcome:
        return cls(kind="failed", fail_reason=reason, **kw)

    @classmethod
    def wait(cls, delay: float, **kw: Any) -> Outcome:
        return cls(kind="wait", delay=delay, **kw)


class ProviderContext(Protocol):
    """What the worker gives a provider: its settings and the task's images, loaded on demand."""

    settings: Settings
    instance: Instance

    def inputs(self, task: Task) -> list[bytes]:
        """The task's input images (imagine reference images, blend inputs, the describe image)."""

    def parent(self, task: Task) -> Task | None:
        """The parent task of an UPSCALE/VARIATION/REROLL."""

    def parent_quadrant(self, task: Task) -> bytes:
        """The parent's quadrant `task.index` (1..4) as PNG bytes (UPSCALE, VARIATION)."""

    def parent_grid(self, task: Task) -> bytes:
        """The parent's whole result image as PNG bytes (its grid, or its one upscaled image)."""

    def blob(self, key: str) -> bytes:
        """A stored image by its key (e.g. `task.maskKey`)."""

    def now_ms(self) -> int: ...


class Provider(ABC):
    """One image generator. Implementations must be safe to call again for the same step
    (SQS delivers at least once): `start` may run twice for one task after a crash.

    What a provider can do is declared in `mjproxy.providers.CAPABILITIES` (Capability values):
    only those buttons are shown, and /mj/submit/action refuses the others with code 4. A task
    created by a button carries its `customId`; `mjproxy.actions.spec_of(task)` parses it, and a
    family whose capability is in providers.common.ACTION_METHODS is done by the provider method
    of that name.
    """

    name: str = "base"

    @abstractmethod
    def start(self, task: Task, ctx: ProviderContext) -> Outcome:
        """Begin the task (submit the job to the generator)."""

    @abstractmethod
    def poll(self, task: Task, ctx: ProviderContext) -> Outcome:
        """Check on a started task."""


class ProviderError(Exception):
    """A provider failed in a way that should fail the task (its message becomes failReason)."""

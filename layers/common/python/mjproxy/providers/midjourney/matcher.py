"""Which task does a Midjourney message belong to? (protocol.md §6.6, §6.9, §6.11)

Two small ordered rule lists, each rule a plain function tested on its own:

1. CLASSIFIERS (classify.py) say what a message is and pull out what matters.
2. LOCATORS find the task among the account's running tasks, most exact first: our nonce (only
   gateway events carry it); a job already bound to a task (interaction id, job UUID, message
   id); a button result by its parent message and index; a describe by the file name we
   uploaded; an imagine by the unique --seed we appended; then by normalised prompt and submit
   order (§6.8); blend and describe by order.

Order-based rules only ever see tasks not bound to a job yet, and the provider sends at most one
such ambiguous job at a time (provider.py), so "earliest sent" is exact rather than a guess.
Completion is accepted from SUBMITTED as well as IN_PROGRESS: a fast job may finish between two
polls, and requiring a start message first is what left the original's tasks stuck.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ...actions import spec_of
from ...domain.task import Task, TaskAction
from .classify import Event, classify
from .messages import (
    Message,
    marker_seed,
    primary_prompt,
    seed_of,
)
from .shorten import is_shorten_reply
from .video import is_upscaled_video, is_video_prompt

# A message older than the interaction by more than this cannot be its answer (clock skew margin).
SENT_SKEW_MS = 30_000


# ============================================================================================
# 2. locators: (Event, candidates) -> Candidate | None
# ============================================================================================
@dataclass
class Candidate:
    """A running task of the account and the Discord job bound to it so far."""

    task: Task
    interaction_id: str | None = None
    job_hash: str | None = None
    message_ids: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, task: Task) -> Candidate:
        st = task.providerState
        ids = list(st.get("messageIds") or [])
        return cls(task, st.get("interactionId"), st.get("jobHash"), ids)

    @property
    def bound(self) -> bool:
        return bool(self.interaction_id or self.job_hash or self.message_ids)

    @property
    def sent_at(self) -> int | None:
        value = self.task.providerState.get("sentAt")
        return int(value) if value else None

    @property
    def parent_message_id(self) -> str | None:
        return self.task.properties.get("referencedMessageId")

    @property
    def sent_prompt(self) -> str:
        return str(self.task.providerState.get("prompt") or self.task.promptEn or "")

    def bind(self, event: Event) -> None:
        msg = event.message
        if msg.interaction_id and not self.interaction_id:
            self.interaction_id = msg.interaction_id
        if event.job_hash and not self.job_hash:
            self.job_hash = event.job_hash
        if msg.id and msg.id not in self.message_ids and event.kind in ("start", "progress"):
            self.message_ids.append(msg.id)

    def binding_state(self) -> dict[str, object]:
        out: dict[str, object] = {"messageIds": self.message_ids[-5:]}
        if self.interaction_id:
            out["interactionId"] = self.interaction_id
        if self.job_hash:
            out["jobHash"] = self.job_hash
        return out


def _earliest_sent(cands: list[Candidate], msg: Message) -> Candidate | None:
    created = msg.created_ms
    sent = [
        c for c in cands
        if c.sent_at is not None and not c.bound
        and (created is None or created >= c.sent_at - SENT_SKEW_MS)
    ]  # fmt: skip
    return min(sent, key=lambda c: (c.sent_at or 0, c.task.id)) if sent else None


def by_nonce(event: Event, cands: list[Candidate]) -> Candidate | None:
    """Exact, when the message carries our interaction nonce: Discord echoes it on the bot's
    first answer, but only to a gateway listener (protocol.md §6.12) — REST reads never have it."""
    nonce = event.message.nonce
    if not nonce:
        return None
    return next((c for c in cands if c.task.properties.get("nonce") == nonce), None)


def by_binding(event: Event, cands: list[Candidate]) -> Candidate | None:
    """A message of a job already bound: same interaction, same job UUID, or an edit of (or a
    reply to) a message we already took."""
    msg = event.message
    for c in cands:
        if msg.interaction_id and msg.interaction_id == c.interaction_id:
            return c
        if event.job_hash and event.job_hash == c.job_hash:
            return c
        if msg.id in c.message_ids or (msg.reference_id and msg.reference_id in c.message_ids):
            return c
    return None


# Which child tasks a button result's text can belong to (messages.HEADS kinds): "Image #n" is
# a U, "Upscaled (Subtle) by" an HD upscale, "Variations (Strong|Subtle|Region) by" / "Remix" a
# V, Vary (Subtle)/(Strong)/(Region) or a reroll of a variation grid, "Pan Left by" a pan,
# "Zoom Out by" Zoom Out 2x/1.5x or Custom Zoom, imagine-format text a reroll.
KIND_ACTIONS: dict[str, tuple[TaskAction, ...]] = {
    "upscale": (TaskAction.UPSCALE,),
    "upscale_hd": (TaskAction.UPSCALE_HD,),
    "variation": (TaskAction.VARIATION, TaskAction.REROLL),
    "pan": (TaskAction.PAN,),
    "zoom": (TaskAction.ZOOM,),
    "imagine": (TaskAction.REROLL,),
}
_GRIDS = (TaskAction.VARIATION, TaskAction.REROLL, TaskAction.PAN, TaskAction.ZOOM)


def _child_actions(event: Event) -> tuple[TaskAction, ...] | None:
    """None: any child (a failure names no kind)."""
    if event.kind == "failure":
        return None
    parsed = event.message.parsed
    if parsed is not None and is_video_prompt(parsed.prompt):
        # Animate on an upscale, Extend; the one clip of a video's U<i> (its UPSCALE task, or
        # step 1 of a /submit/video extend: video.py, extend.py)
        upscaled = is_upscaled_video(event.message)
        return (TaskAction.VIDEO, TaskAction.UPSCALE) if upscaled else (TaskAction.VIDEO,)
    if parsed is not None:
        return KIND_ACTIONS.get(parsed.kind, ())
    if event.upscale:  # a result read by its buttons / an old start text
        return (TaskAction.UPSCALE, TaskAction.UPSCALE_HD)
    return _GRIDS if event.variation else (TaskAction.REROLL, *_GRIDS)


def by_parent_message(event: Event, cands: list[Candidate]) -> Candidate | None:
    """Button results name the message whose button was pressed; U also says which image, a
    pan its direction."""
    parent = event.message.parent_message_id
    if not parent:
        return None
    children = [c for c in cands if c.parent_message_id == parent]
    actions = _child_actions(event)
    if actions is not None:
        children = [c for c in children if c.task.action in actions]
    if event.index is not None:
        children = [c for c in children if c.task.index in (None, event.index)]
    parsed = event.message.parsed
    if parsed is not None and parsed.kind == "pan" and parsed.label:
        children = [c for c in children if _pan_direction(c.task) in (None, parsed.label.lower())]
    return _earliest_sent(children, event.message)


def _pan_direction(task: Task) -> str | None:
    spec = spec_of(task)
    return spec.pan_direction if spec is not None else None


def by_described_image(event: Event, cands: list[Candidate]) -> Candidate | None:
    """Describe shows the image we uploaded as `<taskId>.<ext>`: its file name is the task."""
    if not event.image_url or event.message.interaction_name != "describe":
        return None
    name = urlsplit(event.image_url).path.rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0]
    for c in cands:
        if c.task.action == TaskAction.DESCRIBE and stem == c.task.id:
            return c
    return None


def _imagine_prompt(event: Event) -> str | None:
    if event.prompt is not None:
        return event.prompt
    footer = event.message.footer  # error embeds quote the command: "/imagine <prompt>"
    return footer[len("/imagine ") :] if footer.startswith("/imagine ") else None


def _imagines(event: Event, cands: list[Candidate]) -> list[Candidate]:
    if event.message.parent_message_id or event.message.interaction_name not in (None, "imagine"):
        return []  # a button result or another command: never an imagine
    # /submit/video runs as an /imagine too; its echo carries --video (video.py)
    action = TaskAction.VIDEO if is_video_prompt(_imagine_prompt(event)) else TaskAction.IMAGINE
    return [c for c in cands if c.task.action == action]


def by_seed(event: Event, cands: list[Candidate]) -> Candidate | None:
    """The --seed we appended (derived from the task id) comes back in the echoed prompt."""
    seed = seed_of(_imagine_prompt(event))
    if seed is None:
        return None
    for c in _imagines(event, cands):
        if seed == marker_seed(c.task.id):
            return c
    return None


def by_prompt(event: Event, cands: list[Candidate]) -> Candidate | None:
    """§6.8 primary prompt, earliest sent first; a prefix is accepted for prompts Midjourney
    truncated in its echo (#246)."""
    echoed = _imagine_prompt(event)
    if echoed is None:
        return None
    target = primary_prompt(echoed)
    if not target:
        return None
    # Midjourney echoes the --seed it was sent: a job sent with another seed is not this one
    # (e.g. the answer of a cancelled or timed-out task whose job no message had bound yet).
    seed = seed_of(echoed)
    imagines = [
        c for c in _imagines(event, cands)
        if seed is None or seed_of(c.sent_prompt) in (None, seed)
    ]  # fmt: skip
    same = [c for c in imagines if primary_prompt(c.sent_prompt) == target]
    if not same and len(target) >= 40:
        same = [c for c in imagines if primary_prompt(c.sent_prompt).startswith(target.rstrip("."))]
    return _earliest_sent(same, event.message)


def by_blend_order(event: Event, cands: list[Candidate]) -> Candidate | None:
    if event.message.interaction_name != "blend" or event.message.parent_message_id:
        return None
    return _earliest_sent([c for c in cands if c.task.action == TaskAction.BLEND], event.message)


def by_describe_order(event: Event, cands: list[Candidate]) -> Candidate | None:
    if event.message.interaction_name != "describe":
        return None
    return _earliest_sent([c for c in cands if c.task.action == TaskAction.DESCRIBE], event.message)


def by_shorten_order(event: Event, cands: list[Candidate]) -> Candidate | None:
    if not (event.message.interaction_name == "shorten" or is_shorten_reply(event.message)):
        return None
    return _earliest_sent([c for c in cands if c.task.action == TaskAction.SHORTEN], event.message)


_COMMAND_ACTIONS = {
    "imagine": TaskAction.IMAGINE,
    "blend": TaskAction.BLEND,
    "describe": TaskAction.DESCRIBE,
    "shorten": TaskAction.SHORTEN,
}


def by_sole_pending(event: Event, cands: list[Candidate]) -> Candidate | None:
    """An error answering a command we sent, when exactly one such job awaits its answer."""
    action = _COMMAND_ACTIONS.get(event.message.interaction_name or "")
    if event.kind != "failure" or action is None:
        return None
    pending = [c for c in cands if c.task.action == action and c.sent_at and not c.bound]
    return pending[0] if len(pending) == 1 else None


Locator = Callable[[Event, list[Candidate]], "Candidate | None"]
LOCATORS: tuple[Locator, ...] = (
    by_nonce,
    by_binding,
    by_parent_message,
    by_described_image,
    by_seed,
    by_prompt,
    by_blend_order,
    by_describe_order,
    by_shorten_order,
    by_sole_pending,
)


@dataclass(frozen=True)
class Match:
    event: Event
    candidate: Candidate


def locate(event: Event, cands: list[Candidate]) -> Candidate | None:
    for rule in LOCATORS:
        found = rule(event, cands)
        if found is not None:
            return found
    return None


def retired_keys(event: Event) -> list[str]:
    """What identifies the message's job once its task has ended (see PollerState.retired)."""
    msg = event.message
    return [k for k in (msg.id, msg.interaction_id, event.job_hash) if k]


def match(
    msg: Message, cands: list[Candidate], retired: Container[str] = frozenset()
) -> tuple[Event, Candidate | None]:
    """Classify the message and find its task; binds the job to the task in memory so later
    messages of the same poll see it. A message of a job whose task already ended is ignored,
    so it can never be taken for a sibling with the same prompt."""
    event = classify(msg)
    if event.kind == "ignore":
        return event, None
    if any(k in retired for k in retired_keys(event)):
        return Event("ignore", msg), None
    found = locate(event, cands)
    if found is not None:
        found.bind(event)
    return event, found

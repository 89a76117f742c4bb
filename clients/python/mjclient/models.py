"""Typed views of the wire objects: Task, Button and a submit answer (protocol.md §2, §4)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

TERMINAL = frozenset({"SUCCESS", "FAILURE", "CANCEL"})
# Codes the protocol counts as "accepted" (relays do the same); 21 only with a modal task.
ACCEPTED = frozenset({1, 22})
MODAL_DESCRIPTION = "Waiting for window confirm"
# Emoji-only buttons get a readable name so they can be pressed by label too.
EMOJI_NAMES = {"🔄": "Reroll", "⬅️": "Pan Left", "➡️": "Pan Right", "⬆️": "Pan Up", "⬇️": "Pan Down"}


def normalize_label(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


@dataclass(frozen=True)
class Button:
    custom_id: str
    label: str = ""
    emoji: str = ""
    style: int = 2
    type: int = 2

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Button:
        return cls(
            custom_id=str(data.get("customId") or ""),
            label=str(data.get("label") or ""),
            emoji=str(data.get("emoji") or ""),
            style=int(data.get("style") or 2),
            type=int(data.get("type") or 2),
        )

    @property
    def name(self) -> str:
        """What a person calls it: the label, else a name for the emoji, else the emoji."""
        return self.label or EMOJI_NAMES.get(self.emoji, self.emoji)

    def matches(self, wanted: str) -> bool:
        key = normalize_label(wanted)
        return key in {normalize_label(n) for n in (self.label, self.emoji, self.name) if n}


@dataclass(frozen=True)
class Task:
    id: str
    status: str
    action: str | None = None
    progress: str | None = None
    prompt: str | None = None
    prompt_en: str | None = None
    description: str | None = None
    image_url: str | None = None
    image_urls: list[str] = field(default_factory=list)
    fail_reason: str | None = None
    submit_time: int | None = None
    start_time: int | None = None
    finish_time: int | None = None
    buttons: list[Button] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Task:
        return cls(
            id=str(data.get("id")),
            status=str(data.get("status") or ""),
            action=data.get("action"),
            progress=data.get("progress"),
            prompt=data.get("prompt"),
            prompt_en=data.get("promptEn"),
            description=data.get("description"),
            image_url=data.get("imageUrl"),
            image_urls=[u["url"] for u in data.get("imageUrls") or [] if u.get("url")],
            fail_reason=data.get("failReason"),
            submit_time=data.get("submitTime"),
            start_time=data.get("startTime"),
            finish_time=data.get("finishTime"),
            buttons=[Button.from_json(b) for b in data.get("buttons") or []],
            properties=dict(data.get("properties") or {}),
            raw=data,
        )

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @property
    def percent(self) -> int | None:
        """The progress as a number, or None while it is a non-numeric string (§4.3)."""
        m = re.fullmatch(r"\s*(\d{1,3})\s*%\s*", self.progress or "")
        return min(100, int(m.group(1))) if m else (100 if self.status == "SUCCESS" else None)

    def button(self, label: str) -> Button | None:
        return next((b for b in self.buttons if b.matches(label)), None)


@dataclass(frozen=True)
class Submitted:
    """A submit answer that was accepted: `task_id` is the new task."""

    code: int
    description: str
    task_id: str
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def modal(self) -> bool:
        """The task waits in status MODAL for POST /mj/submit/modal (plus-api.md §2.1.2)."""
        return self.code == 21 and self.description == MODAL_DESCRIPTION

    @property
    def queued_ahead(self) -> int:
        return int(self.properties.get("numberOfQueues") or 0) if self.code == 22 else 0

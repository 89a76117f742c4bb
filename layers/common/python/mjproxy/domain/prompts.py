"""Prompt text: Midjourney parameters (--ar, --seed, --no …) and the task description strings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from .task import TaskAction

_PARAM_RE = re.compile(r"(?:^|\s)--([a-zA-Z][\w-]*)((?:\s+(?!--)[^\s]+)*)")
_AR_RE = re.compile(r"^\s*(\d{1,4})\s*:\s*(\d{1,4})\s*$")


@dataclass
class ParsedPrompt:
    """A prompt split into its text and its `--name value` parameters (last one wins)."""

    text: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def aspect(self) -> tuple[int, int]:
        """`--ar W:H` (alias `--aspect`), clamped to Midjourney's range; 1:1 when absent or bad."""
        raw = self.params.get("ar") or self.params.get("aspect") or ""
        m = _AR_RE.match(raw)
        if not m:
            return (1, 1)
        w, h = int(m.group(1)), int(m.group(2))
        if w == 0 or h == 0:
            return (1, 1)
        # Midjourney accepts ratios between 1:3 and 3:1 for most models.
        if w / h > 3:
            return (3, 1)
        if h / w > 3:
            return (1, 3)
        return (w, h)

    @property
    def seed(self) -> int | None:
        raw = self.params.get("seed", "").strip()
        if raw.isdigit() and int(raw) <= 4294967295:
            return int(raw)
        return None

    @property
    def negative(self) -> str | None:
        return self.params.get("no") or None


def parse_prompt(prompt: str) -> ParsedPrompt:
    params: dict[str, str] = {}
    for m in _PARAM_RE.finditer(prompt):
        params[m.group(1).lower()] = m.group(2).strip()
    first = _PARAM_RE.search(prompt)
    text = prompt[: first.start()].strip() if first else prompt.strip()
    return ParsedPrompt(text=text, params=params)


def imagine_description(prompt: str) -> str:
    return f"/imagine {prompt}"


def change_description(parent_id: str, action: TaskAction, index: int | None) -> str:
    """`/up <parentId> U2`, `/up <parentId> V3`, `/up <parentId> R` (protocol.md §3.2)."""
    if action == TaskAction.UPSCALE:
        return f"/up {parent_id} U{index}"
    if action == TaskAction.VARIATION:
        return f"/up {parent_id} V{index}"
    return f"/up {parent_id} R"


def describe_description(task_id: str, ext: str) -> str:
    return f"/describe {task_id}.{ext}"


def blend_description(task_id: str, count: int) -> str:
    return f"/blend {task_id} {count}"


class BlendDimensions(StrEnum):
    """`dimensions` of a blend and the `--ar` Midjourney uses for each (protocol.md §5.8)."""

    PORTRAIT = "PORTRAIT"
    SQUARE = "SQUARE"
    LANDSCAPE = "LANDSCAPE"

    @property
    def aspect(self) -> tuple[int, int]:
        return {"PORTRAIT": (2, 3), "SQUARE": (1, 1), "LANDSCAPE": (3, 2)}[self.value]


def blend_aspect(dimensions: str | None) -> tuple[int, int]:
    """The aspect of a blend task (`task.dimensions`); 1:1 when unset or unknown."""
    try:
        return BlendDimensions(dimensions or "SQUARE").aspect
    except ValueError:
        return (1, 1)

"""The customId -> action table (plus-api.md §2.1.1). One row per family: how its customId looks,
the action of the task it creates, whether it needs the modal step, the capability a provider must
declare to offer it, and the buttons it contributes to a result.

Adding a family is one row here and one provider method (named after its capability).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..domain.task import Task, TaskAction

Button = dict[str, Any]


class Modal(StrEnum):
    NEVER = "never"
    ALWAYS = "always"  # Custom Zoom, Vary (Region): a prompt (and mask) must be confirmed first
    REMIX = "remix"  # only when the request says enableRemix: true


class Capability(StrEnum):
    """What a provider declares it can do (Provider.capabilities). Each is also the name of the
    provider method that does it, where the classic actions do not already cover it."""

    IMAGINE = "imagine"
    UPSCALE = "upscale"
    VARIATION = "variation"
    REROLL = "reroll"
    DESCRIBE = "describe"
    UPSCALE_HD = "upscale_hd"  # Upscale (Subtle)/(Creative), (2x)/(4x) of an upscaled image
    VARY = "vary"  # Vary (Subtle)/(Strong) of an upscaled image
    VARY_REGION = "vary_region"  # repaint the masked area
    OUTPAINT = "outpaint"  # pans, Zoom Out 2x/1.5x, Custom Zoom
    ANIMATE = "animate"  # Animate (High/Low motion) of an image, Extend of a video
    # U1-U4 of a Discord video (video_virtual_upscale): only Midjourney has them; its answer is
    # the one clip with the Extend buttons (providers/midjourney/extend.py)
    VIDEO_UPSCALE = "video_upscale"


ALL_CAPABILITIES = frozenset(Capability)
# What every provider could do before the plus API (protocol.md §5.1).
CLASSIC_CAPABILITIES = frozenset(
    {Capability.IMAGINE, Capability.UPSCALE, Capability.VARIATION, Capability.REROLL,
     Capability.DESCRIBE}
)  # fmt: skip


def button(custom_id: str, label: str = "", emoji: str = "", style: int = 2) -> Button:
    """A Discord button as the protocol shows it (`type` 2 = button, `style` 2 = secondary)."""
    return {"customId": custom_id, "emoji": emoji, "label": label, "type": 2, "style": style}


# Midjourney's upscaler ids and labels by model version (plus-api.md §2.1.3; v8 has none).
_HD_BY_VERSION: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("5", (("v5_2x", "Upscale (2x)"), ("v5_4x", "Upscale (4x)"))),
    ("6.1", (("v6r1_2x_subtle", "Upscale (Subtle)"), ("v6r1_2x_creative", "Upscale (Creative)"))),
    ("6", (("v6_2x_subtle", "Upscale (Subtle)"), ("v6_2x_creative", "Upscale (Creative)"))),
    ("7", (("v7_2x_subtle", "Upscale (Subtle)"), ("v7_2x_creative", "Upscale (Creative)"))),
)
HD_KINDS = tuple(kind for _, pairs in _HD_BY_VERSION for kind, _ in pairs)
_VERSION_RE = re.compile(r"(?:^|\s)--(?:v|version)\s+(\d+(?:\.\d+)?)")
PAN_DIRECTIONS = {"left": "⬅️", "right": "➡️", "up": "⬆️", "down": "⬇️"}
ZOOM_LEVELS = {"50": ("Zoom Out 2x", 2.0), "75": ("Zoom Out 1.5x", 1.5)}
DEFAULT_CUSTOM_ZOOM = 2.0
_ZOOM_RE = re.compile(r"(?:^|\s)--zoom\s+(\d+(?:\.\d+)?)")
MOTIONS = ("high", "low")  # Animate's motion levels, in Midjourney's button order
KEYCAPS = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣")


def model_version(prompt: str | None) -> str:
    """The Midjourney model version a prompt asks for (`--v 6.1`), default 7."""
    m = _VERSION_RE.search(prompt or "")
    return m.group(1) if m else "7"


def hd_upscalers(prompt: str | None) -> tuple[tuple[str, str], ...]:
    version = model_version(prompt)
    if version.startswith("8"):
        return ()
    for prefix, pairs in _HD_BY_VERSION:
        if version == prefix or version.startswith(prefix + "."):
            return pairs
    return _HD_BY_VERSION[-1][1]


@dataclass(frozen=True)
class Family:
    name: str
    pattern: re.Pattern[str]  # the whole customId; named groups `hash` and optionally `arg`
    action: TaskAction
    modal: Modal
    capability: Capability
    # result kind ("grid" | "single" | "text") -> this family's place among that result's buttons
    on: Mapping[str, int]
    # the buttons of this family on a result with message hash `h` (the task gives the prompt)
    make: Callable[[str, Task], list[Button]] = field(repr=False)
    indexed: bool = False  # `arg` is the quadrant 1..4 (U1..U4, V1..V4)
    clear_prompt: bool = False  # Vary (Region): the modal's prompt replaces the parent's


def _family(name: str, pattern: str, *args: Any, **kw: Any) -> Family:
    return Family(name, re.compile(pattern + r"\Z"), *args, **kw)


_HASH = r"(?P<hash>[^:]+)"
FAMILIES: tuple[Family, ...] = (
    _family(
        "upsample", rf"MJ::JOB::upsample::(?P<arg>[1-4])::{_HASH}", TaskAction.UPSCALE,
        Modal.NEVER, Capability.UPSCALE, {"grid": 10},
        lambda h, t: [button(f"MJ::JOB::upsample::{i}::{h}", f"U{i}") for i in range(1, 5)],
        indexed=True,
    ),
    _family(
        "reroll", rf"MJ::JOB::reroll::0::{_HASH}::SOLO", TaskAction.REROLL,
        Modal.REMIX, Capability.REROLL, {"grid": 20, "single": 90},
        lambda h, t: [button(f"MJ::JOB::reroll::0::{h}::SOLO", emoji="🔄")],
    ),
    _family(
        "variation", rf"MJ::JOB::variation::(?P<arg>[1-4])::{_HASH}", TaskAction.VARIATION,
        Modal.REMIX, Capability.VARIATION, {"grid": 30},
        lambda h, t: [button(f"MJ::JOB::variation::{i}::{h}", f"V{i}") for i in range(1, 5)],
        indexed=True,
    ),
    _family(
        "upsample_hd", rf"MJ::JOB::upsample_(?P<arg>{'|'.join(HD_KINDS)})::1::{_HASH}::SOLO",
        TaskAction.UPSCALE_HD, Modal.NEVER, Capability.UPSCALE_HD, {"single": 10},
        lambda h, t: [
            button(f"MJ::JOB::upsample_{kind}::1::{h}::SOLO", label, "upscale_1")
            for kind, label in hd_upscalers(t.promptEn or t.prompt)
        ],
    ),
    _family(
        "low_variation", rf"MJ::JOB::low_variation::1::{_HASH}::SOLO", TaskAction.VARIATION,
        Modal.REMIX, Capability.VARY, {"single": 20},
        lambda h, t: [button(f"MJ::JOB::low_variation::1::{h}::SOLO", "Vary (Subtle)", "🪄")],
    ),
    _family(
        "high_variation", rf"MJ::JOB::high_variation::1::{_HASH}::SOLO", TaskAction.VARIATION,
        Modal.REMIX, Capability.VARY, {"single": 21},
        lambda h, t: [button(f"MJ::JOB::high_variation::1::{h}::SOLO", "Vary (Strong)", "🪄")],
    ),
    _family(
        "inpaint", rf"MJ::Inpaint::1::{_HASH}::SOLO", TaskAction.VARIATION,
        Modal.ALWAYS, Capability.VARY_REGION, {"single": 22},
        lambda h, t: [button(f"MJ::Inpaint::1::{h}::SOLO", "Vary (Region)", "🖌️")],
        clear_prompt=True,
    ),
    _family(
        "outpaint", rf"MJ::Outpaint::(?P<arg>50|75)::1::{_HASH}::SOLO", TaskAction.ZOOM,
        Modal.NEVER, Capability.OUTPAINT, {"single": 30},
        lambda h, t: [
            button(f"MJ::Outpaint::{arg}::1::{h}::SOLO", label, "🔍")
            for arg, (label, _) in ZOOM_LEVELS.items()
        ],
    ),
    _family(
        "custom_zoom", rf"MJ::CustomZoom::(?:1::)?{_HASH}", TaskAction.ZOOM,
        Modal.ALWAYS, Capability.OUTPAINT, {"single": 32},
        lambda h, t: [button(f"MJ::CustomZoom::1::{h}", "Custom Zoom", "🔍")],
    ),
    _family(
        "pan", rf"MJ::JOB::pan_(?P<arg>left|right|up|down)::1::{_HASH}::SOLO", TaskAction.PAN,
        Modal.REMIX, Capability.OUTPAINT, {"single": 40},
        lambda h, t: [
            button(f"MJ::JOB::pan_{d}::1::{h}::SOLO", emoji=e) for d, e in PAN_DIRECTIONS.items()
        ],
    ),
    # Video (plus-api.md §2.1.1; labels and 🎞️ as trueai's CustomComponentModel.cs and
    # TaskInfo.cs:1110-1165 show them; the extend id has no ::SOLO there, accepted with or
    # without; its number is the clip's, 1..4: trueai TaskService.cs:734, and the `::4::` id
    # in DiscordWebSocketService.cs:3618). A video's U<i> is an UPSCALE task (trueai
    # SubmitController.cs:539-556) whose result is that clip.
    _family(
        "video_upscale", rf"MJ::JOB::video_virtual_upscale::(?P<arg>[1-4])::{_HASH}",
        TaskAction.UPSCALE, Modal.NEVER, Capability.VIDEO_UPSCALE, {"video": 5},
        lambda h, t: [
            button(f"MJ::JOB::video_virtual_upscale::{i}::{h}", f"U{i}") for i in range(1, 5)
        ],
        indexed=True,
    ),
    _family(
        "animate", rf"MJ::JOB::animate_(?P<arg>high|low)::1::{_HASH}::SOLO", TaskAction.VIDEO,
        Modal.REMIX, Capability.ANIMATE, {"single": 50},
        lambda h, t: [
            button(f"MJ::JOB::animate_{m}::1::{h}::SOLO", f"Animate ({m.title()} motion)", "🎞️")
            for m in MOTIONS
        ],
    ),
    _family(
        "animate_extend", rf"MJ::JOB::animate_(?P<arg>high|low)_extend::[1-4]::{_HASH}(?:::SOLO)?",
        TaskAction.VIDEO, Modal.REMIX, Capability.ANIMATE, {"video": 10},
        lambda h, t: [
            button(f"MJ::JOB::animate_{m}_extend::1::{h}", f"Extend ({m.title()} motion)", "🎞️")
            for m in MOTIONS
        ],
    ),
    # Describe results: "imagine this prompt" 1..4 and 🔄 (no hash: the taskId says which).
    _family(
        "picreader", r"MJ::Job::PicReader::(?P<arg>[1-4])", TaskAction.IMAGINE,
        Modal.NEVER, Capability.IMAGINE, {"text": 10},
        lambda h, t: [button(f"MJ::Job::PicReader::{i}", emoji=KEYCAPS[i - 1]) for i in range(1, 5)],
        indexed=True,
    ),
    # /shorten results: 1️⃣..5️⃣ imagine one shortened prompt (Midjourney's PromptAnalyzer).
    _family(
        "prompt_analyzer", r"MJ::Job::PromptAnalyzer::(?P<arg>[1-5])", TaskAction.IMAGINE,
        Modal.NEVER, Capability.IMAGINE, {"shorten": 10},
        lambda h, t: [
            button(f"MJ::Job::PromptAnalyzer::{i}", emoji=KEYCAPS[i - 1]) for i in range(1, 6)
        ],
        indexed=True,
    ),
    _family(
        "picread_retry", r"MJ::Picread::Retry", TaskAction.DESCRIBE,
        Modal.NEVER, Capability.DESCRIBE, {"text": 20},
        lambda h, t: [button("MJ::Picread::Retry", emoji="🔄")],
    ),
)  # fmt: skip

_BY_NAME = {f.name: f for f in FAMILIES}


def family(name: str) -> Family:
    return _BY_NAME[name]


@dataclass(frozen=True)
class ActionSpec:
    """One parsed customId."""

    family: Family
    custom_id: str
    hash: str | None
    arg: str | None

    @property
    def index(self) -> int | None:
        return int(self.arg) if self.family.indexed and self.arg else None

    @property
    def pan_direction(self) -> str | None:
        return self.arg if self.family.name == "pan" else None

    def zoom_factor(self, prompt: str | None = None) -> float:
        """How much larger the new canvas is (Zoom Out 2x -> 2.0; Custom Zoom: the prompt's
        `--zoom`, clamped to Midjourney's 1..2)."""
        if self.family.name == "outpaint":
            return ZOOM_LEVELS[self.arg or "50"][1]
        m = _ZOOM_RE.search(prompt or "")
        value = float(m.group(1)) if m else DEFAULT_CUSTOM_ZOOM
        return max(1.0, min(2.0, value))

    @property
    def strong(self) -> bool:
        """Vary (Strong) rather than (Subtle)."""
        return self.family.name == "high_variation"

    @property
    def motion(self) -> str | None:
        """Animate / Extend: "high" or "low" motion."""
        return self.arg if self.family.action == TaskAction.VIDEO else None

    @property
    def hd_factor(self) -> int:
        return 4 if self.arg and self.arg.endswith("4x") else 2

    @property
    def creative(self) -> bool:
        return bool(self.arg and self.arg.endswith("creative"))


def parse(custom_id: str | None) -> ActionSpec | None:
    """The family and arguments of a customId, None when no family matches."""
    text = (custom_id or "").strip()
    for fam in FAMILIES:
        m = fam.pattern.match(text)
        if m:
            groups = m.groupdict()
            return ActionSpec(fam, text, groups.get("hash"), groups.get("arg"))
    return None


def spec_of(task: Task) -> ActionSpec | None:
    """The parsed customId that created `task` (None for imagine/blend/describe and /change)."""
    return parse(task.customId) if task.customId else None


# /mj/submit/change and simple-change press the same buttons (protocol.md §3.2).
CHANGE_FAMILIES = {
    TaskAction.UPSCALE: "upsample",
    TaskAction.VARIATION: "variation",
    TaskAction.REROLL: "reroll",
}


def change_custom_id(action: TaskAction, index: int | None, parent: Task) -> str:
    """The customId of U<index> / V<index> / 🔄 on `parent`'s grid."""
    job_hash = str(parent.properties.get("messageHash") or parent.id)
    made = family(CHANGE_FAMILIES[action]).make(job_hash, parent)
    return made[(index or 1) - 1 if len(made) > 1 else 0]["customId"]

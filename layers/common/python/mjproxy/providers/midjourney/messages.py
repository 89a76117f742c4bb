"""Reading Midjourney's Discord messages: the regexes of protocol.md §6.8, the job UUID of §6.10
and a typed view of the message fields the matcher looks at."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .account import BOT_APPS

DISCORD_EPOCH_MS = 1420070400000
RED = 16711680  # 0xFF0000: Midjourney's error embeds
ORANGE = 16239475  # 0xF7CB73: warnings (novicezk ErrorMessageHandler)
YELLOW = 16776960  # 0xFFFF00: "warning" in trueai's colour list (DiscordWebSocketService.cs:1510)
WARNING_COLOURS = frozenset({ORANGE, YELLOW})  # informational only: the job goes on (§6.11)
EPHEMERAL = 64  # message flag: only the invoking user sees it (never on REST reads)

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
JOB_LINK = re.compile(r"midjourney\.com/jobs/(" + UUID.pattern + ")")

# §6.8, Java find() semantics = re.search; `.` does not cross newlines (the "-# Create…" line).
# The heads below stop at the user mention; what follows is read by `_tail` (see `parse`), so the
# 2026 "[(Open on website for full quality)](<https://midjourney.com/jobs/…>)" link, its plain
# "(Open on website for full quality)" form and any other extra text before the mode are fine.
_P = r"\*\*(.*)\*\*"
GENERIC = re.compile(r".*?\*\*(.*)\*\*.+<@\d+> \((.*?)\)")
HEADS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("upscale_hd", re.compile(_P + r" - (Upscaled|Upscaling)(?: \(([^)]*)\))? by <@\d+>(.*)")),
    ("variation", re.compile(_P + r" - (Variations|Remix)(?: \(([^)]*)\))? by <@\d+>(.*)")),
    ("pan", re.compile(_P + r" - Pan (Left|Right|Up|Down) by <@\d+>(.*)")),
    ("zoom", re.compile(_P + r" - Zoom Out by <@\d+>(.*)")),
    ("upscale", re.compile(_P + r" - Image #(\d) <@\d+>(.*)")),
    ("imagine", re.compile(_P + r" - <@\d+>(.*)")),
)
UPSCALE_START = re.compile(r"Upscaling image #(\d) with \*\*(.*?)\*\* - <@\d+> \((.*?)\)")
VARIATION_START = re.compile(
    r"Making variations for image #(\d) with prompt \*\*(.*?)\*\* - <@\d+> \((.*?)\)"
)
SEED = re.compile(r"(?:^|\s)--seed\s+(\d+)")
_PARAMS_TAIL = re.compile(r"\x20+--[a-z]+.*$", re.IGNORECASE)
_URL = re.compile(r"https?://[-a-zA-Z0-9+&@#/%?=~_|!:,.;]*[-a-zA-Z0-9+&@#/%=~_|]")
_WS = re.compile(r"\s+")
# After the mention: markdown links (skipped) and parenthesised statuses, in order.
_TAIL_TOKEN = re.compile(r"\[[^\]]*\]\(<[^>]*>\)|\[[^\]]*\]\([^)]*\)|\(([^()]*)\)")
MODE = re.compile(r"^(fast|relaxed|relax|turbo)(?:,\s*stealth)?$", re.IGNORECASE)

# Statuses in parentheses that mean "still running" rather than a speed mode like "(fast)".
_PERCENT = re.compile(r"^\d{1,3}%$")
_RUNNING_WORDS = ("waiting to start", "paused", "stopped", "job queued")


@dataclass(frozen=True)
class Parsed:
    """What a Midjourney job message says: which kind of job, the echoed prompt, and the
    statuses after the mention. `running` is the progress/waiting status ("31%", "Waiting to
    start"); `mode` the speed mode of a finished (or running) job ("fast", "relaxed, stealth")."""

    kind: str  # imagine | variation | upscale | upscale_hd | pan | zoom
    prompt: str
    running: str | None = None
    mode: str | None = None
    index: int | None = None  # "Image #2"
    label: str | None = None  # "Strong", "Subtle", "Creative", "Left", "Upscaling" …

    @property
    def done(self) -> bool:
        return self.running is None and not (
            self.kind == "upscale_hd" and self.label == "Upscaling"
        )


def _tail(text: str) -> tuple[str | None, str | None]:
    running = mode = None
    for m in _TAIL_TOKEN.finditer(text):
        status = m.group(1)
        if status is None:
            continue  # a markdown link: "[(Open on website for full quality)](<…>)"
        status = status.strip()
        if running is None and is_running_status(status):
            running = status
        elif MODE.match(status):
            mode = status
    return running, mode


def parse(content: str) -> Parsed | None:
    """The first line of a job message, or None when it is no job message (§6.7, and the
    2025/2026 forms in trueai's MjMessageParser.cs)."""
    line = content.split("\n", 1)[0]
    for kind, pattern in HEADS:
        m = pattern.search(line)
        if m is None:
            continue
        groups = m.groups()
        running, mode = _tail(groups[-1])
        index = int(groups[1]) if kind == "upscale" else None
        label = groups[1] if kind == "pan" else groups[2] if kind == "variation" else None
        if kind == "upscale_hd":
            label = groups[2] or None
            if groups[1] == "Upscaling" and running is None:
                running = "Waiting to start"
        if kind == "variation" and groups[1] == "Remix":
            label = f"Remix {groups[2]}" if groups[2] else "Remix"
        return Parsed(kind, groups[0], running, mode, index, label)
    return None


def primary_prompt(prompt: str) -> str:
    """§6.8 "primary prompt": parameters cut off, URLs turned into <link>, whitespace removed,
    so Midjourney's rewriting (s.mj.run links, collapsed spaces, appended --v) compares equal."""
    text = _PARAMS_TAIL.sub("", prompt)
    text = _URL.sub("<link>", text).replace("<<link>>", "<link>")
    return _WS.sub("", text)


def seed_of(prompt: str | None) -> int | None:
    found = SEED.findall(prompt or "")
    return int(found[-1]) if found else None


def marker_seed(task_id: str) -> int:
    """The --seed appended to a task's imagine prompt: derived from the task id, so the poller
    can recognise the task's messages even before the worker has written anything."""
    digest = hashlib.sha256(f"mjproxy-seed:{task_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big")  # 0 .. 4294967295, Midjourney's seed range


def job_hash(url: str | None) -> str | None:
    """Midjourney's job UUID from an attachment URL (§6.10): the query string stripped first
    (signed CDN URLs end in `?ex=…&is=…&hm=…&`), then `<uuid>_grid_0.webp`, else a UUID anywhere in
    the file name (`user_cat_<uuid>.png`, `<uuid>_0_0.png`, `<uuid>_3_step_7.jpeg`,
    `cdn.midjourney.com/<uuid>/0_0.png`; trueai DiscordHelper.cs:157-206). Never "what follows the
    last `_`": for `<uuid>_0_0.png` that is `0`, which cross-binds concurrent jobs."""
    if not url:
        return None
    path = urlsplit(url).path
    name = path.rsplit("/", 1)[-1]
    if name.endswith("_grid_0.webp") and UUID.fullmatch(name[: -len("_grid_0.webp")]):
        return name[: -len("_grid_0.webp")]
    found = UUID.search(name) or UUID.search(path)
    return found.group(0) if found else None


def snowflake_ms(snowflake: str | None) -> int | None:
    try:
        return (int(snowflake or "") >> 22) + DISCORD_EPOCH_MS
    except ValueError:
        return None


def snowflake_at(ms: int) -> str:
    return str((ms - DISCORD_EPOCH_MS) << 22)


def is_running_status(status: str | None) -> bool:
    if status is None:
        return False
    s = status.strip().lower()
    return bool(_PERCENT.match(s)) or s in _RUNNING_WORDS


@dataclass(frozen=True)
class Message:
    """The parts of a Discord message the matcher reads (REST and gateway payloads alike)."""

    raw: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.raw.get("id") or "")

    @property
    def content(self) -> str:
        return str(self.raw.get("content") or "")

    @property
    def author_id(self) -> str:
        return str((self.raw.get("author") or {}).get("id") or "")

    @property
    def from_midjourney(self) -> bool:
        return self.author_id in BOT_APPS  # Midjourney's bot or Niji's

    @property
    def flags(self) -> int:
        return int(self.raw.get("flags") or 0)

    @property
    def attachments(self) -> list[dict[str, Any]]:
        return list(self.raw.get("attachments") or [])

    @property
    def attachment_url(self) -> str | None:
        return self.attachments[0].get("url") if self.attachments else None

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return list(self.raw.get("embeds") or [])

    @property
    def embed(self) -> dict[str, Any]:
        return self.embeds[0] if self.embeds else {}

    @property
    def _metadata(self) -> dict[str, Any]:
        return self.raw.get("interaction_metadata") or {}

    @property
    def _interaction(self) -> dict[str, Any]:
        return self.raw.get("interaction") or {}

    @property
    def interaction_id(self) -> str | None:
        value = self._metadata.get("id") or self._interaction.get("id")
        return str(value) if value else None

    @property
    def interaction_name(self) -> str | None:
        value = self._metadata.get("name") or self._interaction.get("name")
        return str(value) if value else None

    @property
    def parent_message_id(self) -> str | None:
        """The message whose button started this job: a U/V/R result names its grid."""
        value = self._metadata.get("interacted_message_id") or (
            self.raw.get("message_reference") or {}
        ).get("message_id")
        return str(value) if value else None

    @property
    def reference_id(self) -> str | None:
        value = (self.raw.get("message_reference") or {}).get("message_id")
        return str(value) if value else None

    @property
    def nonce(self) -> str | None:
        value = self.raw.get("nonce")
        return str(value) if value else None

    @property
    def created_ms(self) -> int | None:
        return snowflake_ms(self.id)

    @property
    def parsed(self) -> Parsed | None:
        return parse(self.content)

    @property
    def echoed_prompt(self) -> str | None:
        p = self.parsed
        if p is not None:
            return p.prompt
        m = GENERIC.search(self.content)
        return m.group(1) if m else None

    @property
    def status(self) -> str | None:
        """The text in the parentheses after the user mention: "31%", "Waiting to start",
        "fast" …"""
        p = self.parsed
        if p is not None:
            return p.running or p.mode
        m = GENERIC.search(self.content)
        return m.group(2) if m else None

    @property
    def footer(self) -> str:
        return str((self.embed.get("footer") or {}).get("text") or "")

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Every button of the message's action rows, as Discord sent them."""
        out = []
        for row in self.raw.get("components") or []:
            for comp in row.get("components") or []:
                if comp.get("type") == 2:
                    out.append(comp)
        return out

    @property
    def custom_ids(self) -> list[str]:
        return [str(b["custom_id"]) for b in self.buttons if b.get("custom_id")]

    @property
    def linked_job(self) -> str | None:
        """The job UUID of the "Open on website" link (content or link button, trueai
        DiscordService.cs:4057-4062), else of the message's own button ids."""
        texts = [self.content, *(str(b.get("url") or "") for b in self.buttons)]
        for text in texts:
            m = JOB_LINK.search(text)
            if m:
                return m.group(1)
        for cid in self.custom_ids:
            m = UUID.search(cid)
            if m:
                return m.group(0)
        return None

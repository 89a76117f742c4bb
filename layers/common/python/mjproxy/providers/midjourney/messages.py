"""Reading Midjourney's Discord messages: the regexes of protocol.md §6.8, the job UUID of §6.10
and a typed view of the message fields the matcher looks at."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .account import MIDJOURNEY_APP_ID

DISCORD_EPOCH_MS = 1420070400000
RED = 16711680  # 0xFF0000: Midjourney's error embeds
ORANGE = 16239475  # 0xF7CB73: warnings, informational only (§6.11)
EPHEMERAL = 64  # message flag: only the invoking user sees it (never on REST reads)

# §6.8, Java find() semantics = re.search; `.` does not cross newlines (the "-# Create…" line).
GENERIC = re.compile(r".*?\*\*(.*)\*\*.+<@\d+> \((.*?)\)")
IMAGINE_DONE = re.compile(r"\*\*(.*)\*\* - <@\d+> \((.*?)\)")
VARIATION_DONE = (
    re.compile(r"\*\*(.*)\*\* - Variations by <@\d+> \((.*?)\)"),
    re.compile(r"\*\*(.*)\*\* - Variations \(.*?\) by <@\d+> \((.*?)\)"),
)
UPSCALED_DONE = (
    re.compile(r"\*\*(.*)\*\* - Upscaled \(.*?\) by <@\d+> \((.*?)\)"),
    re.compile(r"\*\*(.*)\*\* - Upscaled by <@\d+> \((.*?)\)"),
)
UPSCALE_IMAGE = re.compile(r"\*\*(.*)\*\* - Image #(\d) <@\d+>")
UPSCALE_START = re.compile(r"Upscaling image #(\d) with \*\*(.*?)\*\* - <@\d+> \((.*?)\)")
VARIATION_START = re.compile(
    r"Making variations for image #(\d) with prompt \*\*(.*?)\*\* - <@\d+> \((.*?)\)"
)
SEED = re.compile(r"(?:^|\s)--seed\s+(\d+)")
_PARAMS_TAIL = re.compile(r"\x20+--[a-z]+.*$", re.IGNORECASE)
_URL = re.compile(r"https?://[-a-zA-Z0-9+&@#/%?=~_|!:,.;]*[-a-zA-Z0-9+&@#/%=~_|]")
_WS = re.compile(r"\s+")

# Statuses in parentheses that mean "still running" rather than a speed mode like "(fast)".
_PERCENT = re.compile(r"^\d{1,3}%$")
_RUNNING_WORDS = ("waiting to start", "paused", "stopped", "job queued")


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
    """Midjourney's job UUID from an attachment URL (§6.10), with the query string stripped
    first: signed CDN URLs end in `?ex=…&is=…&hm=…&`, which broke the original's rule."""
    if not url:
        return None
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    if name.endswith("_grid_0.webp"):
        return name[: -len("_grid_0.webp")] or None
    if "_" not in name:
        return None
    tail = name.rsplit("_", 1)[1]
    return tail.rsplit(".", 1)[0] if "." in tail else tail or None


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
        return self.author_id == MIDJOURNEY_APP_ID

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
    def echoed_prompt(self) -> str | None:
        m = GENERIC.search(self.content) or IMAGINE_DONE.search(self.content)
        return m.group(1) if m else None

    @property
    def status(self) -> str | None:
        """The text in the parentheses after the user mention: "31%", "Waiting to start",
        "fast" …"""
        m = GENERIC.search(self.content)
        return m.group(2) if m else None

    @property
    def footer(self) -> str:
        return str((self.embed.get("footer") or {}).get("text") or "")

    @property
    def custom_ids(self) -> list[str]:
        out = []
        for row in self.raw.get("components") or []:
            for comp in row.get("components") or []:
                if comp.get("custom_id"):
                    out.append(str(comp["custom_id"]))
        return out

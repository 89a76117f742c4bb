"""What is a Midjourney message? (protocol.md §6.6, §6.9): the classifiers of matcher.py.

CLASSIFIERS say what a message is (an error, a describe result, a finished grid or upscale, a
start or progress edit) and pull out what matters (Midjourney's failure text, the echoed prompt,
the progress string, the image, the job UUID). Each rule is a plain function tested on its own;
the first rule that recognises the message wins, in the order §6.6 recommends: errors, captcha,
describe, completions, progress. (The original meant the same order but never sorted its
handlers.) matcher.py then finds the task a classified message belongs to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from .messages import (
    GENERIC,
    RED,
    UPSCALE_START,
    VARIATION_START,
    WARNING_COLOURS,
    Message,
    is_running_status,
    job_hash,
)
from .shorten import is_shorten_reply

# "describe": a text result, describe's four prompts or /shorten's five.
EventKind = Literal["ignore", "failure", "start", "progress", "done", "describe", "account"]
AccountAction = Literal["disable", "relax"]

# Embed titles that refuse the account, not the job (trueai DiscordWebSocketService.cs:1532-1650):
# the account is taken out of service (or, for fast hours, switched to relax) instead of failing
# one task after another on a dead account.
ACCOUNT_REFUSALS: dict[str, AccountAction] = {
    "credits exhausted": "relax",
    "pending mod message": "disable",
    "blocked": "disable",
    "plan cancelled": "disable",
    "subscription required": "disable",
    "subscription paused": "disable",
}
_FAST_HOURS = ("fast hours", "fast time", "out of fast")
QUEUED_TITLES = ("job queued",)


@dataclass(frozen=True)
class Event:
    kind: EventKind
    message: Message
    prompt: str | None = None  # the prompt as Midjourney echoed it (finalPrompt)
    progress: str | None = None
    index: int | None = None  # "Image #2", "image #2"
    upscale: bool = False
    variation: bool = False  # "Variations …": a V result, or a reroll of a variation
    reason: str | None = None  # failReason, Midjourney's own words
    text: str | None = None  # describe: the four prompts
    image_url: str | None = None  # preview, result, or the described image
    account_action: AccountAction | None = None  # kind "account": what happens to the account
    queued: bool = False  # "Job queued": Midjourney will run it later; only exact locators

    @property
    def job_hash(self) -> str | None:
        """The job UUID of a preview or result: from the attachment name, else the "Open on
        website" link or the buttons. Not for upscales: their file may carry the grid's UUID,
        shared by U1..U4, so it cannot tell one upscale job from another."""
        if self.upscale or self.kind not in ("done", "progress"):
            return None
        return job_hash(self.image_url) or (
            self.message.linked_job if self.kind == "done" else None
        )

    @property
    def final(self) -> bool:
        return self.kind in ("failure", "done", "describe")


# ============================================================================================
# 1. classifiers: Message -> Event | None
# ============================================================================================
def ignore_foreign(msg: Message) -> Event | None:
    """Our own "upload image" messages and anyone else's: not Midjourney's answer."""
    return None if msg.from_midjourney else Event("ignore", msg)


def _title(msg: Message) -> str:
    return str(msg.embed.get("title") or "").strip()


def job_queued(msg: Message) -> Event | None:
    """A "Job queued" notice: Midjourney runs the job once a slot frees up (trueai :1653-1675), so the
    task keeps waiting; the message only binds the job when it is exactly ours (nonce)."""
    if _title(msg).lower() in QUEUED_TITLES:
        return Event("start", msg, progress="0%", queued=True)
    return None


def account_refusal(msg: Message) -> Event | None:
    """Refusals of the account itself: credits (fast hours) exhausted, subscription required or
    paused, plan cancelled, blocked, pending moderation message."""
    title = _title(msg)
    action = ACCOUNT_REFUSALS.get(title.lower())
    description = str(msg.embed.get("description") or "")
    if action is None and title and any(w in description.lower() for w in _FAST_HOURS):
        action = "relax" if msg.embed.get("color") != RED or "relax" in description else None
    if action is None:
        return None
    reason = f"[{title}] {description}".strip()
    return Event("account", msg, reason=reason, account_action=action)


def ignore_warning(msg: Message) -> Event | None:
    """Warning embeds (orange 16239475, yellow 16776960) are informational (e.g. a deprecated
    parameter); the job goes on (§6.11)."""
    return Event("ignore", msg) if msg.embed.get("color") in WARNING_COLOURS else None


def failed_content(msg: Message) -> Event | None:
    """Midjourney's plain-text failure ("Failed to process your command")."""
    if msg.content.startswith("Failed"):
        return Event("failure", msg, reason=msg.content)
    return None


def captcha(msg: Message) -> Event | None:
    path = str(msg.raw.get("iframe_path") or "")
    if path.startswith("/captcha/embedded/"):
        return Event("failure", msg, reason=f"[{msg.embed.get('title') or 'Captcha'}] {path}")
    return None


def red_embed(msg: Message) -> Event | None:
    """Invalid parameter, banned prompt, … (§6.11): `[<title>] <description>`."""
    embed = msg.embed
    if embed.get("color") == RED and embed.get("title"):
        return Event("failure", msg, reason=f"[{embed['title']}] {embed.get('description') or ''}")
    return None


def describe_result(msg: Message) -> Event | None:
    """The describe reply once filled in (four numbered prompts, and the image described), or
    the /shorten reply (shorten.py): a text result."""
    embed = msg.embed
    if (msg.interaction_name == "describe" and embed.get("description")) or is_shorten_reply(msg):
        image = (embed.get("image") or {}).get("url")
        return Event("describe", msg, text=str(embed["description"]), image_url=image)
    return None


def describe_start(msg: Message) -> Event | None:
    if msg.interaction_name == "describe":
        image = (msg.embed.get("image") or {}).get("url")
        return Event("start", msg, progress="0%", image_url=image)
    return None


def other_embed(msg: Message) -> Event | None:
    """Any other titled embed on a message that is no job output ("Action needed to continue",
    "Invalid link!", "Queue full", "Could not complete"): the job will not produce an image."""
    embed = msg.embed
    if (
        embed.get("title")
        and embed.get("description")
        and embed.get("type") != "link"
        and not msg.attachments
        and msg.parsed is None
        and GENERIC.search(msg.content) is None
    ):
        return Event("failure", msg, reason=f"[{embed['title']}] {embed['description']}")
    return None


def upscale_done(msg: Message) -> Event | None:
    """One image: "Image #n" (U), "Upscaled (Subtle|Creative|2x|4x) by" / v7 "Upscaled by"."""
    p = msg.parsed
    if not msg.attachments or p is None or not p.done:
        return None
    if p.kind == "upscale":
        return Event("done", msg, prompt=p.prompt, index=p.index, upscale=True,
                     image_url=msg.attachment_url)  # fmt: skip
    if p.kind == "upscale_hd":
        return Event("done", msg, prompt=p.prompt, upscale=True, image_url=msg.attachment_url)
    return None


def grid_done(msg: Message) -> Event | None:
    """A finished grid: imagine, reroll, variation, remix, pan, zoom or blend (an image attached,
    a speed mode such as "(fast)" where a running job shows a percentage)."""
    p = msg.parsed
    if not msg.attachments or p is None or not p.done or p.kind in ("upscale", "upscale_hd"):
        return None
    return Event("done", msg, prompt=p.prompt, variation=p.kind == "variation",
                 image_url=msg.attachment_url)  # fmt: skip


def componented_result(msg: Message) -> Event | None:
    """A result whose text we cannot read (Midjourney changed it again): an image attached and
    Midjourney's job buttons on it. Located only by the job it belongs to (binding, parent)."""
    if not msg.attachments or msg.parsed is not None or msg.embeds:
        return None
    ids = msg.custom_ids
    if any("::upsample::" in c or "::reroll::" in c for c in ids):
        return Event("done", msg, image_url=msg.attachment_url)
    if any("upsample_v" in c or "::Outpaint::" in c or "_variation::" in c for c in ids):
        return Event("done", msg, upscale=True, image_url=msg.attachment_url)
    return None


def old_start(msg: Message) -> Event | None:
    """Older Midjourney versions announce U/V jobs with the image number (2.3.x formats)."""
    m = UPSCALE_START.search(msg.content)
    if m:
        return Event("start", msg, prompt=m.group(2), index=int(m.group(1)), upscale=True,
                     progress="0%")  # fmt: skip
    m = VARIATION_START.search(msg.content)
    if m:
        return Event("start", msg, prompt=m.group(2), index=int(m.group(1)), variation=True,
                     progress="0%")  # fmt: skip
    return None


def progress(msg: Message) -> Event | None:
    """The start message and its edits: "(Waiting to start)", "(31%)", with a preview."""
    p = msg.parsed
    if p is not None and p.done:
        return None
    if p is None:  # a form we do not know by name: the original's generic rule
        m = GENERIC.search(msg.content)
        if not m or not is_running_status(m.group(2)):
            return None
        prompt, status, variation = m.group(1), m.group(2).strip(), " - Variations" in msg.content
    else:
        prompt, status, variation = p.prompt, (p.running or "").strip(), p.kind == "variation"
    if status.lower() == "stopped":
        return Event("ignore", msg)
    if status.endswith("%"):
        return Event(
            "progress", msg, prompt=prompt, progress=status, variation=variation,
            upscale=p is not None and p.kind == "upscale_hd", image_url=msg.attachment_url,
        )  # fmt: skip
    # "Waiting to start", "Job queued", "paused": started, no percentage to show yet
    return Event("start", msg, prompt=prompt, progress="0%", variation=variation,
                 upscale=p is not None and p.kind == "upscale_hd")  # fmt: skip


Classifier = Callable[[Message], "Event | None"]
CLASSIFIERS: tuple[Classifier, ...] = (
    ignore_foreign,
    job_queued,
    account_refusal,
    ignore_warning,
    failed_content,
    captcha,
    red_embed,
    describe_result,
    describe_start,
    other_embed,
    upscale_done,
    grid_done,
    componented_result,
    old_start,
    progress,
)


def classify(msg: Message) -> Event:
    for rule in CLASSIFIERS:
        event = rule(msg)
        if event is not None:
            return event
    return Event("ignore", msg)

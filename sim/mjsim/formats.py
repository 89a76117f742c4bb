"""Midjourney's message texts, embeds and buttons, exactly as protocol.md §6.7 lists them."""

from __future__ import annotations

import hashlib
import re

MJ_APP_ID = "936929561302675456"
MJ_AUTHOR = {
    "id": MJ_APP_ID,
    "username": "Midjourney Bot",
    "global_name": None,
    "avatar": "f6ce562a6b4979c4b1cbc5b436d3be76",
    "discriminator": "9282",
    "public_flags": 589824,
    "bot": True,
}
RED = 16711680
ORANGE = 16239475
BLUE = 5793266
FOOTER_LINE = (
    "\n-# Create, explore, and organize on [midjourney.com](<https://www.midjourney.com/imagine>)"
)

# A URL not already inside <…> (Midjourney's own short links are left as they are).
_URL = re.compile(r"(?<!<)https?://[^\s>]+")


def short_link(url: str) -> str:
    """Midjourney rewrites image URLs in prompts to s.mj.run short links."""
    code = hashlib.sha256(url.encode()).hexdigest()[:11]
    return f"<https://s.mj.run/{code}>"


_VERSION = re.compile(r"(?:^|\s)--(?:v|version|niji)\b")


def echo(prompt: str, default_version: str = "6.0") -> str:
    """The prompt as Midjourney echoes it: links shortened, `—` read as `--`, runs of spaces
    collapsed, the model version appended when the prompt names none."""
    text = prompt.replace("—", "--")
    text = _URL.sub(lambda m: short_link(m.group(0)), text)
    text = " ".join(text.split())
    if not _VERSION.search(text):
        text += f" --v {default_version}"
    return text


def mention(user_id: str) -> str:
    return f"<@{user_id}>"


def running(prompt: str, user_id: str, status: str, mode: str, variation: str | None) -> str:
    """Start message "(Waiting to start)" and its progress edits "(31%) (fast)"."""
    by = (
        f" - Variations ({variation}) by {mention(user_id)}"
        if variation
        else f" - {mention(user_id)}"
    )
    suffix = f" ({status})" if status == "Waiting to start" else f" ({status}) ({mode})"
    return f"**{prompt}**{by}{suffix}"


def grid_done(prompt: str, user_id: str, mode: str, variation: str | None) -> str:
    if variation:
        return (
            f"**{prompt}** - Variations ({variation}) by {mention(user_id)} ({mode}){FOOTER_LINE}"
        )
    return f"**{prompt}** - {mention(user_id)} ({mode}){FOOTER_LINE}"


def upscale_done(prompt: str, user_id: str, index: int) -> str:
    return f"**{prompt}** - Image #{index} {mention(user_id)}{FOOTER_LINE}"


def file_words(prompt: str, limit: int = 6) -> str:
    words = re.sub(r"<[^>]*>", " ", prompt.split(" --")[0])
    words = re.sub(r"[^A-Za-z0-9 ]+", " ", words).split()
    return "_".join(words[:limit]) or "image"


def _button(custom_id: str, label: str = "", emoji: str | None = None, style: int = 2) -> dict:
    out: dict = {"type": 2, "custom_id": custom_id, "style": style}
    if label:
        out["label"] = label
    if emoji:
        out["emoji"] = {"name": emoji}
    return out


def grid_components(job: str) -> list[dict]:
    row1 = [_button(f"MJ::JOB::upsample::{i}::{job}", f"U{i}") for i in range(1, 5)]
    row1.append(_button(f"MJ::JOB::reroll::0::{job}::SOLO", emoji="🔄"))
    row2 = [_button(f"MJ::JOB::variation::{i}::{job}", f"V{i}") for i in range(1, 5)]
    return [{"type": 1, "components": row1}, {"type": 1, "components": row2}]


def upscale_components(job: str) -> list[dict]:
    return [
        {"type": 1, "components": [
            _button(f"MJ::JOB::upsample_v6_2x_subtle::1::{job}::SOLO", "Upscale (Subtle)"),
            _button(f"MJ::JOB::upsample_v6_2x_creative::1::{job}::SOLO", "Upscale (Creative)"),
        ]},
        {"type": 1, "components": [
            _button(f"MJ::JOB::low_variation::1::{job}::SOLO", "Vary (Subtle)"),
            _button(f"MJ::JOB::high_variation::1::{job}::SOLO", "Vary (Strong)"),
            _button(f"MJ::Inpaint::1::{job}::SOLO", "Vary (Region)"),
        ]},
        {"type": 1, "components": [
            _button(f"MJ::Outpaint::50::1::{job}::SOLO", "Zoom Out 2x"),
            _button(f"MJ::Outpaint::75::1::{job}::SOLO", "Zoom Out 1.5x"),
            _button(f"MJ::CustomZoom::{job}", "Custom Zoom"),
        ]},
    ]  # fmt: skip


def describe_components(job: str) -> list[dict]:
    row = [_button(f"MJ::Job::PicReader::{i}", str(i)) for i in range(1, 5)]
    row.append(_button("MJ::Picread::Retry", emoji="🔄"))
    return [{"type": 1, "components": row}]


def banned_prompt_embed(command: str) -> dict:
    return {
        "type": "rich",
        "title": "Banned prompt detected",
        "description": (
            "Sorry! Our AI moderator thinks this prompt is probably against our community "
            "standards.\n\nPlease review our current community standards:\n\n**ALLOWED**\n"
            "- Any image up to PG-13 rating involving fiction, fantasy, mythology.\n"
            "- Real images that may be seen as respectful or light-hearted parodies, satire, "
            "caricatures\n\n**NOT ALLOWED**\n- Disrespectful, harmful, misleading public "
            "figures/events portrayals or potential to mislead.\n- Hate speech, explicit or "
            "real-world violence."
        ),
        "color": RED,
        "footer": {"text": command},
    }


def invalid_parameter_embed(detail: str, command: str) -> dict:
    return {
        "type": "rich",
        "title": "Invalid parameter",
        "description": detail,
        "color": RED,
        "footer": {"text": command},
    }


def action_needed_embed(command: str) -> dict:
    return {
        "type": "rich",
        "title": "Action needed to continue",
        "description": (
            "Your prompt appears to violate our community guidelines. If you believe this was a "
            "mistake, press Appeal."
        ),
        "color": BLUE,
        "footer": {"text": command},
    }


def warning_embed(detail: str) -> dict:
    return {"type": "rich", "title": "Deprecated parameter", "description": detail,
            "color": ORANGE}  # fmt: skip

"""Midjourney's message texts, embeds and buttons: protocol.md §6.7, and the 2025/2026 forms the
peers parse today (trueai-org/midjourney-proxy MjMessageParser.cs, MjMessageTests.cs,
DiscordWebSocketService.cs; the same shapes as tests/fixtures/midjourney). `CURRENT` is the
default; `LEGACY` ("2024") leaves out the Open-on-website link, the web link button and the
gateway-only captcha."""

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
YELLOW = 16776960  # trueai's "warning" colour (DiscordWebSocketService.cs:1510)
CURRENT, LEGACY = "current", "2024"
FORMATS = (CURRENT, LEGACY)
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


def _by(user_id: str, action: str | None) -> str:
    """ " - <@id>" (imagine, reroll, blend) or " - <action> by <@id>": "Variations (Strong)",
    "Pan Left", "Zoom Out", "Upscaled (Subtle)" (MjMessageParser.cs:33-85)."""
    return f" - {action} by {mention(user_id)}" if action else f" - {mention(user_id)}"


def running(prompt: str, user_id: str, status: str, mode: str, action: str | None) -> str:
    """Start message "(Waiting to start)" and its progress edits "(31%) (fast)"."""
    by = _by(user_id, action)
    suffix = f" ({status})" if status == "Waiting to start" else f" ({status}) ({mode})"
    return f"**{prompt}**{by}{suffix}"


def website_link(job: str | None) -> str:
    """Since 2026 between the mention and the mode (MjMessageParser.cs:38,113)."""
    if job is None:
        return ""
    return f" [(Open on website for full quality)](<https://midjourney.com/jobs/{job}>)"


def grid_done(
    prompt: str, user_id: str, mode: str, action: str | None, job: str | None = None
) -> str:
    """`job` given: the current form with the Open-on-website link; None: the 2024 form. An
    HD upscale's "Upscaled (Subtle) by" has the same shape (MjMessageParser.cs:81-85)."""
    return f"**{prompt}**{_by(user_id, action)}{website_link(job)} ({mode}){FOOTER_LINE}"


def upscale_done(prompt: str, user_id: str, index: int) -> str:
    return f"**{prompt}** - Image #{index} {mention(user_id)}{FOOTER_LINE}"


def file_words(prompt: str, limit: int = 6) -> str:
    words = re.sub(r"<[^>]*>", " ", prompt.split(" --")[0])
    words = re.sub(r"[^A-Za-z0-9 ]+", " ", words).split()
    return "_".join(words[:limit]) or "image"


def button(custom_id: str, label: str = "", emoji: str | None = None, style: int = 2) -> dict:
    out: dict = {"type": 2, "custom_id": custom_id, "style": style}
    if label:
        out["label"] = label
    if emoji:
        out["emoji"] = {"name": emoji}
    return out


def web_row(job: str) -> dict:
    """The link button to the job's page (trueai DiscordService.cs:4057-4062 reads the job UUID
    from it): style 5, a `url` and no custom_id."""
    return {"type": 1, "components": [
        {"type": 2, "style": 5, "label": "Web", "url": f"https://www.midjourney.com/jobs/{job}?index=0"}
    ]}  # fmt: skip


def grid_components(job: str, web: bool = False) -> list[dict]:
    row1 = [button(f"MJ::JOB::upsample::{i}::{job}", f"U{i}") for i in range(1, 5)]
    row1.append(button(f"MJ::JOB::reroll::0::{job}::SOLO", emoji="🔄"))
    row2 = [button(f"MJ::JOB::variation::{i}::{job}", f"V{i}") for i in range(1, 5)]
    rows = [{"type": 1, "components": row1}, {"type": 1, "components": row2}]
    return [*rows, web_row(job)] if web else rows


def upscale_components(job: str, web: bool = False, hd: bool = False) -> list[dict]:
    """An upscale's follow-ups; `hd`: an HD upscale's, without the upscalers (plus-api.md
    §2.1.3: Midjourney's upscalers take the first upscale only)."""
    rows = upscale_rows(job)[1:] if hd else upscale_rows(job)
    return [*rows, web_row(job)] if web else rows


def upscale_rows(job: str) -> list[dict]:
    # CustomComponentModel.cs:233-436 (labels, emoji, pans and the reroll on an upscale)
    return [
        {"type": 1, "components": [
            button(f"MJ::JOB::upsample_v6_2x_subtle::1::{job}::SOLO", "Upscale (Subtle)"),
            button(f"MJ::JOB::upsample_v6_2x_creative::1::{job}::SOLO", "Upscale (Creative)"),
        ]},
        {"type": 1, "components": [
            button(f"MJ::JOB::low_variation::1::{job}::SOLO", "Vary (Subtle)"),
            button(f"MJ::JOB::high_variation::1::{job}::SOLO", "Vary (Strong)"),
            button(f"MJ::Inpaint::1::{job}::SOLO", "Vary (Region)"),
        ]},
        {"type": 1, "components": [
            button(f"MJ::Outpaint::50::1::{job}::SOLO", "Zoom Out 2x"),
            button(f"MJ::Outpaint::75::1::{job}::SOLO", "Zoom Out 1.5x"),
            button(f"MJ::CustomZoom::{job}", "Custom Zoom"),
        ]},
        {"type": 1, "components": [
            button(f"MJ::JOB::pan_left::1::{job}::SOLO", emoji="⬅️"),
            button(f"MJ::JOB::pan_right::1::{job}::SOLO", emoji="➡️"),
            button(f"MJ::JOB::pan_up::1::{job}::SOLO", emoji="⬆️"),
            button(f"MJ::JOB::pan_down::1::{job}::SOLO", emoji="⬇️"),
            button(f"MJ::JOB::reroll::0::{job}::SOLO", emoji="🔄"),
        ]},
    ]  # fmt: skip


def describe_components(job: str) -> list[dict]:
    row = [button(f"MJ::Job::PicReader::{i}", str(i)) for i in range(1, 5)]
    row.append(button("MJ::Picread::Retry", emoji="🔄"))
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


# Account-level refusals (titles: DiscordWebSocketService.cs:1532, 1595-1599; the descriptions
# are illustrative, the peers do not quote them). Sent ephemerally, like Midjourney's notices.
ACCOUNT_REFUSALS = {
    "credits_exhausted": ("Credits exhausted",
                          "You have run out of fast hours. Use /relax or buy more fast hours."),
    "subscription_required": ("Subscription required",
                              "To use Midjourney you need an active subscription."),
    "subscription_paused": ("Subscription paused", "Your subscription is paused."),
    "blocked": ("Blocked", "You have been blocked from accessing Midjourney."),
    "plan_cancelled": ("Plan Cancelled", "Your subscription plan was cancelled."),
    "pending_mod": ("Pending mod message", "You have a pending message from the moderators."),
}  # fmt: skip


def account_refusal_embed(kind: str) -> dict:
    title, description = ACCOUNT_REFUSALS[kind]
    return {"type": "rich", "title": title, "description": description, "color": RED}


def job_queued_embed() -> dict:
    """Midjourney queues a job beyond the plan's concurrency (trueai :1653 keeps it running)."""
    return {"type": "rich", "title": "Job queued",
            "description": "Your job will start as soon as one of your running jobs finishes.",
            "color": YELLOW}  # fmt: skip


def captcha_dispatch(channel_id: str, nonce: str, token: str) -> dict:
    """INTERACTION_IFRAME_MODAL_CREATE as trueai reads it (DiscordWebSocketService.cs:832-852)."""
    return {"id": token, "nonce": nonce, "channel_id": channel_id,
            "title": "Action required to continue", "custom_id": f"MJ::iframe::{token}",
            "application": {"id": MJ_APP_ID, "name": "Midjourney Bot"},
            "iframe_path": f"/captcha/embedded/{token}"}  # fmt: skip


CUSTOM_ZOOM_MODAL = "MJ::OutpaintCustomZoomModal::"
CUSTOM_ZOOM_INPUT = "MJ::OutpaintCustomZoomModal::prompt"


def custom_zoom_modal(channel_id: str, ix: str, nonce: str, job: str, prompt: str) -> dict:
    """INTERACTION_MODAL_CREATE for a Custom Zoom press: the fields webman-php/midjourney-proxy
    reads (ModalCreateStart.php:13-31: id, nonce, custom_id, the text input's custom_id) with
    trueai's ids (ApiParams/zoom.json, DiscordService.cs:3083). Title, label and the pre-filled
    value are read by no peer: placeholders (tests/fixtures/midjourney/modals.json)."""
    text_input = {"type": 4, "custom_id": CUSTOM_ZOOM_INPUT, "label": "Zoom Out", "style": 2,
                  "value": f"{prompt} --zoom 2"}  # fmt: skip
    return {"id": ix, "nonce": nonce, "channel_id": channel_id,
            "custom_id": f"{CUSTOM_ZOOM_MODAL}{job}",
            "application": {"id": MJ_APP_ID, "name": "Midjourney Bot"}, "title": "Zoom Out",
            "components": [{"type": 1, "components": [text_input]}]}  # fmt: skip


def remix_modal(
    channel_id: str, ix: str, nonce: str, custom_id: str, input_id: str, prompt: str
) -> dict:
    """INTERACTION_MODAL_CREATE of Remix mode: the window ids trueai submits
    (DiscordService.cs:2196-2296), the fields webman-php reads; the title is a placeholder."""
    text_input = {"type": 4, "custom_id": input_id, "label": "New prompt", "style": 2,
                  "value": prompt}  # fmt: skip
    return {"id": ix, "nonce": nonce, "channel_id": channel_id, "custom_id": custom_id,
            "application": {"id": MJ_APP_ID, "name": "Midjourney Bot"}, "title": "Remix",
            "components": [{"type": 1, "components": [text_input]}]}  # fmt: skip

"""Discord's /shorten for SHORTEN tasks on midjourney accounts: the command is sent like /imagine
(one "prompt" option, trueai Resources/ApiParams/shorten.json) and Midjourney answers with one
message whose embed holds "## Important tokens" … "## Shortened prompts" 1️⃣..5️⃣ and a button per
prompt (`MJ::Job::PromptAnalyzer::<n>`). That message is known by its interaction's name or, when
Discord leaves the name out, by its footer (trueai DiscordWebSocketService.cs:2664-2675); the
matcher reads it as a text result (tests/fixtures/midjourney/shorten.json)."""

from __future__ import annotations

from .messages import Message

FOOTER = "Click on a button to imagine one of the shortened prompts"


def is_shorten_reply(msg: Message) -> bool:
    """The /shorten answer (not its "Waiting to start" line, which has no prompts yet)."""
    if "(Waiting to start)" in msg.content or not msg.embed.get("description"):
        return False
    return msg.interaction_name == "shorten" or FOOTER in msg.footer

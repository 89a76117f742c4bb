"""Midjourney's /shorten in the simulator: the bot answers the command with one message whose
embed lists the prompt's important tokens and five shorter prompts, 1️⃣..5️⃣, with a button to
imagine each (`MJ::Job::PromptAnalyzer::<n>`). The shapes the peers read
(tests/fixtures/midjourney/shorten.json): trueai finds the reply by `interaction_metadata.name`
"shorten" or its footer and takes the prompts after the "Shortened prompts" line
(DiscordWebSocketService.cs:2664-2715, TaskService.cs:1917-1925); erictik takes the `\\d️⃣ …`
lines of `embeds[0].description` and the buttons by their label (src/utils/index.ts
formatPrompts, example/shorten.ts); the section titles are those of protocol.md §4.
The shortening itself is a stand-in: shorter and shorter prefixes of the prompt's words."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core import Account, Simulator

FOOTER = "Click on a button to imagine one of the shortened prompts"
KEYCAPS = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣")
ANSWER_SECONDS = 2.0
_PARAMS = re.compile(r"\s--\w.*$")


def shortened(prompt: str) -> tuple[list[str], list[str]]:
    """(important tokens, five shorter prompts); parameters are kept on every prompt."""
    m = _PARAMS.search(" " + prompt)
    params = m.group(0).strip() if m else ""
    text = prompt[: len(prompt) - len(params)].strip() if params else prompt.strip()
    words = [w.strip(",.;") for w in text.split() if w.strip(",.;")]
    tokens = sorted(dict.fromkeys(w.lower() for w in words if len(w) > 3),
                    key=lambda w: (-len(w), w))[:6]  # fmt: skip
    prompts = []
    for n in range(5):
        keep = max(1, round(len(words) * (5 - n) / 6))
        prompts.append(" ".join([*words[:keep], *([params] if params else [])]))
    return tokens, prompts


def description(prompt: str) -> str:
    tokens, prompts = shortened(prompt)
    lines = ["## Important tokens", ", ".join(tokens), "", "## Shortened prompts"]
    for key, text in zip(KEYCAPS, prompts, strict=True):
        lines += [f"{key} {text}", ""]
    return "\n".join(lines).rstrip()


def components() -> list[dict[str, Any]]:
    row = [{"type": 2, "style": 2, "label": key, "custom_id": f"MJ::Job::PromptAnalyzer::{n}"}
           for n, key in enumerate(KEYCAPS, start=1)]  # fmt: skip
    return [{"type": 1, "components": row}]


def start(sim: Simulator, acct: Account, ix: str, nonce: str, prompt: str) -> None:
    job = sim._new_job(acct, ix, nonce, "shorten", prompt, "shorten")
    job.text = description(prompt)

    def answer() -> None:
        embed = {"type": "rich", "color": 0, "description": job.text, "footer": {"text": FOOTER}}
        msg = sim._bot_post(job, embeds=[embed], components=components())
        job.message_id = msg["id"]
        sim._finished(job, msg)

    sim._at(ANSWER_SECONDS, answer)

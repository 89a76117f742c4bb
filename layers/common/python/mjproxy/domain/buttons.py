"""Discord-shaped buttons for finished tasks (protocol.md §4.8, clients.md §0.6).

Clients substring-match these custom ids (`MJ::JOB::upsample::1`, `MJ::JOB::variation::2`,
`MJ::JOB::reroll::0`), so every provider returns them, Discord or not.
"""

from __future__ import annotations

from typing import Any

from .task import GRID_ACTIONS, TaskAction


def _button(custom_id: str, label: str = "", emoji: str = "", style: int = 2) -> dict[str, Any]:
    return {"customId": custom_id, "emoji": emoji, "label": label, "type": 2, "style": style}


def grid_buttons(job_hash: str) -> list[dict[str, Any]]:
    row = [_button(f"MJ::JOB::upsample::{i}::{job_hash}", f"U{i}") for i in range(1, 5)]
    row.append(_button(f"MJ::JOB::reroll::0::{job_hash}::SOLO", emoji="🔄"))
    row += [_button(f"MJ::JOB::variation::{i}::{job_hash}", f"V{i}") for i in range(1, 5)]
    return row


def shorten_buttons() -> list[dict[str, Any]]:
    """1️⃣…5️⃣ under a /shorten answer: each imagines one shortened prompt (PromptAnalyzer)."""
    keycaps = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣")
    return [_button(f"MJ::Job::PromptAnalyzer::{i}", emoji=k) for i, k in enumerate(keycaps, 1)]


def buttons_for(action: TaskAction, job_hash: str | None) -> list[dict[str, Any]]:
    if action == TaskAction.SHORTEN:
        return shorten_buttons()
    if not job_hash or action not in GRID_ACTIONS:
        return []
    return grid_buttons(job_hash)

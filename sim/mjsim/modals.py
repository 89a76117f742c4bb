"""Midjourney's modals in the simulator: a Custom Zoom press, and on an account with Remix mode
on a V / 🔄 / Vary / pan / video Extend press, opens a window (a session-scoped INTERACTION_MODAL_CREATE, so
only a gateway session sees it); a type-5 interaction naming that window's id and custom_id,
with its text input filled in, starts the job with the submitted prompt (the shapes in
tests/fixtures/midjourney/modals.json and their sources)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import formats, video

if TYPE_CHECKING:
    from .core import Account, Job, Response, Simulator

MODAL_DELAY = 0.5  # the bot answers the press with its window a moment later
_ZOOM = re.compile(r"--zoom\s+(\d+(?:\.\d+)?)")


@dataclass
class Window:
    id: str  # the press's interaction id: the submit's data.id
    account: Account
    parent: Job
    custom_id: str
    input_id: str
    start: Callable[[str, str, str], None]  # (interaction id, nonce, submitted value)


def open_custom_zoom(sim: Simulator, acct: Account, ix: str, nonce: str, parent: Job) -> None:
    payload = formats.custom_zoom_modal(acct.channel_id, ix, nonce, parent.id, parent.prompt)

    def start(ix2: str, nonce2: str, value: str) -> None:
        sim._follow_up(acct, ix2, nonce2, parent, "zoom", "Zoom Out", prompt=value)

    _show(sim, Window(ix, acct, parent, payload["custom_id"], formats.CUSTOM_ZOOM_INPUT, start),
          payload, nonce)  # fmt: skip


def open_remix(
    sim: Simulator, acct: Account, ix: str, nonce: str, parent: Job, parts: list[str]
) -> bool:
    """Remix mode: the window a remix-able press opens instead of its job (trueai's ids,
    DiscordService.cs:2196-2296); False for any other button."""
    action = parts[2] if parts[1] == "JOB" else parts[1]
    window: tuple[str, str, Callable[[str, str, str], None]] | None = None
    if action == "variation":
        n = int(parts[3])

        def vary(ix2: str, nonce2: str, value: str) -> None:
            sim._variation(acct, ix2, nonce2, parent, n, prompt=value)
            sim.job_for_nonce(nonce2).action = "Remix (Strong)"  # type: ignore[union-attr]

        window = (f"MJ::RemixModal::{parent.id}::{n}::1", "MJ::RemixModal::new_prompt", vary)
    elif action in ("low_variation", "high_variation"):
        label, level = ("Subtle", 0) if action == "low_variation" else ("Strong", 1)
        window = (f"MJ::RemixModal::{parent.id}::1::{level}", "MJ::RemixModal::new_prompt",
                  lambda ix2, nonce2, value: sim._follow_up(
                      acct, ix2, nonce2, parent, "variation", f"Remix ({label})", prompt=value))  # fmt: skip
    elif action == "reroll":
        window = (f"MJ::ImagineModal::{parent.final_message_id}", "MJ::ImagineModal::new_prompt",
                  lambda ix2, nonce2, value: sim._reroll(acct, ix2, nonce2, parent, prompt=value))  # fmt: skip
    elif action.startswith("pan_"):
        direction = action[len("pan_") :]
        window = (f"MJ::PanModal::{direction}::{parent.id}::1", "MJ::PanModal::prompt",
                  lambda ix2, nonce2, value: sim._follow_up(
                      acct, ix2, nonce2, parent, "pan", f"Pan {direction.capitalize()}",
                      prompt=value))  # fmt: skip
    elif action in ("animate_high_extend", "animate_low_extend") and parent.kind == "video_upscale":
        # trueai DiscordWebSocketService.cs:4190-4205: MJ::AnimateModal::<parts[4]>::<parts[3]>
        # ::<low|high>::1, its text input MJ::AnimateModal::prompt
        motion = "low" if "low" in action else "high"
        window = (f"MJ::AnimateModal::{parts[4]}::{parts[3]}::{motion}::1", "MJ::AnimateModal::prompt",
                  lambda ix2, nonce2, value: video.extend_job(
                      sim, acct, ix2, nonce2, parent, motion, prompt=value))  # fmt: skip
    if window is None:
        return False
    custom_id, input_id, start = window
    payload = formats.remix_modal(acct.channel_id, ix, nonce, custom_id, input_id, parent.prompt)
    _show(sim, Window(ix, acct, parent, custom_id, input_id, start), payload, nonce)
    return True


def _show(sim: Simulator, window: Window, payload: dict[str, Any], nonce: str) -> None:
    acct, ix, session = window.account, window.id, sim._session

    def show() -> None:
        sim.windows[ix] = window
        sim.log.append({"t": sim.now(), "event": "modal", "id": ix, "nonce": nonce,
                        "custom_id": window.custom_id})  # fmt: skip
        sim._emit(acct, "INTERACTION_MODAL_CREATE", payload, session)

    sim._at(MODAL_DELAY, show)


def submit(sim: Simulator, acct: Account, ix: str, nonce: str, data: dict[str, Any]) -> Response:
    """A modal submit: Discord checks the window exists for this user and the components are
    its own; then Midjourney runs the job with the submitted prompt."""
    from .core import Response

    window = sim.windows.get(str(data.get("id") or ""))
    if window is None or window.account is not acct:
        return Response.json(404, {"message": "Unknown interaction", "code": 10062})
    if str(data.get("custom_id") or "") != window.custom_id:
        return sim._form_error("data", "COMPONENT_VALIDATION_FAILED",
                               "Component validation failed")  # fmt: skip
    values = {
        str(c.get("custom_id")): str(c.get("value") or "")
        for row in data.get("components") or [] for c in row.get("components") or []
    }  # fmt: skip
    value = values.get(window.input_id, "").strip()
    if not value:
        return sim._form_error("data", "BASE_TYPE_REQUIRED", "This field is required")
    del sim.windows[window.id]
    m = _ZOOM.search(value)
    sim.log.append({"t": sim.now(), "event": "modal_submit", "window": window.id, "nonce": nonce,
                    "value": value, "zoom": float(m.group(1)) if m else None})  # fmt: skip
    window.start(ix, nonce, value)
    return Response(204)

"""Midjourney's modals in the simulator: a Custom Zoom press opens a window (a session-scoped
INTERACTION_MODAL_CREATE, so only a gateway session sees it), and a type-5 interaction naming
that window's id and custom_id, with its text input filled in, starts the zoom job (the shapes
in tests/fixtures/midjourney/modals.json and their sources)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import formats

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


def open_custom_zoom(sim: Simulator, acct: Account, ix: str, nonce: str, parent: Job) -> None:
    payload = formats.custom_zoom_modal(acct.channel_id, ix, nonce, parent.id, parent.prompt)
    window = Window(ix, acct, parent, payload["custom_id"], formats.CUSTOM_ZOOM_INPUT)
    session = sim._session

    def show() -> None:
        sim.windows[ix] = window
        sim.log.append({"t": sim.now(), "event": "modal", "id": ix, "nonce": nonce,
                        "custom_id": window.custom_id})  # fmt: skip
        sim._emit(acct, "INTERACTION_MODAL_CREATE", payload, session)

    sim._at(MODAL_DELAY, show)


def submit(sim: Simulator, acct: Account, ix: str, nonce: str, data: dict[str, Any]) -> Response:
    """A modal submit: Discord checks the window exists for this user and the components are
    its own; then Midjourney runs the zoom with the submitted prompt."""
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
    sim._follow_up(acct, ix, nonce, window.parent, "zoom", "Zoom Out", prompt=value)
    return Response(204)

"""The buttons Midjourney attached to a result message, in the protocol's form (issue 11 item 1).

On `midjourney` a result's `buttons` are not derived from the family table: they are the Discord
message's own components, so a user sees exactly what Midjourney offers for that job (no Upscale
(Creative) on a `--v 5` upscale, no upscalers on `--v 8`, the customIds with Midjourney's own job
hash). Link buttons (style 5, a `url`, no custom_id: "Web") and custom ids no family of
`mjproxy.actions.table` knows are left out: pressing them would only answer code 4.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ...actions import FAMILIES, Modal, parse
from .messages import Message

LINK_STYLE = 5  # Discord ButtonStyle.Link: opens `url`, sends no interaction
# Families whose press Midjourney answers with a Discord modal (Custom Zoom's
# INTERACTION_MODAL_CREATE, Vary (Region)'s iframe editor). Only Custom Zoom is filled in
# (modals.py), and only while the account's gateway listener is live: the modal reaches nobody
# else. The others are not offered, and a hand-made press fails at once (modals.refusal)
# instead of waiting for a timeout.
MODAL_FAMILIES = frozenset({"custom_zoom", "inpaint"})
GATEWAY_MODALS = frozenset({"custom_zoom"})


def hidden_families(gateway_live: bool, remix: bool = False) -> frozenset[str]:
    """Families this account cannot press now: the windows it cannot answer (Vary (Region)
    always; Custom Zoom, and with Remix mode on every remix-able family, without the live
    gateway listener)."""
    hidden = set(MODAL_FAMILIES - (GATEWAY_MODALS if gateway_live else frozenset()))
    if remix and not gateway_live:
        hidden |= {f.name for f in FAMILIES if f.modal == Modal.REMIX}
    return frozenset(hidden)


def _emoji(component: dict[str, Any]) -> str:
    # Unicode emoji arrive as {"name": "🔄"}; Midjourney's custom ones as {"name": "upscale_1",
    # "id": "…"}: the protocol shows the name either way (plus-api.md §2.1.3).
    emoji = component.get("emoji") or {}
    return str(emoji.get("name") or "") if isinstance(emoji, dict) else str(emoji)


def result_buttons(
    msg: Message, capabilities: Iterable[str] | None = None, hidden: Iterable[str] = MODAL_FAMILIES
) -> list[dict[str, Any]]:
    """`{customId, emoji, label, style, type}` of each pressable button of `msg`, in Discord's
    order; `capabilities` (the provider's) leaves out families it cannot press, and so does
    `hidden` (hidden_families: by default every family that opens a window)."""
    can = set(capabilities) if capabilities is not None else None
    hide = set(hidden)
    out: list[dict[str, Any]] = []
    for comp in msg.buttons:
        custom = comp.get("custom_id")
        if not custom or comp.get("url") or comp.get("style") == LINK_STYLE:
            continue
        spec = parse(str(custom))
        if spec is None:
            continue
        if spec.family.name in hide:
            continue
        if can is not None and spec.family.capability not in can:
            continue
        out.append({
            "customId": str(custom),
            "emoji": _emoji(comp),
            "label": str(comp.get("label") or ""),
            "style": int(comp.get("style") or 2),
            "type": 2,
        })  # fmt: skip
    return out


def buttons_hash(buttons: list[dict[str, Any]]) -> str | None:
    """The job hash the buttons carry (all of a message's buttons name the same job): what a
    press must be checked against, even when the attachment is named after another job (an
    upscale's file may carry its grid's UUID)."""
    for b in buttons:
        spec = parse(b["customId"])
        if spec is not None and spec.hash:
            return spec.hash
    return None

"""Discord modals that Midjourney opens when a button is pressed (issue 11): Custom Zoom's
window, and the remix windows of an account with Remix mode on (answer()).

This works only in gateway mode. The worker presses `MJ::CustomZoom::<hash>` with nonce N1
(provider.py). Midjourney then sends the user's gateway session an INTERACTION_MODAL_CREATE
`{id, nonce: N1, custom_id: "MJ::OutpaintCustomZoomModal::<hash>", components: [row [text input
"MJ::OutpaintCustomZoomModal::prompt"]]}`. The events Lambda (gateway_events.py) answers it here
with a type-5 interaction that carries that `id`, that `custom_id` and the task's prompt
(`--zoom` included), under a new nonce N2. The task's nonce becomes N2, so the job Midjourney
runs next echoes N2 and the matcher binds it like any other. The shapes and their sources are in
tests/fixtures/midjourney/modals.json.

REST-poll mode cannot do this. The modal comes only as a session-scoped gateway event, which no
REST read returns, and its interaction id, which the submit must name, appears nowhere else.
trueai and erictik/midjourney-api are gateway-only too: both take that id from the
INTERACTION_SUCCESS of the press. So without the listener, Custom Zoom is not offered and a
hand-made press fails at once (NEEDS_GATEWAY).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ...actions import ActionSpec, Modal, spec_of
from ...actions.table import DEFAULT_CUSTOM_ZOOM
from ...config import Instance
from ...domain.task import Task, new_nonce
from ...store.instances import InstancePool
from ...store.tasks import TaskRepository
from ..base import Outcome
from . import extend, payloads
from .account import DiscordSettings, app_of
from .buttons import GATEWAY_MODALS, MODAL_FAMILIES, hidden_families
from .discord import DiscordClient, DiscordError, RateLimited, Transient, Unauthorized
from .poller import disable_account
from .state import DiscordState

log = logging.getLogger(__name__)

CUSTOM_ZOOM_MODAL = "MJ::OutpaintCustomZoomModal::"
CUSTOM_ZOOM_INPUT = "MJ::OutpaintCustomZoomModal::prompt"
# The windows Remix mode opens (trueai DiscordService.cs:2196-2296; tests/fixtures modals.json)
REMIX_WINDOWS = ("MJ::RemixModal::", "MJ::PanModal::", "MJ::ImagineModal::", "MJ::AnimateModal::")
LABELS = {"custom_zoom": "Custom Zoom", "inpaint": "Vary (Region)"}
NEEDS_GATEWAY = (
    "{label} opens a Discord modal, which only the gateway listener receives: run "
    "mjproxy-gateway for this account (docs/midjourney.md)"
)
NO_MODAL = (
    "{label} opens Midjourney's inpainting editor (a Discord iframe), which the midjourney "
    "provider does not support"
)
UNEXPECTED = "Midjourney opened a window ({custom_id}) that this task cannot fill"
NO_REMIX_WINDOW = (
    "this account has remix on: Midjourney answers this button with a remix window, which only "
    "the gateway listener receives: run mjproxy-gateway for this account (docs/midjourney.md)"
)


def refusal(spec: ActionSpec, gateway_live: bool, remix: bool = False) -> str | None:
    """Why a press of `spec` cannot be done now, or None if it can (`remix`: the account's
    Remix mode, which turns remix-able presses into windows)."""
    name = spec.family.name
    if name not in hidden_families(gateway_live, remix):
        return None
    if name not in MODAL_FAMILIES:
        return NO_REMIX_WINDOW
    template = NEEDS_GATEWAY if name in GATEWAY_MODALS else NO_MODAL
    return template.format(label=LABELS[name])


def refused_now(instance: Instance, spec: ActionSpec, pool: InstancePool) -> str | None:
    """At /mj/submit/action: why this account cannot press `spec` now, by the rule the worker
    applies again when it presses (the listener may stop in between)."""
    session, _ = DiscordState(pool).sending(instance.id)
    return refusal(spec, session is not None, instance.flag("remix"))


@dataclass(frozen=True)
class ModalCreate:
    """An INTERACTION_MODAL_CREATE as Discord's client reads it: `id` (the modal's interaction,
    which the submit names as `data.id`), `nonce` (the press's), `custom_id`, `title`, and
    `components` (action rows of text inputs)."""

    id: str
    nonce: str
    custom_id: str
    input_id: str | None

    @classmethod
    def of(cls, d: dict[str, Any]) -> ModalCreate:
        inputs = [
            c for row in d.get("components") or [] for c in row.get("components") or []
            if c.get("type") == payloads.TEXT_INPUT and c.get("custom_id")
        ]  # fmt: skip
        return cls(str(d.get("id") or ""), str(d.get("nonce") or ""),
                   str(d.get("custom_id") or ""),
                   str(inputs[0]["custom_id"]) if inputs else None)  # fmt: skip


def zoom_prompt(task: Task) -> str:
    """What the Custom Zoom window is answered with: the confirmed prompt, with `--zoom` (the
    factor Midjourney reads from it) added at our default when the user gave none."""
    prompt = (task.promptEn or task.prompt or "").strip()
    if "--zoom" not in prompt:
        prompt = f"{prompt} --zoom {DEFAULT_CUSTOM_ZOOM:g}".strip()
    return prompt


def answer(modal: ModalCreate, task: Task) -> tuple[str, str, str] | str:
    """(custom_id, text input id, value) to submit, or why this task cannot fill the window.

    Custom Zoom: its prompt with `--zoom`. A remix-able press (V, 🔄, Vary, pans, Animate,
    Extend) on an account with Remix mode on: Midjourney's remix window (`MJ::RemixModal::…`,
    `MJ::PanModal::…`, `MJ::ImagineModal::…`, `MJ::AnimateModal::…`, trueai
    DiscordService.cs:2196-2330), answered with the task's prompt: the one confirmed through
    /mj/submit/modal (enableRemix), else the parent's, as trueai's RemixAutoSubmit does; a
    /submit/video extend's window with its extend prompt. The window's own ids are used as
    sent (for an extend, the id trueai builds, extend.animate_modal_id), so no custom_id has
    to be rebuilt from the button's."""
    spec = spec_of(task)
    fits, input_id, value = False, modal.input_id, ""
    if extend.stage(task) == extend.PRESS:  # /submit/video extend: its prompt (extend.py)
        fits = modal.custom_id.startswith(extend.ANIMATE_MODAL)
        value = (task.promptEn or task.prompt or "").strip()
    elif spec is not None and spec.family.name == "custom_zoom":
        fits, value = modal.custom_id.startswith(CUSTOM_ZOOM_MODAL), zoom_prompt(task)
        input_id = input_id or CUSTOM_ZOOM_INPUT  # the id webman-php falls back to
    elif spec is not None and spec.family.modal == Modal.REMIX:
        fits = modal.custom_id.startswith(REMIX_WINDOWS)
        value = (task.promptEn or task.prompt or "").strip()
    if not fits or not input_id or not value:
        return UNEXPECTED.format(custom_id=modal.custom_id or "?")
    return modal.custom_id, input_id, value


def answered(tasks: Iterable[Task], nonce: str) -> bool:
    """A late or repeated event of a press whose modal is already answered (the task's nonce
    has moved on to the submit's)."""
    return bool(nonce) and any(
        (t.providerState.get("modal") or {}).get("pressNonce") == nonce for t in tasks
    )


class ModalAnswerer:
    """Answers the modal of a running task (called by gateway_events.EventProcessor)."""

    def __init__(
        self, worker: Any, repo: TaskRepository, pool: InstancePool, discord: DiscordSettings
    ) -> None:
        self.worker, self.repo, self.pool, self.discord = worker, repo, pool, discord

    def handle(self, d: dict[str, Any], tasks: list[Task], instance: Instance) -> str:
        """One modal event: applied, ignored, or retry (delivered again a little later)."""
        modal = ModalCreate.of(d)
        task = next((t for t in tasks if modal.nonce and t.properties.get("nonce") == modal.nonce),
                    None)  # fmt: skip
        if task is None:
            if answered(tasks, modal.nonce):
                return "ignored"
            return "retry" if modal.nonce and tasks else "ignored"
        reply = answer(modal, task)
        if isinstance(reply, str):
            reason = reply
            self.worker.apply_event(task.id, lambda t: Outcome.failed(reason))
            return "applied"
        account, _ = DiscordState(self.pool).sending_account(instance, self.discord)
        if self.pool.claim_interaction(account.id, account.interaction_interval_seconds) > 0:
            return "retry"  # the account's pacing: answer on a later delivery
        custom_id, input_id, value = reply
        nonce = new_nonce()
        body = payloads.modal_submit(
            account, nonce, modal.id, custom_id, input_id, value, app_of(task.botType)
        )
        try:
            DiscordClient(account, self.discord).interact(body)
        except (RateLimited, Transient):
            return "retry"
        except Unauthorized as exc:
            disable_account(instance, exc.message, self.repo, self.pool, task.id, exc.status)
            return "applied"
        except DiscordError as exc:
            message = exc.message
            self.worker.apply_event(task.id, lambda t: Outcome.failed(message))
            return "applied"
        log.info("modal answered", extra={"taskId": task.id, "customId": custom_id})

        def moved(t: Task) -> Outcome | None:
            if t.properties.get("nonce") != modal.nonce:
                return None
            state = {"interactionId": None, "prompt": value,
                     "modal": {"id": modal.id, "customId": custom_id,
                               "pressNonce": modal.nonce}}  # fmt: skip
            return Outcome(kind="wait", delay=None, state=state, properties={"nonce": nonce})

        self.worker.apply_event(task.id, moved)
        return "applied"

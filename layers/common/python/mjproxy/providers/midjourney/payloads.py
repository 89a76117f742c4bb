"""Interaction payloads, exactly the shapes of protocol.md §6.3 (the original's, which Discord
accepts without the extra fields newer web clients send)."""

from __future__ import annotations

from typing import Any

from ...domain.task import TaskAction
from .account import MIDJOURNEY_APP_ID, Account
from .discord import Command

APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
STRING = 3
ATTACHMENT = 11


def _common(
    account: Account, kind: int, nonce: str, app: str = MIDJOURNEY_APP_ID
) -> dict[str, Any]:
    return {
        "type": kind,
        "application_id": app,
        "guild_id": account.guild_id,
        "channel_id": account.channel_id,
        "session_id": account.session_id,
        "nonce": nonce,
    }


def _command(cmd: Command, options: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"version": cmd.version, "id": cmd.id, "name": cmd.name, "type": 1,
            "options": options, **extra}  # fmt: skip


def imagine(account: Account, cmd: Command, nonce: str, prompt: str) -> dict[str, Any]:
    """/imagine, and /shorten: both take one string option "prompt" (trueai
    Resources/ApiParams/imagine.json, shorten.json)."""
    return {
        **_common(account, APPLICATION_COMMAND, nonce, cmd.application_id),
        "data": _command(cmd, [{"type": STRING, "name": "prompt", "value": prompt}]),
    }


def _attachments(files: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [
        {"id": str(i), "filename": name, "uploaded_filename": uploaded}
        for i, (name, uploaded) in enumerate(files)
    ]


def describe(
    account: Account, cmd: Command, nonce: str, files: list[tuple[str, str]]
) -> dict[str, Any]:
    options = [{"type": ATTACHMENT, "name": "image", "value": 0}]
    return {
        **_common(account, APPLICATION_COMMAND, nonce, cmd.application_id),
        "data": _command(cmd, options, attachments=_attachments(files[:1])),
    }


def blend(
    account: Account, cmd: Command, nonce: str, files: list[tuple[str, str]], dimensions: str
) -> dict[str, Any]:
    options: list[dict[str, Any]] = [
        {"type": ATTACHMENT, "name": f"image{i + 1}", "value": i} for i in range(len(files))
    ]
    options.append({"type": STRING, "name": "dimensions", "value": dimensions})
    return {
        **_common(account, APPLICATION_COMMAND, nonce, cmd.application_id),
        "data": _command(cmd, options, attachments=_attachments(files)),
    }


def custom_id(action: TaskAction, index: int | None, message_hash: str) -> str:
    """§6.3.2: the button Midjourney put on the parent grid for this action."""
    if action == TaskAction.UPSCALE:
        return f"MJ::JOB::upsample::{index}::{message_hash}"
    if action == TaskAction.VARIATION:
        return f"MJ::JOB::variation::{index}::{message_hash}"
    if action == TaskAction.REROLL:
        return f"MJ::JOB::reroll::0::{message_hash}::SOLO"
    raise ValueError(f"no button for {action}")


def button(
    account: Account, nonce: str, message_id: str, message_flags: int, custom: str,
    app: str = MIDJOURNEY_APP_ID,
) -> dict[str, Any]:  # fmt: skip
    """A press on a message of bot `app` (Niji's buttons go to Niji's application, trueai
    DiscordService.cs:3182)."""
    return {
        **_common(account, MESSAGE_COMPONENT, nonce, app),
        "message_id": message_id,
        "message_flags": message_flags,
        "data": {"component_type": 2, "custom_id": custom},
    }


MODAL_SUBMIT = 5
ACTION_ROW = 1
TEXT_INPUT = 4


def modal_submit(
    account: Account, nonce: str, modal_id: str, custom_id: str, input_id: str, value: str,
    app: str = MIDJOURNEY_APP_ID,
) -> dict[str, Any]:  # fmt: skip
    """The answer to a modal Midjourney opened (INTERACTION_MODAL_CREATE): type 5 with the
    modal's interaction id, its custom_id and its one text input filled in (trueai
    Resources/ApiParams/zoom.json and remix.json; tests/fixtures/midjourney/modals.json)."""
    row = {"type": ACTION_ROW,
           "components": [{"type": TEXT_INPUT, "custom_id": input_id, "value": value}]}  # fmt: skip
    return {
        **_common(account, MODAL_SUBMIT, nonce, app),
        "data": {"id": modal_id, "custom_id": custom_id, "components": [row]},
    }


def show(
    account: Account, cmd: Command, nonce: str, channel_id: str, job_id: str
) -> dict[str, Any]:
    """`/show job_id:<uuid>` in the user's DM channel with the bot: no guild (trueai
    Resources/ApiParams/seed.json)."""
    body = _common(account, APPLICATION_COMMAND, nonce, cmd.application_id)
    del body["guild_id"]
    body["channel_id"] = channel_id
    options = [{"type": STRING, "name": "job_id", "value": job_id}]
    return {**body, "data": _command(cmd, options, attachments=[])}

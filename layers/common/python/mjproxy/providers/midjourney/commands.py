"""Slash-command ids and versions, discovered from the guild's command index (protocol.md §6.1).

Midjourney bumps its command versions whenever it redeploys; a stale version makes Discord answer
50035 and the original fails every task until someone edits a constant (#186). Here the index
is cached per account (in memory and on the account's item, shared by every Lambda), refreshed
when older than a day, and refreshed immediately when Discord rejects a version.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ...config import on_reset
from .account import MIDJOURNEY_APP_ID
from .discord import (
    COMMAND_NAMES,
    FALLBACK_COMMANDS,
    Command,
    DiscordClient,
    DiscordError,
    RateLimited,
    Transient,
    Unauthorized,
    command_key,
)
from .state import DiscordState

log = logging.getLogger(__name__)

_memory: dict[str, tuple[float, dict[str, Command]]] = {}


@on_reset
def clear_cache() -> None:
    _memory.clear()


def _to_plain(commands: dict[str, Command]) -> dict[str, dict[str, str]]:
    return {k: {"id": c.id, "version": c.version, "app": c.application_id}
            for k, c in commands.items()}  # fmt: skip


def _from_plain(data: dict[str, dict[str, str]]) -> dict[str, Command]:
    # Entries stored before Niji was known have no "app": they are Midjourney's.
    return {k: Command(k.rpartition(":")[2], str(c["id"]), str(c["version"]),
                       str(c.get("app") or MIDJOURNEY_APP_ID))
            for k, c in data.items()}  # fmt: skip


class Commands:
    def __init__(self, client: DiscordClient, state: DiscordState, ttl_seconds: float) -> None:
        self.client = client
        self.state = state
        self.ttl = ttl_seconds
        self.account_id = client.account.id

    def get(
        self, name: str, refresh: bool = False, application_id: str = MIDJOURNEY_APP_ID
    ) -> Command:
        """Command `name` of Midjourney's bot, or of Niji's (`application_id`)."""
        if name not in COMMAND_NAMES:
            raise ValueError(name)
        key = command_key(name, application_id)
        if not refresh:
            cached = self._cached()
            if cached and key in cached:
                return cached[key]
        return self._fetch().get(key) or FALLBACK_COMMANDS[key]

    def _cached(self) -> dict[str, Command] | None:
        now = time.time()
        hit = _memory.get(self.account_id)
        if hit and now - hit[0] < self.ttl:
            return hit[1]
        stored, at_ms = self.state.load_commands(self.account_id)
        if stored and now - at_ms / 1000 < self.ttl:
            commands = _from_plain(stored)
            _memory[self.account_id] = (at_ms / 1000, commands)
            return commands
        return None

    def _fetch(self) -> dict[str, Command]:
        try:
            commands = self.client.command_index()
        except (RateLimited, Unauthorized):
            raise
        except (DiscordError, Transient) as exc:
            # Some accounts cannot read the index; the built-in versions may still work, and a
            # stale one is reported by Discord with its own words.
            log.warning("command index unavailable", extra={"status": exc.status})
            commands = {}
        merged = {**FALLBACK_COMMANDS, **commands}
        if commands:
            self.state.store_commands(self.account_id, _to_plain(merged))
        _memory[self.account_id] = (time.time(), merged)
        return merged


def send_command(
    client: DiscordClient,
    commands: Commands,
    name: str,
    build: Any,
    application_id: str = MIDJOURNEY_APP_ID,
) -> None:
    """POST the slash command `build(command)` (of Midjourney's bot or Niji's); a version
    Discord rejects as stale (50035) refreshes the index and is tried once more (§6.1)."""
    try:
        client.interact(build(commands.get(name, application_id=application_id)))
    except DiscordError as exc:
        if isinstance(exc, (RateLimited, Unauthorized, Transient)) or not exc.invalid_version:
            raise
        # Midjourney redeployed its commands: read the index again, try once more.
        log.warning("command version rejected; refreshing", extra={"command": name})
        client.interact(build(commands.get(name, refresh=True, application_id=application_id)))

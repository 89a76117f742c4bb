"""GET /mj/task/{id}/image-seed on midjourney: the seed Midjourney used, asked for the way the
peers do in the user's DM channel with the bot.

- An imagine sent with a `--seed` (ours, or the user's) ran with it: Midjourney echoes it in the
  final prompt, so that is the answer and nothing is sent.
- Otherwise (upscales, variations, rerolls, blends, `seedMarker: false`): `/show job_id:<job
  uuid>` in the account's DM channel (`privateChannelId`, trueai's PrivateChannelId setting,
  "用来接收 seed 值"); the bot posts the job's image there; the ✉️ reaction on that message makes
  it send `**<prompt>**\\n**Job ID**: <uuid>\\n**seed** <digits>` (trueai DiscordService.cs:746-870,
  DiscordWebSocketService.cs:1283-1352; tests/fixtures/midjourney/seed.json). The DM channel is
  read over REST, once a second, within a budget that fits a relay's 30 s wait (new-api).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from ...config import Instance
from ...domain.task import Task, TaskAction, new_nonce, now_ms
from ...store.instances import InstancePool
from . import payloads
from .account import DiscordSettings, app_of
from .commands import Commands, send_command
from .discord import DiscordClient, DiscordError
from .messages import Message, job_hash, seed_of, snowflake_at
from .state import DiscordState

ENVELOPE = "✉️"
JOB_SEED = re.compile(r"\*\*Job ID\*\*:\s*(?P<job>[a-fA-F0-9-]{36})\s*\*\*seed\*\*\s*(?P<seed>\d+)")
# trueai's texts (DiscordService.cs:802, :865)
NO_CHANNEL = "请配置私聊频道"
TIMEOUT = "超时，未找到 seed"
BUDGET_SECONDS = 20.0
READ_SECONDS = 1.0


class SeedUnavailable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def echoed_seed(task: Task) -> int | None:
    """The --seed an imagine was sent with, as Midjourney echoed it."""
    if task.action != TaskAction.IMAGINE:
        return None
    return seed_of(str(task.properties.get("finalPrompt") or ""))


def _shown(raw: dict[str, Any], job: str) -> bool:
    msg = Message(raw)
    return msg.from_midjourney and (job_hash(msg.attachment_url) == job or msg.linked_job == job)


def _seed_in(raws: list[dict[str, Any]], job: str) -> int | None:
    for raw in raws:
        m = JOB_SEED.search(str(raw.get("content") or ""))
        if m and m.group("job").lower() == job.lower() and Message(raw).from_midjourney:
            return int(m.group("seed"))
    return None


def fetch_seed(
    task: Task,
    instance: Instance,
    pool: InstancePool | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """The job's seed from Midjourney; SeedUnavailable(reason) when it cannot be had."""
    echoed = echoed_seed(task)
    if echoed is not None:
        return echoed
    job = str(task.properties.get("messageHash") or "")
    if not job or task.action in (TaskAction.DESCRIBE, TaskAction.SHORTEN):
        raise SeedUnavailable("关联任务状态错误")
    # Niji's seeds come from its own DM channel and its own /show (trueai NijiBotChannelId,
    # Resources/ApiParams/seedniji.json).
    niji = task.botType == "NIJI_JOURNEY"
    dm = str(instance.settings.get("nijiBotChannelId" if niji else "privateChannelId") or "")
    if not dm:
        raise SeedUnavailable(NO_CHANNEL)
    pool = pool or InstancePool()
    discord = DiscordSettings.from_env()
    state = DiscordState(pool)
    account, _ = state.sending_account(instance, discord)
    client = DiscordClient(account, discord)
    deadline = time.time() + BUDGET_SECONDS
    try:
        wait = pool.claim_interaction(account.id, account.interaction_interval_seconds)
        while wait > 0 and time.time() + wait < deadline:
            sleep(wait)
            wait = pool.claim_interaction(account.id, account.interaction_interval_seconds)
        if wait > 0:
            raise SeedUnavailable(TIMEOUT)
        after = snowflake_at(now_ms() - 5_000)
        nonce = new_nonce()
        commands = Commands(client, state, discord.command_ttl_seconds)
        send_command(client, commands, "show",
                     lambda cmd: payloads.show(account, cmd, nonce, dm, job),
                     app_of(task.botType))  # fmt: skip
        reacted = False
        while time.time() < deadline:
            raws = client.messages(after=after, limit=50, channel=dm)
            seed = _seed_in(raws, job)
            if seed is not None:
                return seed
            shown = next((r for r in reversed(raws) if _shown(r, job)), None)
            if shown is not None and not reacted:
                client.react(dm, str(shown["id"]), ENVELOPE)
                reacted = True
                continue
            sleep(READ_SECONDS)
    except DiscordError as exc:
        raise SeedUnavailable(exc.message) from exc
    raise SeedUnavailable(TIMEOUT)

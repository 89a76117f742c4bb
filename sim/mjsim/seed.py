"""Midjourney's seed flow in the simulator, in the user's direct-message channel with the bot:
`/show job_id:<uuid>` there (trueai Resources/ApiParams/seed.json: type 2, no guild_id) makes the
bot post the job's image; the ✉️ reaction on that message (`PUT /channels/{dm}/messages/{id}/
reactions/%E2%9C%89%EF%B8%8F/%40me`, trueai DiscordService.cs:846-848) makes it send
`**<prompt>**\\n**Job ID**: <uuid>\\n**seed** <digits>` (DiscordWebSocketService.cs:1290-1291;
tests/fixtures/midjourney/seed.json). A job's seed is its prompt's `--seed`, else one derived
from its UUID."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from .formats import MJ_APP_ID, MJ_AUTHOR

if TYPE_CHECKING:
    from .core import Account, Job, Response, Simulator

ENVELOPE = "✉️"
ANSWER_SECONDS = 1.0
REACTION = re.compile(r"^/channels/(\d+)/messages/(\d+)/reactions/([^/]+)/(?:@me|%40me)$")


def open_dm(sim: Simulator, acct: Account, channel_id: str = "1400000000000000001") -> str:
    """The account's DM channel with the bot (what trueai's PrivateChannelId names)."""
    with sim.lock:
        sim.dms[acct.token] = channel_id
        sim.messages.setdefault(channel_id, {})
    return channel_id


def dm_of(sim: Simulator, acct: Account) -> str | None:
    return sim.dms.get(acct.token)


def job_seed(job: Job) -> int:
    m = re.search(r"--seed\s+(\d+)", job.prompt)
    return int(m.group(1)) if m else int(job.id.replace("-", ""), 16) % 4294967296


def _post(sim: Simulator, channel: str, **fields: Any) -> dict[str, Any]:
    msg = {"id": sim._snowflake(), "type": 0, "content": "", "channel_id": channel,
           "author": MJ_AUTHOR, "attachments": [], "embeds": [], "components": [],
           "timestamp": sim._iso(), "edited_timestamp": None, "flags": 0, **fields}  # fmt: skip
    sim.messages[channel][msg["id"]] = msg
    return msg


def interaction(sim: Simulator, acct: Account, p: dict[str, Any]) -> Response:
    """A type-2 /show in the DM channel (the only command the simulator answers there)."""
    from .core import COMMAND_IDS, Response

    data = p.get("data") or {}
    if str(p.get("application_id")) != MJ_APP_ID:
        return Response.json(404, {"message": "Unknown Application", "code": 10002})
    if (
        p.get("type") != 2
        or data.get("name") != "show"
        or str(data.get("id")) != COMMAND_IDS["show"]
    ):
        return Response.json(404, {"message": "Unknown interaction", "code": 10062})
    if str(data.get("version")) != sim.versions["show"]:
        return sim._form_error("data", "INTERACTION_APPLICATION_COMMAND_INVALID_VERSION",
                               "This command is outdated, please try again in a few minutes")  # fmt: skip
    opts = {o.get("name"): o.get("value") for o in data.get("options") or []}
    job = sim.jobs.get(str(opts.get("job_id") or ""))
    channel = str(p["channel_id"])
    sim.log.append({"t": sim.now(), "event": "show", "job": opts.get("job_id")})
    if job is None or job.account is not acct or not job.final_message_id:
        return Response(204)  # Midjourney answers with an ephemeral "not found" nobody reads

    def show() -> None:
        final = sim.messages[acct.channel_id][job.final_message_id or ""]
        att = json.loads(json.dumps(final["attachments"][0]))
        msg = _post(sim, channel, content=final["content"], attachments=[att],
                    components=json.loads(json.dumps(final["components"])))  # fmt: skip
        sim.shown[msg["id"]] = job.id

    sim._at(ANSWER_SECONDS, show)
    return Response(204)


def react(sim: Simulator, acct: Account, path: str) -> Response:
    from .core import Response

    m = REACTION.match(path)
    if m is None:
        return Response.json(404, {"message": "404: Not Found", "code": 0})
    channel, message_id, emoji = m.group(1), m.group(2), unquote(m.group(3))
    if channel not in (acct.channel_id, dm_of(sim, acct)) or message_id not in sim.messages.get(
        channel, {}
    ):
        return Response.json(404, {"message": "Unknown Message", "code": 10008})
    sim.log.append({"t": sim.now(), "event": "reaction", "emoji": emoji, "message_id": message_id})
    job = sim.jobs.get(sim.shown.get(message_id, ""))
    dm = dm_of(sim, acct)
    if emoji == ENVELOPE and job is not None and dm is not None:
        text = job.prompt.split(" --")[0]
        content = f"**{text}**\n**Job ID**: {job.id}\n**seed** {job_seed(job)}"
        sim._at(ANSWER_SECONDS, lambda: _post(sim, dm, content=content))
    return Response(204)

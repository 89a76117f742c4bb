"""Discord gateway events forwarded by the listener (`mjproxy-gateway`, protocol.md §6.5, §6.12),
fed to the same matcher as the REST poller (functions/discord_events).

Bodies on the DiscordEventsQueue (JSON):

- `{"kind": "dispatch", "instanceId", "t", "d", "seq", "session", "at"}` — the account channel's
  MESSAGE_CREATE / MESSAGE_UPDATE (ephemeral ones included) and the user's INTERACTION_CREATE /
  INTERACTION_SUCCESS / INTERACTION_FAILURE / INTERACTION_MODAL_CREATE (answered by modals.py) /
  INTERACTION_IFRAME_MODAL_CREATE (the captcha);
- `{"kind": "status", "instanceId", "state": "ready" | "down" | "disabled", "since", "at",
  "ttl", "reason"}` — the listener's heartbeat: while "ready" is fresh and its session started
  before the running tasks, the account's REST poller stops (poller.py); "down" restarts it.

Correlation is exact: INTERACTION_SUCCESS `{id, nonce}` binds the interaction id to the task
whose nonce it is; the bot's first message echoes the nonce; later messages carry
`interaction_metadata.id` = that interaction id (matcher.by_nonce, by_binding). An event that
finds no task yet (the worker may not have written the nonce when Discord answers) is sent again
with a delay a few times before it is dropped; the REST poller, when it runs, still reads it.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from ...aws import client as aws_client
from ...domain.task import Task
from ...store.instances import InstancePool
from ...store.tasks import TaskRepository
from ..base import Outcome
from .account import Account, DiscordSettings
from .discord import DiscordClient
from .guard import protect_account
from .matcher import Candidate, match, retired_keys
from .messages import Message
from .modals import ModalAnswerer, answered
from .poller import Poller, disable_account
from .state import RetiredKeys, now_ms

log = logging.getLogger(__name__)

MESSAGE_EVENTS = ("MESSAGE_CREATE", "MESSAGE_UPDATE")
INTERACTION_EVENTS = ("INTERACTION_CREATE", "INTERACTION_SUCCESS", "INTERACTION_FAILURE")
# Modal events (session-scoped): the iframe one is Midjourney's captcha when titled so
# (trueai DiscordWebSocketService.cs:832-852), otherwise the Vary (Region) editor of a task.
MODAL_EVENTS = ("INTERACTION_MODAL_CREATE", "INTERACTION_IFRAME_MODAL_CREATE")
CAPTCHA_TITLE = "action required to continue"
RETRY_DELAYS = (1, 2, 4, 8, 15)  # seconds, for an event that finds no task yet
DEFAULT_TTL_SECONDS = 60
INTERACTION_FAILED = "[Interaction failed] Discord reported the Midjourney interaction as failed"


def is_captcha(d: dict[str, Any]) -> bool:
    """An INTERACTION_IFRAME_MODAL_CREATE titled "Action required to continue" (custom_id
    `MJ::iframe::<hash>`); the same event without that title is a task's Vary (Region) editor."""
    return str(d.get("title") or "").strip().lower() == CAPTCHA_TITLE


class EventProcessor:
    def __init__(
        self,
        repo: TaskRepository | None = None,
        pool: InstancePool | None = None,
        discord: DiscordSettings | None = None,
    ) -> None:
        self.poller = Poller(repo, pool, discord)
        self.repo, self.pool, self.state = self.poller.repo, self.poller.pool, self.poller.state
        self.discord = self.poller.discord

    # ---- entry ---------------------------------------------------------------------------
    def handle(self, data: dict[str, Any]) -> str:
        """One forwarded event: "applied", "ignored", "retry" (sent again later) or "status"."""
        if data.get("kind") == "status":
            self._status(data)
            return "status"
        result = self._dispatch(data)
        if result == "retry":
            attempt = int(data.get("attempt", 0))
            if attempt >= len(RETRY_DELAYS):
                log.info("gateway event matched no task", extra={"t": data.get("t")})
                return "ignored"
            self._requeue({**data, "attempt": attempt + 1}, RETRY_DELAYS[attempt])
        return result

    def _requeue(self, data: dict[str, Any], delay: int) -> None:
        url = os.environ.get("DISCORD_EVENTS_QUEUE_URL")
        if not url:
            return
        aws_client("sqs").send_message(
            QueueUrl=url, MessageBody=json.dumps(data, separators=(",", ":")), DelaySeconds=delay
        )

    # ---- the listener's status ------------------------------------------------------------
    def _status(self, data: dict[str, Any]) -> None:
        instance_id = str(data["instanceId"])
        at = int(data.get("at") or now_ms())
        state = data.get("state")
        if state == "ready":
            ttl = int(data.get("ttl", DEFAULT_TTL_SECONDS)) * 1000
            session = str(data["session"]) if data.get("session") else None
            self.state.mark_gateway(instance_id, at, int(data["since"]), at + ttl, session)
            return
        self.state.mark_gateway(instance_id, at, None, 0)
        instance = self.pool.instance(instance_id)
        if instance is None:
            return
        if state == "disabled" and instance.enable:
            disable_account(instance, str(data.get("reason") or "gateway close"), self.repo,
                            self.pool)  # fmt: skip
            return
        if instance.enable and self.state.read(instance_id).running:
            self.poller.ensure(instance)  # the poller takes over; it reads what was missed

    # ---- dispatches -------------------------------------------------------------------------
    def _dispatch(self, data: dict[str, Any]) -> str:
        instance_id, event_name = str(data["instanceId"]), str(data.get("t"))
        d = data.get("d") or {}
        instance = self.pool.instance(instance_id)
        if instance is None or not instance.enable:
            return "ignored"
        item = self.state.read(instance_id)
        tasks = [t for t in (self.repo.get(i) for i in item.running) if t and not t.terminal]
        if event_name == "INTERACTION_IFRAME_MODAL_CREATE" and self._captcha(d, instance):
            return "applied"
        if event_name == "INTERACTION_MODAL_CREATE":  # Custom Zoom's window (modals.py)
            answerer = ModalAnswerer(self.poller.worker, self.repo, self.pool, self.discord)
            return answerer.handle(d, tasks, instance)
        if event_name in INTERACTION_EVENTS:
            return self._interaction(event_name, d, tasks)
        account = Account.from_instance(instance, self.discord)
        if event_name not in MESSAGE_EVENTS or str(d.get("channel_id")) != account.channel_id:
            return "ignored"
        msg = Message(d)
        cands = [Candidate.of(t) for t in tasks]
        # The poller's retired keys are read only for a message the matcher does not ignore.
        retired = RetiredKeys(item.poller, item.gateway_retired,
                              lambda: self.state.load_retired(instance_id, item.poller))  # fmt: skip
        event, cand = match(msg, cands, retired)
        if event.kind == "ignore":
            return "ignored"
        if event.kind == "account":
            self.poller.protect(event, cand, instance)
            self.state.retire_gateway(instance_id, [msg.id])
            return "applied"
        if cand is None:
            # Not yet written (the nonce lands on the task after Discord's 204), or no task of
            # ours: look again a little later.
            return "retry" if msg.from_midjourney and event.kind != "progress" else "ignored"
        result = self.poller._apply(event, cand, DiscordClient(account, self.discord))
        if result == "ended":
            self.state.retire_gateway(instance_id, [*retired_keys(event), cand.interaction_id,
                                                    cand.job_hash, *cand.message_ids])  # fmt: skip
            if len(item.gateway_retired) > 1000:
                self.state.forget_gateway_retired(instance_id)
        elif result == "retry":
            return "retry"
        return "applied"

    def _captcha(self, d: dict[str, Any], instance: Any) -> bool:
        """Midjourney's captcha: nothing will work until a person solves it, so the account is
        disabled (trueai locks it) and its tasks fail with a reason saying what to do."""
        if not is_captcha(d):
            return False
        title = str(d.get("title") or "")
        refusal = f"[{title}] captcha {d.get('custom_id') or ''}".strip()
        reason = (
            f"账号不可用: {instance.id} — Midjourney asks for human verification ({refusal}); "
            "solve it in Discord as this user, then re-enable the account"
        )
        protect_account(instance, "disable", reason, self.repo, self.pool)
        return True

    def _interaction(self, event_name: str, d: dict[str, Any], tasks: list[Task]) -> str:
        nonce, ix = str(d.get("nonce") or ""), str(d.get("id") or "")
        task = next((t for t in tasks if nonce and t.properties.get("nonce") == nonce), None)
        if task is None:
            if answered(tasks, nonce):  # the press of a modal already answered
                return "ignored"
            return "retry" if nonce and tasks else "ignored"
        if event_name == "INTERACTION_FAILURE":
            self.poller.worker.apply_event(task.id, lambda t: Outcome.failed(INTERACTION_FAILED))
            return "applied"
        if not ix or task.providerState.get("interactionId") == ix:
            return "ignored"

        def bind(t: Task) -> Outcome | None:
            if t.providerState.get("interactionId"):
                return None
            return Outcome(kind="wait", delay=None, state={"interactionId": ix})

        self.poller.worker.apply_event(task.id, bind)
        return "applied"


def handle_body(body: str) -> str:
    return EventProcessor().handle(json.loads(body))

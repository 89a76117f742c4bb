"""Midjourney's side of POST /mj/task/{id}/cancel: press the job's own Cancel Job button and make
sure the job's later messages are never taken for another task.

The task itself is already CANCEL when this runs (api/task_ops.cancel): every write of the poller
and the events Lambda is conditional on the task being active, so no late message can turn it
SUCCESS. What is left is Discord's side:

- **The button.** A running job's start and progress messages carry
  `MJ::CancelJob::ByJobid::<job uuid>` (novicezk forks read it as the "cancelComponent": its
  custom_id, the message's id and flags, rancytech/mj-plus@b821a0a
  src/main/java/com/github/novicezk/midjourney/wss/handle/MessageHandler.java
  `withCancelComponent`; tests/fixtures/midjourney/cancel.json). outcomes.progress_outcome keeps
  it in `providerState.cancelButton`; pressing it is a type-3 interaction like any button, paced
  like any interaction. A job with no message read yet has no button to press: it runs on, and
  its messages are ignored.
- **The job's keys** (interaction id, job UUID, message ids) are retired on the account's item,
  which the poller and the events Lambda both read, as when a task ends by itself.

Never raises: the cancel is answered whatever Discord says.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ...config import Instance
from ...domain.task import Task, new_nonce
from ...store.instances import InstancePool
from . import payloads
from .account import DiscordSettings, app_of
from .discord import DiscordClient, DiscordError
from .matcher import Candidate
from .messages import Message
from .state import DiscordState

log = logging.getLogger(__name__)

PREFIX = "MJ::CancelJob::ByJobid::"
# The cancel answers the client synchronously: wait for the account's pacing at most this long,
# else leave the job running (its messages are ignored all the same).
PACING_WAIT_MAX_SECONDS = 5.0


def cancel_button(msg: Message) -> dict[str, Any] | None:
    """The message's Cancel Job button as the press needs it, or None."""
    for custom in msg.custom_ids:
        if custom.startswith(PREFIX):
            return {"customId": custom, "messageId": msg.id, "flags": msg.flags}
    return None


def job_keys(task: Task) -> list[str]:
    cand = Candidate.of(task)
    progress = task.properties.get("progressMessageId")
    keys = [cand.interaction_id, cand.job_hash, *cand.message_ids, progress]
    return [str(k) for k in keys if k]


def stop_job(
    task: Task,
    instance: Instance,
    pool: InstancePool | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Retire the cancelled task's job and press its Cancel Job button. Returns what was done:
    "pressed", "no button", "not sent", "paced" or "failed" (for the log and the tests)."""
    pool = pool or InstancePool()
    state = DiscordState(pool)
    try:
        if not task.providerState.get("sentAt"):
            return "not sent"  # nothing reached Discord: the worker will find the task ended
        state.retire_gateway(instance.id, job_keys(task))
        button = task.providerState.get("cancelButton")
        if not isinstance(button, dict) or not button.get("customId"):
            return "no button"
        discord = DiscordSettings.from_env()
        account, _ = state.sending_account(instance, discord)
        wait = pool.claim_interaction(account.id, account.interaction_interval_seconds)
        if wait > PACING_WAIT_MAX_SECONDS:
            return "paced"
        if wait > 0:
            sleep(wait)
            if pool.claim_interaction(account.id, account.interaction_interval_seconds) > 0:
                return "paced"
        body = payloads.button(account, new_nonce(), str(button["messageId"]),
                               int(button.get("flags") or 0), str(button["customId"]),
                               app_of(task.botType))  # fmt: skip
        DiscordClient(account, discord).interact(body)
    except DiscordError as exc:
        log.warning("Cancel Job press refused", extra={"taskId": task.id, "status": exc.status})
        return "failed"
    except Exception:
        log.exception("Cancel Job press failed", extra={"taskId": task.id})
        return "failed"
    log.info("Cancel Job pressed", extra={"taskId": task.id})
    return "pressed"

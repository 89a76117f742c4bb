"""Account protection: when Discord or Midjourney refuses the account itself (a revoked token,
403, a captcha, no subscription, a ban, fast hours used up), the account is marked and its tasks
end with a reason naming the cause, instead of each task failing or timing out on a dead account.

- "disable": the account leaves the pool (InstancePool.disable, persisted on its item; new submits
  go to other accounts or get code 3), and every running and waiting task fails with the reason.
- "relax": fast hours are exhausted; the account's item records `fastExhausted`, the tasks already
  sent (in fast mode) fail with the reason, and every later imagine on the account is sent with
  `--relax` (provider.imagine_prompt) until an operator clears the flag.

Both are visible in /mj/account/list (`enable`, `properties.disabledReason`, `properties.mode`)
and reversible without a redeploy (docs/midjourney.md, "Account protection").
"""

from __future__ import annotations

import logging
from typing import Literal

from ...config import Instance
from ...store.instances import InstancePool
from ...store.tasks import TaskRepository
from ...worker import Worker
from .state import DiscordState

log = logging.getLogger(__name__)

Action = Literal["disable", "relax"]


def token_refused(instance: Instance, discord_message: str, status: int = 401) -> str:
    """The reason for a 401/403 from Discord (the token is no longer accepted for this use)."""
    what = (
        "the account's user token is invalid or expired"
        if status == 401
        else "Discord forbids this account the channel or the interaction"
    )
    return (
        f"账号不可用: {instance.id} — Discord answered {discord_message}; {what}, the account is "
        "disabled until its token is replaced or an operator re-enables it"
    )


def refused_by_midjourney(instance: Instance, refusal: str, action: Action) -> str:
    """The reason for an account-level refusal by Midjourney (its own words in brackets)."""
    if action == "relax":
        return (
            f"账号快速时长已用完: {instance.id} — Midjourney answered {refusal}; the account is "
            "switched to relax mode, submit the task again"
        )
    return (
        f"账号不可用: {instance.id} — Midjourney answered {refusal}; the account is disabled "
        "until an operator re-enables it"
    )


def protect_account(
    instance: Instance,
    action: Action,
    reason: str,
    repo: TaskRepository,
    pool: InstancePool,
    current_task_id: str | None = None,
) -> str:
    """Mark the account and end its tasks (all of them, or only those already sent for
    "relax"); the task the caller is handling (`current_task_id`) is left to the caller.
    Returns `reason`."""
    if action == "disable":
        pool.disable(instance, reason)
        ids = pool.counters(instance.id)["active"]
    else:
        DiscordState(pool).mark_fast_exhausted(instance.id, reason)
        ids = pool.counters(instance.id)["running"]
    log.warning("account protected", extra={"instance": instance.id, "action": action})
    worker = Worker(repo, pool)
    for task_id in ids:
        if task_id == current_task_id:
            continue
        task = repo.get(task_id)
        if task is None or task.terminal:
            continue
        if action == "relax" and not task.providerState.get("sentAt"):
            continue  # not sent yet: it goes out in relax mode
        worker.fail(task, reason)
    return reason

"""The account endpoints (protocol.md §3.10): GET /mj/account/list, GET /mj/account/{id}/fetch.

An account is one configured instance (a Discord account for `midjourney`, a provider slot
otherwise) with the original's fields and its live counters. The original prints `userToken` in
clear text; here every field is picked from a whitelist, so no token, key or other secret kept in
`Instance.settings` can ever leave the system.
"""

from __future__ import annotations

from typing import Any

from ..config import Instance
from ..store.instances import InstancePool

# Keys of Instance.settings that are shown as they are (the original's account fields).
PUBLIC_SETTINGS = ("guildId", "channelId", "userAgent")


CONFIG_DISABLED = "disabled in configuration"


def account_view(
    instance: Instance, counters: dict[str, Any], disabled_reason: str | None = None
) -> dict[str, Any]:
    running = set(counters.get("running", []))
    waiting = set(counters.get("active", [])) - running
    view: dict[str, Any] = {"id": instance.id}
    for key in PUBLIC_SETTINGS:
        value = instance.settings.get(key)
        view[key] = value if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    view.update(
        enable=instance.enable,
        coreSize=instance.coreSize,
        queueSize=instance.queueSize,
        timeoutMinutes=instance.timeoutMinutes,
        properties=_properties(instance, counters, disabled_reason),
        runningCount=len(running),
        waitingCount=len(waiting),
    )
    return view


def _properties(
    instance: Instance, status: dict[str, Any], disabled_reason: str | None
) -> dict[str, Any]:
    """`provider`, why a disabled account is out of service (`disabledReason`), and
    `mode: "relax"` with `fastExhaustedReason` once its fast hours are used up (midjourney)."""
    props: dict[str, Any] = {"provider": instance.provider}
    if disabled_reason:
        props["disabledReason"] = disabled_reason
    if status.get("fastExhaustedReason") is not None:
        props["mode"] = "relax"
        props["fastExhaustedReason"] = status["fastExhaustedReason"]
    return props


def account_list(pool: InstancePool | None = None) -> list[dict[str, Any]]:
    """Every configured instance, disabled ones included (with `enable: false`)."""
    pool = pool or InstancePool()
    out = []
    for instance in pool.instances():
        status = pool.status(instance.id)
        out.append(account_view(instance, status, _why(instance, status)))
    return out


def account_fetch(instance_id: str, pool: InstancePool | None = None) -> dict[str, Any] | None:
    """One instance, or None (the JSON `null`) for an unknown id."""
    pool = pool or InstancePool()
    instance = pool.instance(instance_id.strip()) if instance_id.strip() else None
    if instance is None:
        return None
    status = pool.status(instance.id)
    return account_view(instance, status, _why(instance, status))


def _why(instance: Instance, status: dict[str, Any]) -> str | None:
    """Why a disabled instance is out of service (the console and `mjproxy accounts` show it):
    the run-time reason (e.g. Discord answered 401), else its configuration says so."""
    if instance.enable:
        return None
    return status.get("disabledReason") or CONFIG_DISABLED

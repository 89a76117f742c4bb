"""The account endpoints (protocol.md §3.10): GET /mj/account/list, GET /mj/account/{id}/fetch,
and POST /mj/account/{id}/enable (put an account disabled at run time back into service).

An account is one configured instance (a Discord account for `midjourney`, a provider slot
otherwise) with the original's fields and its live counters. The original prints `userToken` in
clear text; here every field is picked from a whitelist, so no token, key or other secret kept in
`Instance.settings` can ever leave the system.
"""

from __future__ import annotations

from typing import Any

from ..config import Instance
from ..domain import codes
from ..observability import logger
from ..store.instances import InstancePool
from .errors import ProtocolError

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
        # Whether POST /mj/account/{id}/enable can help (the console shows its button then).
        props["disabledBy"] = "configuration" if disabled_reason == CONFIG_DISABLED else "runtime"
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


def enable_account(instance_id: str, pool: InstancePool | None = None) -> dict[str, Any]:
    """Clear a run-time disable (a Discord 401, a fatal gateway close, a captcha...) so new
    submits may choose the account again: `{code:1, description:"成功", result:<id>}`, also for
    an account already in service. Unknown id: 3 账号不存在. An instance with `enable: false`
    in its configuration stays disabled (4): the configuration is the operator's decision and
    the next cold start would read it again anyway."""
    pool = pool or InstancePool()
    instance = pool.configured(instance_id.strip()) if instance_id.strip() else None
    if instance is None:
        raise ProtocolError(codes.NOT_FOUND, codes.ACCOUNT_NOT_FOUND)
    if not instance.enable:
        raise ProtocolError(
            codes.VALIDATION_ERROR, codes.ACCOUNT_DISABLED_IN_CONFIG_FMT.format(id=instance.id)
        )
    was = pool.disabled_reason(instance.id)
    pool.enable(instance.id)
    logger.info("instance enabled", extra={"instance": instance.id, "was": was})
    return {"code": codes.SUCCESS, "description": codes.OK, "result": instance.id, "properties": {}}

"""Which instances may take a task: the plus API's `accountFilter`, per-instance allowed speed
modes and bots (plus-api.md §2.1.4, issue 16 §6–7). Pure functions over the configuration.

Per-instance knobs, read from the instance's MJ_INSTANCES entry (names as trueai's account):
`allowModes` (list of FAST/RELAX/TURBO; absent = all), `enableFastToRelax` (a FAST request may run
as RELAX there), `enableMj` / `enableNiji` (which bots it serves; both default true) and `remix`
(the account's remix setting, default false).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Instance
from .models import AccountFilter

MODES = ("FAST", "RELAX", "TURBO")
BOT_TYPES = ("MID_JOURNEY", "NIJI_JOURNEY")


@dataclass(frozen=True)
class Candidate:
    instance: Instance
    mode: str | None  # the speed mode the task runs in there (a fast->relax fallback changes it)


def allowed_modes(instance: Instance) -> tuple[str, ...]:
    raw = instance.settings.get("allowModes")
    if not raw:
        return MODES
    return tuple(str(m).upper() for m in raw)


def _mode_there(instance: Instance, mode: str | None) -> tuple[bool, str | None]:
    allowed = allowed_modes(instance)
    if mode is None or mode in allowed:
        return True, mode
    if mode == "FAST" and "RELAX" in allowed and instance.flag("enableFastToRelax", False):
        return True, "RELAX"
    return False, None


def candidates(
    instances: list[Instance],
    *,
    mode: str | None = None,
    bot_type: str | None = None,
    account_filter: AccountFilter | None = None,
) -> list[Candidate]:
    """The instances a task may run on, each with the mode it would run in there."""
    out = []
    wanted_modes = {m.upper() for m in (account_filter.modes or [])} if account_filter else set()
    for inst in instances:
        if account_filter is not None:
            if account_filter.instanceId and inst.id != account_filter.instanceId:
                continue
            if wanted_modes and not wanted_modes & set(allowed_modes(inst)):
                continue
            if account_filter.remix is not None and (
                inst.flag("remix", False) != account_filter.remix
            ):
                continue
        if bot_type == "NIJI_JOURNEY" and not inst.flag("enableNiji", True):
            continue
        if bot_type in (None, "MID_JOURNEY") and not inst.flag("enableMj", True):
            continue
        ok, effective = _mode_there(inst, mode)
        if ok:
            out.append(Candidate(inst, effective))
    return out

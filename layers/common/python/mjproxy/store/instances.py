"""The instance pool (accounts / provider slots) and its live counters (protocol.md §5.4).

Each instance has one DynamoDB item holding two string sets of task ids:
- `active`: accepted and not finished (waiting for a slot or running). A submit adds its task
  only while `size(active) < coreSize + queueSize`, so a full instance answers code 23 and no
  task is created.
- `running`: holding one of the `coreSize` slots. A task is added (`claim_slot`) before its start
  job is sent, so `coreSize` really limits concurrent generations. `active - running` is the
  waiting queue, in id order (ids start with the submit time in ms): see `mjproxy.queueing`.
- `slot_<taskId>`: when that task got its slot (the clock of a task that holds a slot but has
  not reached the generator yet, and of a lost start job).
Set ADD/DELETE are idempotent, so duplicated SQS deliveries cannot make the counters drift; a crash
between a task finishing and its release is repaired by the sweeper (`repair`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, field, replace
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .. import observability
from ..aws import client
from ..config import Instance, settings
from ..domain.task import Task

log = logging.getLogger(__name__)


REVOCABLE_PROVIDERS = frozenset({"midjourney"})


class QueueFull(Exception):
    pass


class IdTaken(Exception):
    """Another task already holds this id's place: two submits drew the same id (ms + three
    random digits), or a task is confirmed twice at once. The place is theirs, not to release."""


SLOT_PREFIX = "slot_"


@dataclass(frozen=True)
class Slots:
    """One consistent read of an instance's counters."""

    active: frozenset[str] = frozenset()
    running: frozenset[str] = frozenset()
    since: dict[str, int] = field(default_factory=dict)  # task id -> when it got its slot (ms)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Slots:
        since = {
            name[len(SLOT_PREFIX) :]: int(value["N"])
            for name, value in item.items()
            if name.startswith(SLOT_PREFIX) and "N" in value
        }
        return cls(
            active=frozenset(item.get("active", {}).get("SS", [])),
            running=frozenset(item.get("running", {}).get("SS", [])),
            since=since,
        )

    def waiting(self) -> list[str]:
        """Accepted tasks without a slot, first come first served (ids begin with submit ms)."""
        return sorted(self.active - self.running)

    def ahead_of(self, task_id: str, core_size: int) -> int:
        """How many waiting tasks will still be waiting before `task_id` once the free slots
        are filled (code 22's numberOfQueues): the ones the queue starts first (smaller ids),
        less the free slots, which go to them. Not `len(active) - coreSize`: a task reserved
        a moment earlier may have a later id (concurrent submits), and a confirmed MODAL task
        keeps the id of its creation, so either may be behind `task_id` in the queue."""
        earlier = sum(1 for t in self.active - self.running if t < task_id)
        free = max(0, core_size - len(self.running))
        return max(0, earlier - free)


@dataclass(frozen=True)
class Reservation:
    instance: Instance
    ahead: int  # tasks waiting for a slot before this one (code 22's numberOfQueues)
    slots: Slots = field(default_factory=Slots)  # the counters right after this reservation


def _size(item: dict[str, Any], name: str) -> int:
    return len(item.get(name, {}).get("SS", []))


class InstancePool:
    def __init__(self, table_name: str | None = None) -> None:
        self.table = table_name or os.environ.get("INSTANCES_TABLE_NAME", "mj-instances")

    @property
    def _db(self) -> Any:
        return client("dynamodb")

    # ---- configuration ------------------------------------------------------------------
    def instances(self) -> tuple[Instance, ...]:
        """The configured instances; one disabled at run time (`disable`) has enable=False."""
        configured = settings().instances
        disabled = self._disabled_ids([i for i in configured if i.enable])
        return tuple(replace(i, enable=False) if i.id in disabled else i for i in configured)

    def instance(self, instance_id: str | None) -> Instance | None:
        inst = self.configured(instance_id)
        if inst is not None and inst.enable and self._disabled_ids([inst]):
            return replace(inst, enable=False)
        return inst

    @staticmethod
    def configured(instance_id: str | None) -> Instance | None:
        """The instance as configured, whatever its run-time state."""
        return next((i for i in settings().instances if i.id == instance_id), None)

    def enabled(self) -> list[Instance]:
        return [i for i in self.instances() if i.enable]

    # ---- run-time disabling (e.g. a Discord token answered 401) --------------------------
    @staticmethod
    def fingerprint(instance: Instance) -> str:
        """Identifies the instance's configuration (credentials included) without revealing it:
        a disable applies to these credentials only, so rotating the token re-enables it."""
        raw = json.dumps(instance.settings, sort_keys=True, default=str).encode()
        return hashlib.sha256(raw).hexdigest()[:16]

    def _disabled_ids(self, instances: list[Instance]) -> set[str]:
        # Only accounts a remote service can revoke (Discord: a 401, a fatal gateway close) are
        # ever disabled at run time; other instances skip this read on every submit and step.
        instances = [i for i in instances if i.provider in REVOCABLE_PROVIDERS]
        if not instances:
            return set()
        try:
            out = self._db.batch_get_item(
                RequestItems={
                    self.table: {
                        "Keys": [{"id": {"S": i.id}} for i in instances],
                        "ConsistentRead": True,
                        "ProjectionExpression": "id, disabled, disabledFingerprint",
                    }
                }
            )
        except (BotoCoreError, ClientError):
            # The flag is an extra safety; configuration stays usable when it cannot be read.
            log.warning("could not read instance flags", exc_info=True)
            return set()
        prints = {i.id: self.fingerprint(i) for i in instances}
        found = set()
        for item in out.get("Responses", {}).get(self.table, []):
            if not item.get("disabled", {}).get("BOOL"):
                continue
            instance_id = item["id"]["S"]
            stored = item.get("disabledFingerprint", {}).get("S")
            if stored is None or stored == prints.get(instance_id):
                found.add(instance_id)
        return found

    def disable(self, instance: Instance, reason: str) -> None:
        """Take the instance out of service (new submits skip it, U/V/R on it get code 3) until
        its credentials change or `enable` is called. `reason` must not contain secrets."""
        self._db.update_item(
            TableName=self.table,
            Key={"id": {"S": instance.id}},
            UpdateExpression=(
                "SET disabled = :t, disabledReason = :r, disabledAt = :now, "
                "disabledFingerprint = :f"
            ),
            ExpressionAttributeValues={
                ":t": {"BOOL": True},
                ":r": {"S": reason[:500]},
                ":now": {"N": str(int(time.time() * 1000))},
                ":f": {"S": self.fingerprint(instance)},
            },
        )
        log.warning("instance disabled", extra={"instance": instance.id, "reason": reason})
        # Alarmed on (template AccountDisabledAlarm): an account needs a new token or a look.
        observability.metric("AccountDisabled", 1)

    def enable(self, instance_id: str) -> None:
        """Undo `disable` (POST /mj/account/{id}/enable); a no-op for an instance in service."""
        self._db.update_item(
            TableName=self.table,
            Key={"id": {"S": instance_id}},
            UpdateExpression="REMOVE disabled, disabledReason, disabledAt, disabledFingerprint",
        )

    def disabled_reason(self, instance_id: str) -> str | None:
        out = self._db.get_item(
            TableName=self.table, Key={"id": {"S": instance_id}}, ConsistentRead=True
        )
        item = out.get("Item", {})
        if not item.get("disabled", {}).get("BOOL"):
            return None
        return item.get("disabledReason", {}).get("S", "")

    # ---- pacing ---------------------------------------------------------------------------
    def claim_interaction(
        self, instance_id: str, interval_seconds: float, now_ms: int | None = None
    ) -> float:
        """Claim the instance's next generator call when at least `interval_seconds` passed since
        the previous one (shared by every Lambda through the item). Returns 0 when claimed, else
        the seconds to wait before trying again."""
        if interval_seconds <= 0:
            return 0.0
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        gap = int(interval_seconds * 1000)
        try:
            self._db.update_item(
                TableName=self.table,
                Key={"id": {"S": instance_id}},
                UpdateExpression="SET lastInteractionAt = :now",
                ConditionExpression=(
                    "attribute_not_exists(lastInteractionAt) OR lastInteractionAt <= :edge"
                ),
                ExpressionAttributeValues={
                    ":now": {"N": str(now)},
                    ":edge": {"N": str(now - gap)},
                },
            )
            return 0.0
        except self._db.exceptions.ConditionalCheckFailedException:
            pass
        out = self._db.get_item(
            TableName=self.table, Key={"id": {"S": instance_id}}, ConsistentRead=True
        )
        last = int(out.get("Item", {}).get("lastInteractionAt", {}).get("N", "0"))
        return max(0.05, (last + gap - now) / 1000)

    # ---- counters -----------------------------------------------------------------------
    def slots(self, instance_id: str) -> Slots:
        out = self._db.get_item(
            TableName=self.table, Key={"id": {"S": instance_id}}, ConsistentRead=True
        )
        return Slots.from_item(out.get("Item", {}))

    def counters(self, instance_id: str) -> dict[str, list[str]]:
        slots = self.slots(instance_id)
        return {"active": sorted(slots.active), "running": sorted(slots.running)}

    def status(self, instance_id: str) -> dict[str, Any]:
        """Counters plus the run-time marks shown by /mj/account/list (one read): why the
        instance was disabled, and whether its fast hours are exhausted (midjourney guard.py)."""
        out = self._db.get_item(
            TableName=self.table, Key={"id": {"S": instance_id}}, ConsistentRead=True
        )
        item = out.get("Item", {})
        view: dict[str, Any] = {
            name: sorted(item.get(name, {}).get("SS", [])) for name in ("active", "running")
        }
        if item.get("disabled", {}).get("BOOL"):
            view["disabledReason"] = item.get("disabledReason", {}).get("S", "")
        if item.get("fastExhausted", {}).get("BOOL"):
            view["fastExhaustedReason"] = item.get("fastExhaustedReason", {}).get("S", "")
        return view

    def loads(self) -> dict[str, int]:
        ids = [i.id for i in self.enabled()]
        if not ids:
            return {}
        out = self._db.batch_get_item(
            RequestItems={
                self.table: {"Keys": [{"id": {"S": i}} for i in ids], "ConsistentRead": True}
            }
        )
        loads = {i: 0 for i in ids}
        for item in out.get("Responses", {}).get(self.table, []):
            loads[item["id"]["S"]] = _size(item, "active")
        return loads

    def reserve(self, instance: Instance, task_id: str) -> Reservation:
        """Count a new task against the instance; QueueFull when coreSize + queueSize are used,
        IdTaken when `task_id` holds a place already. The set ADD alone would succeed for an id
        already there, and whoever then failed to create the task would release the other's
        place: that task would exist, never start and never be counted (issue 13's stuck tasks:
        two of 1,000 concurrent submits drew the same id)."""
        cap = instance.coreSize + instance.queueSize
        try:
            out = self._db.update_item(
                TableName=self.table,
                Key={"id": {"S": instance.id}},
                UpdateExpression="ADD active :t",
                ConditionExpression=(
                    "attribute_not_exists(active) OR (size(active) < :cap "
                    "AND NOT contains(active, :id))"
                ),
                ExpressionAttributeValues={
                    ":t": {"SS": [task_id]},
                    ":id": {"S": task_id},
                    ":cap": {"N": str(cap)},
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            held = exc.response.get("Item", {}).get("active", {}).get("SS", [])
            if task_id in held:
                raise IdTaken(task_id) from exc
            raise QueueFull(instance.id) from exc
        slots = Slots.from_item(out.get("Attributes", {}))
        ahead = slots.ahead_of(task_id, instance.coreSize)
        return Reservation(instance=instance, ahead=ahead, slots=slots)

    def claim_slot(self, instance: Instance, task_id: str, now_ms: int) -> bool:
        """Give a waiting task one of the instance's coreSize slots. False when no slot is free,
        the task already holds one (somebody else started it) or it is no longer queued (it
        ended meanwhile): whoever gets True, and only they, sends its start job."""
        try:
            self._db.update_item(
                TableName=self.table,
                Key={"id": {"S": instance.id}},
                UpdateExpression="ADD running :t SET #since = :now",
                ConditionExpression=(
                    "(attribute_not_exists(running) OR size(running) < :core) "
                    "AND contains(active, :id) "
                    "AND (attribute_not_exists(running) OR NOT contains(running, :id))"
                ),
                ExpressionAttributeNames={"#since": SLOT_PREFIX + task_id},
                ExpressionAttributeValues={
                    ":t": {"SS": [task_id]},
                    ":id": {"S": task_id},
                    ":core": {"N": str(instance.coreSize)},
                    ":now": {"N": str(now_ms)},
                },
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release(self, task: Task) -> Slots | None:
        """Free the task's slot and queue place (idempotent); the counters after it."""
        if not task.instanceId:
            return None
        return self._remove(task.instanceId, [task.id])

    def _remove(self, instance_id: str, task_ids: list[str]) -> Slots | None:
        if not task_ids:
            return None
        names = {f"#s{i}": SLOT_PREFIX + t for i, t in enumerate(task_ids)}
        out = self._db.update_item(
            TableName=self.table,
            Key={"id": {"S": instance_id}},
            UpdateExpression="DELETE running :t, active :t REMOVE " + ", ".join(names),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={":t": {"SS": task_ids}},
            ReturnValues="ALL_NEW",
        )
        return Slots.from_item(out.get("Attributes", {}))

    def repair(self, instance_id: str, is_finished: Any) -> list[str]:
        """Drop ids whose task is finished or gone (`is_finished(ids) -> set of such ids`)."""
        counters = self.counters(instance_id)
        ids = sorted(set(counters["active"]) | set(counters["running"]))
        stale = sorted(is_finished(ids)) if ids else []
        self._remove(instance_id, stale)
        if stale:
            log.warning(
                "repaired instance counters", extra={"instance": instance_id, "stale": stale}
            )
        return stale

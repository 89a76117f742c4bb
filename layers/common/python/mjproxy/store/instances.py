"""The instance pool (accounts / provider slots) and its live counters (protocol.md §5.4).

Each instance has one DynamoDB item holding two string sets of task ids:
- `active`: accepted and not finished (waiting for a slot or running). A submit adds its task
  only while `size(active) < coreSize + queueSize`, so a full instance answers code 23 and no
  task is created.
- `running`: holding one of the `coreSize` slots. The worker adds a task before it starts the
  generator, so `coreSize` really limits concurrent generations.
Set ADD/DELETE are idempotent, so duplicated SQS deliveries cannot make the counters drift; a crash
between a task finishing and its release is repaired by the sweeper (`repair`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, replace
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


@dataclass(frozen=True)
class Reservation:
    instance: Instance
    ahead: int  # tasks waiting for a slot before this one (code 22's numberOfQueues)


def _size(item: dict[str, Any], name: str) -> int:
    return len(item.get(name, {}).get("SS", []))


class InstancePool:
    retry_delay = 2  # seconds before a task that found no free slot tries again

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
        for inst in settings().instances:
            if inst.id == instance_id:
                if inst.enable and self._disabled_ids([inst]):
                    return replace(inst, enable=False)
                return inst
        return None

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
    def counters(self, instance_id: str) -> dict[str, list[str]]:
        out = self._db.get_item(
            TableName=self.table, Key={"id": {"S": instance_id}}, ConsistentRead=True
        )
        item = out.get("Item", {})
        return {name: sorted(item.get(name, {}).get("SS", [])) for name in ("active", "running")}

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
        """Count a new task against the instance; QueueFull when coreSize + queueSize are used."""
        cap = instance.coreSize + instance.queueSize
        try:
            out = self._db.update_item(
                TableName=self.table,
                Key={"id": {"S": instance.id}},
                UpdateExpression="ADD active :t",
                ConditionExpression="attribute_not_exists(active) OR size(active) < :cap",
                ExpressionAttributeValues={":t": {"SS": [task_id]}, ":cap": {"N": str(cap)}},
                ReturnValues="UPDATED_OLD",
            )
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            raise QueueFull(instance.id) from exc
        before = _size(out.get("Attributes", {}), "active")
        return Reservation(instance=instance, ahead=max(0, before - instance.coreSize))

    def try_acquire(self, task: Task, instance: Instance) -> bool:
        """Take one of the instance's coreSize slots for the task (idempotent)."""
        try:
            self._db.update_item(
                TableName=self.table,
                Key={"id": {"S": instance.id}},
                UpdateExpression="ADD running :t, active :t",
                ConditionExpression=(
                    "attribute_not_exists(running) OR size(running) < :core OR contains(running, :id)"
                ),
                ExpressionAttributeValues={
                    ":t": {"SS": [task.id]},
                    ":id": {"S": task.id},
                    ":core": {"N": str(instance.coreSize)},
                },
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release(self, task: Task) -> None:
        """Free the task's slot and queue place (idempotent)."""
        if not task.instanceId:
            return
        self._remove(task.instanceId, [task.id])

    def _remove(self, instance_id: str, task_ids: list[str]) -> None:
        if not task_ids:
            return
        self._db.update_item(
            TableName=self.table,
            Key={"id": {"S": instance_id}},
            UpdateExpression="DELETE running :t, active :t",
            ExpressionAttributeValues={":t": {"SS": task_ids}},
        )

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

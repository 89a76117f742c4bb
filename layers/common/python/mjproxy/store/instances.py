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

import logging
import os
from dataclasses import dataclass
from typing import Any

from ..aws import client
from ..config import Instance, settings
from ..domain.task import Task

log = logging.getLogger(__name__)


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
        return settings().instances

    def instance(self, instance_id: str | None) -> Instance | None:
        for inst in self.instances():
            if inst.id == instance_id:
                return inst
        return None

    def enabled(self) -> list[Instance]:
        return [i for i in self.instances() if i.enable]

    # ---- counters -----------------------------------------------------------------------
    def counters(self, instance_id: str) -> dict[str, list[str]]:
        out = self._db.get_item(
            TableName=self.table, Key={"id": {"S": instance_id}}, ConsistentRead=True
        )
        item = out.get("Item", {})
        return {name: sorted(item.get(name, {}).get("SS", [])) for name in ("active", "running")}

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

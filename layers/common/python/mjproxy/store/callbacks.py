"""Per-task callback bookkeeping, kept on the task's own item (attributes Task objects never load):

- `notifyOrder`, `notifyKey`: the protocol order (§4.2) and `STATUS|progress` of the newest state
  claimed for delivery. A claim only succeeds for a newer state, so a receiver never gets an older
  state after a newer one, and one state is delivered once (not once per queued message).
- `notifyLease`: epoch ms until which a claimed delivery is in flight. While it holds, nobody else
  sends for that task (so two notifier invocations cannot race two POSTs to the receiver); a lease
  left behind by a crashed invocation expires and lets the same state be claimed again.
- `notifyError`: why the last delivery was given up or refused (retries exhausted, SSRF guard).

None of these writes touches `status` or `seq`, so they never interfere with the worker's
conditional updates; all require the item to exist (an update must not resurrect an expired task).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..aws import client
from ..config import settings
from ..domain.task import Task
from .codec import from_item
from .tasks import Conflict

ATTRS = ("notifyOrder", "notifyKey", "notifyLease", "notifyError")


class Busy(Conflict):
    """Another delivery for this task is in flight."""


class Superseded(Conflict):
    """A state at least as new has already been claimed: this one must not be sent."""


@dataclass(frozen=True)
class Ledger:
    order: Decimal | None = None
    key: str | None = None
    lease: int | None = None
    error: str | None = None


def _ledger(item: dict[str, Any]) -> Ledger:
    def num(name: str) -> Decimal | None:
        return Decimal(item[name]["N"]) if name in item else None

    lease = num("notifyLease")
    return Ledger(
        order=num("notifyOrder"),
        key=item.get("notifyKey", {}).get("S"),
        lease=int(lease) if lease is not None else None,
        error=item.get("notifyError", {}).get("S"),
    )


class CallbackLedger:
    def __init__(self, table_name: str | None = None) -> None:
        self.table = table_name or settings().table_name

    @property
    def _db(self) -> Any:
        return client("dynamodb")

    def read(self, task_id: str) -> tuple[Task | None, Ledger]:
        out = self._db.get_item(
            TableName=self.table, Key={"id": {"S": task_id}}, ConsistentRead=True
        )
        item = out.get("Item")
        if not item:
            return None, Ledger()
        return from_item(item), _ledger(item)

    def claim(
        self,
        task_id: str,
        order: Decimal,
        key: str,
        *,
        now_ms: int,
        lease_ms: int,
        retry_of: str | None = None,
    ) -> None:
        """Claim state `key` (of `order`) for delivery; Busy or Superseded when not allowed.

        The same state may be claimed again only by the retry of its own failed delivery
        (`retry_of` = the key that failed) or after a crashed delivery left its lease behind.
        """
        values: dict[str, Any] = {
            ":o": {"N": str(order)},
            ":k": {"S": key},
            ":now": {"N": str(now_ms)},
            ":until": {"N": str(now_ms + lease_ms)},
        }
        same_again = "#k <> :k OR attribute_exists(#l)"
        if retry_of is not None:
            values[":mine"] = {"S": retry_of}
            same_again += " OR #k = :mine"
        condition = (
            "attribute_exists(id)"
            " AND (attribute_not_exists(#l) OR #l < :now)"
            f" AND (attribute_not_exists(#o) OR #o < :o OR (#o = :o AND ({same_again})))"
        )
        try:
            self._db.update_item(
                TableName=self.table,
                Key={"id": {"S": task_id}},
                UpdateExpression="SET #o = :o, #k = :k, #l = :until",
                ConditionExpression=condition,
                ExpressionAttributeNames={
                    "#o": "notifyOrder",
                    "#k": "notifyKey",
                    "#l": "notifyLease",
                },
                ExpressionAttributeValues=values,
            )
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            _, ledger = self.read(task_id)
            if ledger.lease is not None and ledger.lease >= now_ms:
                raise Busy(task_id) from exc
            raise Superseded(task_id) from exc

    def release(self, task_id: str, key: str, error: str | None = None) -> None:
        """End the delivery of `key` (sent, or given up with `error`). A no-op when the lease
        expired and a newer claim replaced ours meanwhile."""
        names = {"#k": "notifyKey", "#l": "notifyLease"}
        values: dict[str, Any] = {":k": {"S": key}}
        expression = "REMOVE #l"
        if error is not None:
            names["#e"] = "notifyError"
            values[":e"] = {"S": error[:1000]}
            expression = "SET #e = :e REMOVE #l"
        try:
            self._db.update_item(
                TableName=self.table,
                Key={"id": {"S": task_id}},
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(id) AND #k = :k",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            pass

    def record_error(self, task_id: str, error: str) -> None:
        """Note a refusal that happened before any claim (e.g. the SSRF guard)."""
        try:
            self._db.update_item(
                TableName=self.table,
                Key={"id": {"S": task_id}},
                UpdateExpression="SET #e = :e",
                ConditionExpression="attribute_exists(id)",
                ExpressionAttributeNames={"#e": "notifyError"},
                ExpressionAttributeValues={":e": {"S": error[:1000]}},
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            pass

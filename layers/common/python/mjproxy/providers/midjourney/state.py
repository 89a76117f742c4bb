"""Discord bookkeeping kept on the account's item in the instances table, next to the pool's
counters (store/instances.py): the cached command index, the poller's lease and its cursor.

One item per account keeps everything the poller needs in one consistent read.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from typing import Any

from ...aws import client
from ...config import Instance
from ...store.instances import InstancePool
from .account import Account, DiscordSettings


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class PollerState:
    """Where the poller is in the channel.

    - after: messages up to this id are done with (the next read starts after it);
    - retired: interaction ids, job hashes and message ids of jobs whose task has ended, so a
      message read again (the cursor may stay behind an unfinished job) can never be matched to
      another task with the same prompt;
    - unclaimed: ids of Midjourney messages no task claimed yet -> first seen (ms). The cursor
      stays behind them for a grace period, in case their task's write was not visible yet.
    """

    after: str | None = None
    retired: list[str] = field(default_factory=list)
    unclaimed: dict[str, int] = field(default_factory=dict)
    read_at: int | None = None  # when the last successful read started (ms)
    # When the chain's next message is due (ms): a new task wakes a backed-off chain (poller.py).
    due_at: int | None = None

    RETIRED_MAX = 300

    def to_json(self) -> str:
        return json.dumps(
            {"after": self.after, "retired": self.retired[-self.RETIRED_MAX :],
             "unclaimed": self.unclaimed, "readAt": self.read_at, "dueAt": self.due_at},
            separators=(",", ":"),
        )  # fmt: skip

    @classmethod
    def from_json(cls, raw: str | None) -> PollerState:
        if not raw:
            return cls()
        data = json.loads(raw)
        return cls(
            after=data.get("after"),
            retired=list(data.get("retired") or []),
            unclaimed={str(k): int(v) for k, v in (data.get("unclaimed") or {}).items()},
            read_at=data.get("readAt"),
            due_at=data.get("dueAt"),
        )

    def retire(self, *keys: str | None) -> None:
        for key in keys:
            if key and key not in self.retired:
                self.retired.append(key)


@dataclass
class AccountItem:
    """The account's item as the poller reads it."""

    running: list[str]
    lease: str | None
    lease_until: int
    poller: PollerState
    gateway_since: int = 0  # the listener's session covers every event since then (ms)
    gateway_until: int = 0  # ... as long as its heartbeat is fresh (ms)
    gateway_retired: frozenset[str] = frozenset()
    gateway_session: str | None = None  # the listener's live session id (interactions use it)
    fast_exhausted: bool = False  # guard.py "relax": imagines go out with --relax

    def gateway_covers(self, since_ms: int, now: int | None = None) -> bool:
        """The gateway listener is alive and has seen every event since `since_ms`."""
        now = now_ms() if now is None else now
        return (
            bool(self.gateway_since)
            and self.gateway_until > now
            and (self.gateway_since <= since_ms)
        )


class DiscordState:
    def __init__(self, pool: InstancePool | None = None) -> None:
        self.pool = pool or InstancePool()

    @property
    def _db(self) -> Any:
        return client("dynamodb")

    @property
    def table(self) -> str:
        return self.pool.table

    def _key(self, account_id: str) -> dict[str, Any]:
        return {"id": {"S": account_id}}

    def read(self, account_id: str) -> AccountItem:
        item = self._db.get_item(
            TableName=self.table, Key=self._key(account_id), ConsistentRead=True
        ).get("Item", {})
        return AccountItem(
            running=sorted(item.get("running", {}).get("SS", [])),
            lease=item.get("pollerLease", {}).get("S"),
            lease_until=int(item.get("pollerLeaseUntil", {}).get("N", "0")),
            poller=PollerState.from_json(item.get("pollerState", {}).get("S")),
            gateway_since=int(item.get("gatewaySince", {}).get("N", "0")),
            gateway_until=int(item.get("gatewayUntil", {}).get("N", "0")),
            gateway_retired=frozenset(item.get("gatewayRetired", {}).get("SS", [])),
            gateway_session=item.get("gatewaySession", {}).get("S"),
            fast_exhausted=bool(item.get("fastExhausted", {}).get("BOOL")),
        )

    def sending(self, account_id: str, now: int | None = None) -> tuple[str | None, bool]:
        """What an interaction needs from the item: the live gateway session id (None when the
        listener is not up) and whether fast hours are exhausted."""
        item = self.read(account_id)
        live = item.gateway_until > (now_ms() if now is None else now)
        return (item.gateway_session if live else None), item.fast_exhausted

    def sending_account(self, instance: Instance, discord: DiscordSettings) -> tuple[Account, bool]:
        """The account as an interaction goes out from it (carrying the live gateway session, see
        `sending`), and whether fast hours are exhausted."""
        session, fast_exhausted = self.sending(instance.id)
        account = replace(Account.from_instance(instance, discord), gateway_session=session)
        return account, fast_exhausted

    def mark_fast_exhausted(self, account_id: str, reason: str) -> None:
        self._db.update_item(
            TableName=self.table,
            Key=self._key(account_id),
            UpdateExpression="SET fastExhausted = :t, fastExhaustedReason = :r, fastExhaustedAt = :n",
            ExpressionAttributeValues={":t": {"BOOL": True}, ":r": {"S": reason[:500]},
                                       ":n": {"N": str(now_ms())}},
        )  # fmt: skip

    # ---- command index cache --------------------------------------------------------------
    def load_commands(self, account_id: str) -> tuple[dict[str, dict[str, str]], int]:
        item = self._db.get_item(
            TableName=self.table,
            Key=self._key(account_id),
            ConsistentRead=True,
            ProjectionExpression="discordCommands, discordCommandsAt",
        ).get("Item", {})
        raw = item.get("discordCommands", {}).get("S")
        return (json.loads(raw) if raw else {}), int(
            item.get("discordCommandsAt", {}).get("N", "0")
        )

    def store_commands(self, account_id: str, commands: dict[str, dict[str, str]]) -> None:
        self._db.update_item(
            TableName=self.table,
            Key=self._key(account_id),
            UpdateExpression="SET discordCommands = :c, discordCommandsAt = :t",
            ExpressionAttributeValues={
                ":c": {"S": json.dumps(commands, separators=(",", ":"))},
                ":t": {"N": str(now_ms())},
            },
        )

    # ---- poller lease -------------------------------------------------------------------------
    def acquire_lease(self, account_id: str, token: str, until_ms: int) -> bool:
        """Take the poller lease if nobody holds a live one."""
        try:
            self._db.update_item(
                TableName=self.table,
                Key=self._key(account_id),
                UpdateExpression="SET pollerLease = :tok, pollerLeaseUntil = :until",
                ConditionExpression=(
                    "attribute_not_exists(pollerLeaseUntil) OR pollerLeaseUntil < :now"
                ),
                ExpressionAttributeValues={
                    ":tok": {"S": token},
                    ":until": {"N": str(until_ms)},
                    ":now": {"N": str(now_ms())},
                },
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def rotate_lease(
        self, account_id: str, token: str, new_token: str, until_ms: int, poller: PollerState
    ) -> bool:
        """Hand the lease from this run's message to the next one and save the cursor, only if
        this run still holds it (a duplicate or superseded message loses here)."""
        try:
            self._db.update_item(
                TableName=self.table,
                Key=self._key(account_id),
                UpdateExpression=(
                    "SET pollerLease = :new, pollerLeaseUntil = :until, pollerState = :st"
                ),
                ConditionExpression="pollerLease = :tok",
                ExpressionAttributeValues={
                    ":tok": {"S": token},
                    ":new": {"S": new_token},
                    ":until": {"N": str(until_ms)},
                    ":st": {"S": poller.to_json()},
                },
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release_lease(self, account_id: str, token: str, poller: PollerState) -> bool:
        try:
            self._db.update_item(
                TableName=self.table,
                Key=self._key(account_id),
                UpdateExpression="SET pollerState = :st REMOVE pollerLease, pollerLeaseUntil",
                ConditionExpression="pollerLease = :tok",
                ExpressionAttributeValues={
                    ":tok": {"S": token},
                    ":st": {"S": poller.to_json()},
                },
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # ---- gateway listener (gateway_events.py) ---------------------------------------------
    def mark_gateway(
        self, account_id: str, at: int, since: int | None, until: int, session: str | None = None
    ) -> bool:
        """The listener's status as of `at` (its clock): alive since `since` until `until` with
        gateway session `session`, or down (since None). Status messages may arrive out of
        order: an older one loses."""
        values: dict[str, Any] = {":at": {"N": str(at)}}
        if since is not None:
            update = "SET gatewayAt = :at, gatewaySince = :since, gatewayUntil = :until"
            values[":since"] = {"N": str(since)}
            values[":until"] = {"N": str(until)}
            if session:
                update += ", gatewaySession = :sess"
                values[":sess"] = {"S": session}
        else:
            update = "SET gatewayAt = :at REMOVE gatewaySince, gatewayUntil, gatewaySession"
        try:
            self._db.update_item(
                TableName=self.table,
                Key=self._key(account_id),
                UpdateExpression=update,
                ConditionExpression="attribute_not_exists(gatewayAt) OR gatewayAt < :at",
                ExpressionAttributeValues=values,
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def retire_gateway(self, account_id: str, keys: list[str]) -> None:
        """Remember the job keys of a task that ended (like PollerState.retired)."""
        keys = [k for k in keys if k]
        if keys:
            self._db.update_item(
                TableName=self.table,
                Key=self._key(account_id),
                UpdateExpression="ADD gatewayRetired :k",
                ExpressionAttributeValues={":k": {"SS": sorted(set(keys))}},
            )

    def forget_gateway_retired(self, account_id: str) -> None:
        """With no task running nothing can be mismatched: the set may start afresh."""
        try:
            self._db.update_item(
                TableName=self.table,
                Key=self._key(account_id),
                UpdateExpression="REMOVE gatewayRetired",
                ConditionExpression="attribute_not_exists(running) OR size(running) = :zero",
                ExpressionAttributeValues={":zero": {"N": "0"}},
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            pass

"""Discord bookkeeping in the instances table, next to the pool's counters (store/instances.py).

The account's own item (`id` = the account id) holds what nearly every call reads or writes: the
counters, the poller's lease and cursor, the gateway listener's status. Whatever is large and
changes rarely has an item of its own, so that those reads and writes stay small (DynamoDB bills a
GetItem, and an UpdateItem, for the whole item, whichever attributes it touches):

- `<id>#retired`: the poller's retired job keys (PollerState.retired), read by a run that has a
  message to match and written only when a key is added;
- `<id>#commands`: the cached command index (commands.py), read by a cold Lambda once a day.

Instance ids never contain `#` (config.py), so no such item can be taken for an account; nothing
lists the table (no Scan): every read names the item it wants.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from ...aws import client
from ...config import ITEM_SEPARATOR, Instance
from ...store.instances import InstancePool
from .account import Account, DiscordSettings

RETIRED_ITEM = "retired"
COMMANDS_ITEM = "commands"
SAVE_ATTEMPTS = 5  # concurrent writers of the retired keys (a duplicated delivery) merge and retry


def now_ms() -> int:
    return int(time.time() * 1000)


def item_id(account_id: str, kind: str) -> str:
    """The id of one of the account's own items (`RETIRED_ITEM`, `COMMANDS_ITEM`)."""
    return f"{account_id}{ITEM_SEPARATOR}{kind}"


@dataclass
class PollerState:
    """Where the poller is in the channel.

    - after: messages up to this id are done with (the next read starts after it);
    - retired: interaction ids, job hashes and message ids of jobs whose task has ended, so a
      message read again (the cursor may stay behind an unfinished job) can never be matched to
      another task with the same prompt. Kept on the account's retired item (`<id>#retired`,
      the last RETIRED_MAX keys), not in the serialized state: in memory it holds the keys read
      from there (`DiscordState.load_retired`) and the ones retired since (`retire`);
    - unclaimed: ids of Midjourney messages no task claimed yet -> first seen (ms). The cursor
      stays behind them for a grace period, in case their task's write was not visible yet.
    """

    after: str | None = None
    retired: list[str] = field(default_factory=list)
    unclaimed: dict[str, int] = field(default_factory=dict)
    read_at: int | None = None  # when the last successful read started (ms)
    # When the chain's next message is due (ms): a new task wakes a backed-off chain (poller.py).
    due_at: int | None = None
    # The retired item's revision as read (None: not read yet), and whether `retired` holds keys
    # that item does not have yet: retired since, or found in an older state (see from_json).
    retired_rev: int | None = field(default=None, compare=False)
    retired_dirty: bool = field(default=False, compare=False)

    RETIRED_MAX = 300

    def to_json(self) -> str:
        return json.dumps(
            {"after": self.after, "unclaimed": self.unclaimed, "readAt": self.read_at,
             "dueAt": self.due_at},
            separators=(",", ":"),
        )  # fmt: skip

    @classmethod
    def from_json(cls, raw: str | None) -> PollerState:
        if not raw:
            return cls()
        data = json.loads(raw)
        # A state written before the retired keys had their own item carries them: they are
        # moved there by the next save (DiscordState.save_retired), before the state is rewritten.
        legacy = list(data.get("retired") or [])
        return cls(
            after=data.get("after"),
            retired=legacy,
            unclaimed={str(k): int(v) for k, v in (data.get("unclaimed") or {}).items()},
            read_at=data.get("readAt"),
            due_at=data.get("dueAt"),
            retired_dirty=bool(legacy),
        )

    def retire(self, *keys: str | None) -> None:
        for key in keys:
            if key and key not in self.retired:
                self.retired.append(key)
                self.retired_dirty = True

    def merge_retired(self, stored: list[str], rev: int) -> None:
        """The keys read from the retired item (older) followed by those only this state has."""
        known = set(stored)
        mine = [k for k in self.retired if k not in known]
        self.retired = [*stored, *mine][-self.RETIRED_MAX :]
        self.retired_rev = rev
        self.retired_dirty = bool(mine)


class RetiredKeys:
    """The retired keys as the matcher tests them (`key in retired`), read from their item the
    first time a message needs them: a run whose messages are all ignored reads nothing more.
    `also` are keys retired elsewhere (the gateway's set, cancel.py)."""

    def __init__(
        self, poller: PollerState, also: Iterable[str] = (), load: Callable[[], None] | None = None
    ) -> None:
        self.poller = poller
        self._also = set(also)
        self._load = load
        self._keys: set[str] | None = None

    def _all(self) -> set[str]:
        if self._keys is None:
            if self._load is not None and self.poller.retired_rev is None:
                self._load()
            self._keys = set(self.poller.retired) | self._also
        return self._keys

    def __contains__(self, key: object) -> bool:
        return key in self._all()

    def retire(self, *keys: str | None) -> None:
        self.poller.retire(*keys)
        self._all().update(k for k in keys if k)


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

    # ---- command index cache (its own item, `<id>#commands`) -----------------------------
    def load_commands(self, account_id: str) -> tuple[dict[str, dict[str, str]], int]:
        item = self._db.get_item(
            TableName=self.table,
            Key=self._key(item_id(account_id, COMMANDS_ITEM)),
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            item = self._move_commands(account_id)
        raw = item.get("discordCommands", {}).get("S")
        return (json.loads(raw) if raw else {}), int(
            item.get("discordCommandsAt", {}).get("N", "0")
        )

    def _move_commands(self, account_id: str) -> dict[str, Any]:
        """An index cached on the account's item (before it had an item of its own) moves to
        its own item, once; {} when there is none."""
        old = self._db.get_item(
            TableName=self.table,
            Key=self._key(account_id),
            ConsistentRead=True,
            ProjectionExpression="discordCommands, discordCommandsAt",
        ).get("Item", {})
        if "discordCommands" not in old:
            return {}
        self._put_commands(account_id, old["discordCommands"], old.get("discordCommandsAt"))
        self._db.update_item(
            TableName=self.table,
            Key=self._key(account_id),
            UpdateExpression="REMOVE discordCommands, discordCommandsAt",
        )
        return old

    def _put_commands(self, account_id: str, commands: dict[str, str], at: Any) -> None:
        self._db.update_item(
            TableName=self.table,
            Key=self._key(item_id(account_id, COMMANDS_ITEM)),
            UpdateExpression="SET discordCommands = :c, discordCommandsAt = :t, accountId = :a",
            ExpressionAttributeValues={
                ":c": commands,
                ":t": at or {"N": "0"},
                ":a": {"S": account_id},
            },
        )

    def store_commands(self, account_id: str, commands: dict[str, dict[str, str]]) -> None:
        self._put_commands(
            account_id,
            {"S": json.dumps(commands, separators=(",", ":"))},
            {"N": str(now_ms())},
        )

    # ---- retired job keys (their own item, `<id>#retired`) ---------------------------------
    def load_retired(self, account_id: str, poller: PollerState) -> None:
        """Read the retired keys into `poller` (merged with any it holds that are not there)."""
        item = self._db.get_item(
            TableName=self.table,
            Key=self._key(item_id(account_id, RETIRED_ITEM)),
            ConsistentRead=True,
        ).get("Item", {})
        raw = item.get("retiredKeys", {}).get("S")
        rev = int(item.get("retiredRev", {}).get("N", "0"))
        poller.merge_retired(json.loads(raw) if raw else [], rev)

    def save_retired(self, account_id: str, poller: PollerState) -> None:
        """Write the retired keys if `poller` holds any the item does not have. The write is
        conditional on the revision read, so two runs writing at once (a duplicated delivery
        still holding the lease, or a chain that lost it) merge their keys instead of one
        overwriting the other: a retired key is never lost."""
        for _ in range(SAVE_ATTEMPTS):
            if not poller.retired_dirty:
                return
            if poller.retired_rev is None:
                self.load_retired(account_id, poller)
                continue
            rev = poller.retired_rev
            try:
                self._db.update_item(
                    TableName=self.table,
                    Key=self._key(item_id(account_id, RETIRED_ITEM)),
                    UpdateExpression="SET retiredKeys = :k, retiredRev = :next, accountId = :a",
                    ConditionExpression="attribute_not_exists(retiredRev) OR retiredRev = :rev",
                    ExpressionAttributeValues={
                        ":k": {"S": json.dumps(poller.retired[-poller.RETIRED_MAX :],
                                               separators=(",", ":"))},
                        ":next": {"N": str(rev + 1)},
                        ":rev": {"N": str(rev)},
                        ":a": {"S": account_id},
                    },
                )  # fmt: skip
            except self._db.exceptions.ConditionalCheckFailedException:
                poller.retired_rev = None  # somebody else wrote: read theirs, merge, write again
                continue
            poller.retired_rev, poller.retired_dirty = rev + 1, False
            return
        raise RuntimeError(f"retired keys of {account_id} not saved: too many concurrent writes")

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
        self,
        account_id: str,
        token: str,
        new_token: str,
        until_ms: int,
        poller: PollerState,
        absorb: frozenset[str] = frozenset(),
    ) -> bool:
        """Hand the lease from this run's message to the next one and save the cursor, only if
        this run still holds it (a duplicate or superseded message loses here). `absorb`: the
        gateway set's keys as this run read them (AccountItem.gateway_retired; see
        _write_lease)."""
        return self._write_lease(
            account_id, token, poller, absorb,
            "SET pollerLease = :new, pollerLeaseUntil = :until, pollerState = :st",
            {":new": {"S": new_token}, ":until": {"N": str(until_ms)}},
        )  # fmt: skip

    def release_lease(
        self, account_id: str, token: str, poller: PollerState, absorb: frozenset[str] = frozenset()
    ) -> bool:
        """Give the lease up and save the cursor, only if this run still holds it."""
        return self._write_lease(
            account_id, token, poller, absorb,
            "SET pollerState = :st REMOVE pollerLease, pollerLeaseUntil", {},
        )  # fmt: skip

    def _write_lease(
        self,
        account_id: str,
        token: str,
        poller: PollerState,
        absorb: frozenset[str],
        update: str,
        values: dict[str, Any],
    ) -> bool:
        """The lease write both hand-over and release make, conditional on `token`. New retired
        keys are saved first: the state written here no longer carries any.

        `absorb` moves to the retired item and out of the account item's gateway set, in the
        same write. The set grows by every cancel of a sent task (cancel.py) and was emptied
        only by the gateway path while nothing ran: on a REST-polled account it would grow
        without bound toward DynamoDB's 400 KB item limit, and make every run's read and write
        of the item dearer. Both readers (the poller, gateway_events) also read the retired
        item, so a moved key still keeps its message from matching another task; DELETE removes
        just these keys, so one added meanwhile stays. Nothing is deleted unless the retired
        item holds them (saved)."""
        poller.retire(*sorted(absorb))
        self.save_retired(account_id, poller)
        values = {**values, ":tok": {"S": token}, ":st": {"S": poller.to_json()}}
        if absorb and not poller.retired_dirty:
            update += " DELETE gatewayRetired :g"
            values[":g"] = {"SS": sorted(absorb)}
        try:
            self._db.update_item(
                TableName=self.table,
                Key=self._key(account_id),
                UpdateExpression=update,
                ConditionExpression="pollerLease = :tok",
                ExpressionAttributeValues=values,
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

"""DynamoDB repository of tasks. Every status change is a conditional update on the current
status and the worker step counter `seq`, so a duplicated SQS delivery or a racing sweeper can
never move a task backwards or finish it twice (design.md §4)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ..aws import client
from ..config import settings
from ..domain.task import ACTIVE, TERMINAL, Task, TaskStatus
from .codec import TASK_ATTRS, from_item, to_av, to_item
from .shards import SHARDS, Cursor, ShardedIndex, merged

# Both indexes are sharded over several partition key values (store/shards.py). The active one is
# sparse: only unfinished tasks carry its key. They project KEYS_ONLY (template.yaml
# TaskIndexProjection; ALL on stacks created before): a task's progress writes, which change no
# index key, then write no index at all, and a read fetches each page's items by key.
ACTIVE_INDEX = ShardedIndex("active-by-submit", "gsiActive", "ACTIVE")
LIST_INDEX = ShardedIndex("all-by-submit", "gsiList", "TASK")
BATCH_GET_MAX = 100


class Conflict(Exception):
    """A conditional write lost: the task was moved on (or created) by someone else."""


class TaskRepository:
    def __init__(self, table_name: str | None = None) -> None:
        self.table = table_name or settings().table_name

    @property
    def _db(self) -> Any:
        return client("dynamodb")

    # ---- writes -------------------------------------------------------------------------
    def create(self, task: Task) -> None:
        """Insert a new task; Conflict if the id is taken (ids are ms + 3 random digits)."""
        item = to_item(task)
        item[LIST_INDEX.attr] = {"S": LIST_INDEX.mark(task.id)}
        if task.status in ACTIVE:
            item[ACTIVE_INDEX.attr] = {"S": ACTIVE_INDEX.mark(task.id)}
        try:
            self._db.put_item(
                TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(id)"
            )
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            raise Conflict(task.id) from exc

    def delete(self, task_id: str) -> None:
        self._db.delete_item(TableName=self.table, Key={"id": {"S": task_id}})

    def update(
        self,
        task_id: str,
        changes: dict[str, Any],
        *,
        from_status: Iterable[TaskStatus],
        expected_seq: int | None = None,
        bump_seq: bool = True,
    ) -> Task:
        """Apply `changes` if the task is in one of `from_status` (and at `expected_seq`).

        A None value removes the attribute. Moving to a terminal status drops the task from the
        sparse active index. Returns the updated task; raises Conflict when the condition fails.
        """
        names: dict[str, str] = {"#status": "status"}
        values: dict[str, Any] = {}
        sets: list[str] = []
        removes: list[str] = []
        for i, (name, value) in enumerate(changes.items()):
            if name not in TASK_ATTRS:
                raise ValueError(f"unknown task attribute {name}")
            placeholder = f"#a{i}"
            names[placeholder] = name
            if value is None:
                removes.append(placeholder)
            else:
                values[f":v{i}"] = to_av(value)
                sets.append(f"{placeholder} = :v{i}")
        new_status = changes.get("status")
        if new_status is not None and TaskStatus(new_status) in TERMINAL:
            names["#active"] = ACTIVE_INDEX.attr
            removes.append("#active")
        if bump_seq:
            names["#seq"] = "seq"
            values[":one"] = {"N": "1"}
            sets.append("#seq = #seq + :one")
        statuses = [TaskStatus(s) for s in from_status]
        status_keys = []
        for j, status in enumerate(statuses):
            values[f":s{j}"] = {"S": status.value}
            status_keys.append(f":s{j}")
        condition = f"#status IN ({', '.join(status_keys)})"
        if expected_seq is not None:
            names.setdefault("#seq", "seq")
            values[":seq"] = {"N": str(expected_seq)}
            condition += " AND #seq = :seq"
        expression = ""
        if sets:
            expression += "SET " + ", ".join(sets)
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        try:
            out = self._db.update_item(
                TableName=self.table,
                Key={"id": {"S": task_id}},
                UpdateExpression=expression.strip(),
                ConditionExpression=f"attribute_exists(id) AND {condition}",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            raise Conflict(task_id) from exc
        return from_item(out["Attributes"])

    # ---- reads --------------------------------------------------------------------------
    def get(self, task_id: str, consistent: bool = True) -> Task | None:
        out = self._db.get_item(
            TableName=self.table, Key={"id": {"S": task_id}}, ConsistentRead=consistent
        )
        item = out.get("Item")
        return from_item(item) if item else None

    def batch_get(self, task_ids: Iterable[str]) -> list[Task]:
        """Tasks for the ids that exist, in chunks of 100 (BatchGetItem's limit)."""
        ids = list(dict.fromkeys(str(i) for i in task_ids))
        found: list[Task] = []
        for start in range(0, len(ids), BATCH_GET_MAX):
            keys = [{"id": {"S": i}} for i in ids[start : start + BATCH_GET_MAX]]
            request = {self.table: {"Keys": keys}}
            while request:
                out = self._db.batch_get_item(RequestItems=request)
                found.extend(from_item(it) for it in out.get("Responses", {}).get(self.table, []))
                request = out.get("UnprocessedKeys") or {}
        return found

    def iterate(
        self, index: ShardedIndex, newest_first: bool, cursor: Cursor | None, chunk: int = 100
    ) -> Iterator[tuple[Task, Cursor | None]]:
        """Tasks of a sharded index in submitTime order, each with the cursor after it. The
        tasks behind up to a page of index items (`chunk` per shard, at most BatchGetItem's 100)
        are read at once: one BatchGetItem per page for a KEYS_ONLY index."""
        items = merged(self._db.query, self.table, index, newest_first, cursor, max(1, chunk))
        batch = min(BATCH_GET_MAX, max(1, chunk) * SHARDS)
        active_only = index is ACTIVE_INDEX
        pending: list[tuple[dict[str, Any], Cursor | None]] = []
        for entry in items:
            pending.append(entry)
            if len(pending) >= batch:
                yield from self._hydrate(pending, active_only)
                pending = []
        yield from self._hydrate(pending, active_only)

    def _hydrate(
        self, entries: list[tuple[dict[str, Any], Cursor | None]], active_only: bool
    ) -> Iterator[tuple[Task, Cursor | None]]:
        """Index entries as tasks, in index order. An ALL index's items are whole; a KEYS_ONLY
        index's are read by key. A task deleted since the index was read is left out, and so,
        for the active index, is one that has finished since: the index lags the table a
        little, the item itself does not."""
        whole = {it["id"]["S"]: from_item(it) for it, _ in entries if "status" in it}
        missing = [it["id"]["S"] for it, _ in entries if "status" not in it]
        if missing:
            whole.update((t.id, t) for t in self.batch_get(missing))
        for item, after in entries:
            task = whole.get(item["id"]["S"])
            if task is not None and (task.status in ACTIVE or not active_only):
                yield task, after

    def _page(
        self, index: ShardedIndex, newest_first: bool, limit: int | None, cursor: Cursor | None
    ) -> tuple[list[Task], Cursor | None]:
        size = limit or 1000
        found: list[Task] = []
        for task, after in self.iterate(index, newest_first, cursor, chunk=chunk_for(size)):
            found.append(task)
            if len(found) >= size:
                return found, after
        return found, None

    def iter_active(
        self, cursor: Cursor | None, chunk: int = 100
    ) -> Iterator[tuple[Task, Cursor | None]]:
        """Unfinished tasks, oldest first, from the sparse active index (never a scan)."""
        return self.iterate(ACTIVE_INDEX, False, cursor, chunk)

    def iter_recent(
        self, cursor: Cursor | None, chunk: int = 100
    ) -> Iterator[tuple[Task, Cursor | None]]:
        """Tasks newest first."""
        return self.iterate(LIST_INDEX, True, cursor, chunk)

    def list_active(
        self, limit: int | None = None, cursor: Cursor | None = None
    ) -> tuple[list[Task], Cursor | None]:
        """Up to `limit` unfinished tasks, oldest first, and the cursor to continue (or None)."""
        return self._page(ACTIVE_INDEX, False, limit, cursor)

    def list_recent(
        self, limit: int | None = None, cursor: Cursor | None = None
    ) -> tuple[list[Task], Cursor | None]:
        """Up to `limit` tasks, newest first, and the cursor to continue (or None)."""
        return self._page(LIST_INDEX, True, limit, cursor)


def chunk_for(size: int) -> int:
    """Items asked of each shard per query for a page of `size`: shards fill evenly (ids hash
    uniformly), so twice a fair share keeps refills rare without reading SHARDS pages."""
    return max(4, min(size, -(-2 * size // SHARDS)))

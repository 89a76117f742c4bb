"""Sharded task indexes (issue 13): the list and queue GSIs spread over SHARDS partition keys.

Every task write touches the `all-by-submit` index and every unfinished task's write the
`active-by-submit` one when they project ALL (stacks from before issue 17; KEYS_ONLY, the
default since, is written only when a task enters or leaves an index). With one partition key value each, the whole system
was capped by one index partition (about 1,000 WCU/s: some 500 writes/s of 1-2 KB tasks). Each
task now carries the mark of one of SHARDS shards, chosen from its id (`TASK#3`, `ACTIVE#3`), so
writes spread over SHARDS partitions; the index keys (names and types) are unchanged, so no index
is rebuilt on deploy. Items written before the change keep the bare mark (`TASK`, `ACTIVE`),
which is read as one more shard until the table's TTL has removed them.

A read merges the shards in submitTime order (`merged`): exact and ordered, one query per shard
and page. Its cursor holds a position per shard: the index key of the last task handed out from
that shard, or None for "from its beginning" (never DynamoDB's LastEvaluatedKey, so cutting a
page anywhere skips nothing, and tasks added to a shard meanwhile are still found).
"""

from __future__ import annotations

import heapq
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

SHARDS = 8  # never lowered: tasks already written to a higher shard would vanish from lists

Cursor = dict[str, dict[str, Any] | None]  # mark -> position (index key), None: from the start
Query = Callable[..., dict[str, Any]]  # the DynamoDB client's query
Item = dict[str, Any]  # an index item as DynamoDB answers it (whole, or its keys: KEYS_ONLY)


@dataclass(frozen=True)
class ShardedIndex:
    name: str  # GSI name
    attr: str  # its partition key attribute
    base: str  # the mark before sharding (still read: older items carry it)

    def mark(self, task_id: str) -> str:
        return f"{self.base}#{zlib.crc32(task_id.encode()) % SHARDS}"

    @property
    def marks(self) -> tuple[str, ...]:
        return (self.base, *(f"{self.base}#{n}" for n in range(SHARDS)))

    def item_position(self, item: Item, mark: str) -> dict[str, Any]:
        """The index key of an index item (whole or keys only) in shard `mark`."""
        return {"id": item["id"], self.attr: {"S": mark}, "submitTime": _submit_time(item)}


def _submit_time(item: Item) -> dict[str, str]:
    return item.get("submitTime") or {"N": "0"}


class _Shard:
    def __init__(self, mark: str, start: dict[str, Any] | None) -> None:
        self.mark = mark
        self.buffer: deque[Item] = deque()
        self.position = start  # last task handed out (None: from the beginning)
        self.next_key = start  # where the next query continues
        self.more = True

    @property
    def done(self) -> bool:
        return not self.buffer and not self.more


def merged(
    query: Query,
    table: str,
    index: ShardedIndex,
    newest_first: bool,
    cursor: Cursor | None,
    chunk: int,
) -> Iterator[tuple[Item, Cursor | None]]:
    """Index items of every shard in submitTime order; each with the cursor that continues
    after it (None once every shard is exhausted). `chunk`: items asked of a shard per query.
    Items, not tasks: a KEYS_ONLY index holds only the keys, which order and position need, and
    the caller reads the tasks of a whole page at once (store/tasks.py)."""
    shards = [_Shard(mark, (cursor or {}).get(mark)) for mark in index.marks]

    def fill(shard: _Shard) -> None:
        while not shard.buffer and shard.more:
            kwargs: dict[str, Any] = {
                "TableName": table,
                "IndexName": index.name,
                "KeyConditionExpression": "#m = :m",
                "ExpressionAttributeNames": {"#m": index.attr},
                "ExpressionAttributeValues": {":m": {"S": shard.mark}},
                "ScanIndexForward": not newest_first,
                "Limit": chunk,
            }
            if shard.next_key:
                kwargs["ExclusiveStartKey"] = shard.next_key
            out = query(**kwargs)
            shard.buffer.extend(out.get("Items", []))
            shard.next_key = out.get("LastEvaluatedKey")
            shard.more = shard.next_key is not None

    def order(item: Item) -> int:
        t = int(_submit_time(item)["N"])
        return -t if newest_first else t

    heap: list[tuple[int, int]] = []
    for n, shard in enumerate(shards):
        fill(shard)
        if shard.buffer:
            heap.append((order(shard.buffer[0]), n))
    heapq.heapify(heap)
    while heap:
        _, n = heapq.heappop(heap)
        shard = shards[n]
        item = shard.buffer.popleft()
        shard.position = index.item_position(item, shard.mark)
        fill(shard)
        if shard.buffer:
            heapq.heappush(heap, (order(shard.buffer[0]), n))
        done = all(s.done for s in shards)
        yield item, (None if done else {s.mark: s.position for s in shards})


def valid_cursor(value: Any, index: ShardedIndex) -> bool:
    """A cursor as `merged` hands out: a position or None for every shard of `index`."""
    if not isinstance(value, dict) or set(value) != set(index.marks):
        return False
    for position in value.values():
        if position is None:
            continue
        if not isinstance(position, dict) or not 1 <= len(position) <= 4:
            return False
        for name, av in position.items():
            if not (
                isinstance(name, str)
                and isinstance(av, dict)
                and len(av) == 1
                and next(iter(av)) in ("S", "N")
                and isinstance(next(iter(av.values())), str)
            ):
                return False
    return True

"""The task lists (protocol.md §3.7–§3.9): GET /mj/task/list, POST /mj/task/list-by-condition
(alias /mj/task/list-by-ids) and GET /mj/task/queue.

Every answer is a bare JSON array of Task objects from the one serializer (the lobe plugin and
new-api parse it as an array). Nothing here scans the table: `list` and `queue` query a sharded
GSI one page at a time (store/shards.py merges the shards in order), `list-by-condition` reads its
ids with BatchGetItem in chunks of 100.

Paging (`list` and `queue`): optional query parameters `pageSize` and `cursor`. When more tasks
follow, the response carries the opaque continuation token in the `X-Next-Cursor` header, so the
body stays a bare array; pass it back as `?cursor=` for the next page. No header = last page (a
page may hold fewer tasks than `pageSize`, even none, and still have a cursor).

Bounded answers (Lambda answers at most 6 MB): a page also ends once its JSON would pass
MAX_ANSWER_BYTES (the cursor then continues after the last task sent), and `list-by-condition`
answers the first MAX_IDS distinct ids of a request and no more than MAX_ANSWER_BYTES of tasks,
saying so in `X-Ids-Truncated` (ids left unanswered). new-api sends every unfinished id of a
channel and keeps polling: it gets the oldest first and the rest once those finish, instead of an
error that would stop all its updates.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from .. import wire
from ..domain.task import Task
from ..store.shards import ShardedIndex, valid_cursor
from ..store.tasks import ACTIVE_INDEX, LIST_INDEX, TaskRepository, chunk_for
from .errors import BadRequest
from .http import Request, response
from .tasks import list_view, visible

LIST_PAGE_SIZE = 100
QUEUE_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 1000
MAX_ID_LENGTH = 128  # DynamoDB rejects keys over 2048 bytes; our ids are 16 digits
MAX_IDS = 1000  # per list-by-condition request
MAX_ANSWER_BYTES = 2_000_000  # a third of Lambda's 6 MB response limit
MAX_HIDDEN_PER_PAGE = 1000  # expired tasks skipped before a page ends early (with a cursor)
NEXT_CURSOR_HEADER = "X-Next-Cursor"
IDS_TRUNCATED_HEADER = "X-Ids-Truncated"

Iterate = Callable[[dict | None], Iterator[tuple[Task, dict | None]]]


# ---- cursors --------------------------------------------------------------------------------
def encode_cursor(key: dict[str, Any]) -> str:
    raw = json.dumps(key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(token: str, index: ShardedIndex) -> dict[str, Any]:
    """The per-shard positions inside a cursor; BadRequest unless it is shaped like one."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("invalid cursor") from exc
    if not valid_cursor(key, index):
        raise BadRequest("invalid cursor")
    return key


def page_params(request: Request, default_size: int, index: ShardedIndex) -> tuple[int, Any]:
    """`pageSize` (1..1000, larger values are capped) and `cursor`; BadRequest when malformed."""
    raw_size = (request.query.get("pageSize") or "").strip()
    size = default_size
    if raw_size:
        try:
            size = int(raw_size)
        except ValueError as exc:
            raise BadRequest("pageSize must be an integer") from exc
        if size < 1:
            raise BadRequest("pageSize must be at least 1")
    token = (request.query.get("cursor") or "").strip()
    return min(size, MAX_PAGE_SIZE), (decode_cursor(token, index) if token else None)


def json_size(view: dict[str, Any]) -> int:
    return len(wire.dumps(view).encode()) + 1  # + the comma between array items


def read_page(
    iterate: Iterate, size: int, cursor: dict[str, Any] | None
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Up to `size` visible tasks (as list views, at most MAX_ANSWER_BYTES of JSON) from an index
    and the cursor that continues right after the last task sent (None: nothing follows)."""
    views: list[dict[str, Any]] = []
    used = 2  # "[]"
    hidden = 0
    key = cursor
    try:
        for task, after in iterate(cursor):
            if visible(task):
                view = list_view(task)
                n = json_size(view)
                if views and used + n > MAX_ANSWER_BYTES:
                    return views, key  # continue with this task on the next page
                views.append(view)
                used += n
            else:
                hidden += 1
            key = after
            if len(views) >= size or hidden >= MAX_HIDDEN_PER_PAGE:
                return views, key
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ValidationException" and cursor:
            raise BadRequest("invalid cursor") from exc  # a forged or foreign key
        raise
    return views, None


def paged_response(views: list[dict[str, Any]], key: dict[str, Any] | None) -> dict[str, Any]:
    headers = {"Access-Control-Expose-Headers": NEXT_CURSOR_HEADER}
    if key:
        headers[NEXT_CURSOR_HEADER] = encode_cursor(key)
    return response(200, wire.dumps(views), headers)


# ---- endpoints ------------------------------------------------------------------------------
def task_list(request: Request, repo: TaskRepository | None = None) -> dict[str, Any]:
    """GET /mj/task/list: tasks newest first, `pageSize` (default 100) at a time."""
    repo = repo or TaskRepository()
    size, cursor = page_params(request, LIST_PAGE_SIZE, LIST_INDEX)
    chunk = chunk_for(size)
    return paged_response(*read_page(lambda c: repo.iter_recent(c, chunk), size, cursor))


def task_queue(request: Request, repo: TaskRepository | None = None) -> dict[str, Any]:
    """GET /mj/task/queue: tasks waiting or running, oldest first, from the sparse active index.
    The index only holds unfinished tasks (at most coreSize + queueSize per instance), so the
    default page of 1000 is normally the whole queue."""
    repo = repo or TaskRepository()
    size, cursor = page_params(request, QUEUE_PAGE_SIZE, ACTIVE_INDEX)
    chunk = chunk_for(size)
    return paged_response(*read_page(lambda c: repo.iter_active(c, chunk), size, cursor))


def requested_ids(body: Any) -> list[str]:
    """The ids of a list-by-condition body: strings or numbers (Dooy sends numbers), in request
    order, duplicates dropped. `ids` null, missing or not a list means no ids."""
    values = body.get("ids") if isinstance(body, dict) else None
    if not isinstance(values, list):
        return []
    out: dict[str, None] = {}
    for value in values:
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            text = str(value)
        elif isinstance(value, float) and value.is_integer():
            text = str(int(value))
        elif isinstance(value, str):
            text = value.strip()
        else:
            continue
        if text and len(text) <= MAX_ID_LENGTH:
            out.setdefault(text, None)
    return list(out)


def list_by_condition(
    body: Any, repo: TaskRepository | None = None
) -> tuple[list[dict[str, Any]], int]:
    """POST /mj/task/list-by-condition {"ids": [...]}: the known, unexpired tasks among `ids`,
    and how many of the ids were left unanswered (beyond MAX_IDS or MAX_ANSWER_BYTES).

    Order: tasks still queued or running first, then finished ones (protocol.md §3.8, 2.5+),
    each group in request order."""
    ids = requested_ids(body)
    if not ids:
        return [], 0
    asked, skipped = ids[:MAX_IDS], max(0, len(ids) - MAX_IDS)
    tasks = {t.id: t for t in (repo or TaskRepository()).batch_get(asked) if visible(t)}
    ordered = [tasks[i] for i in asked if i in tasks]
    ordered.sort(key=lambda t: t.terminal)  # stable: request order within each group
    views: list[dict[str, Any]] = []
    used = 2
    for n, task in enumerate(ordered):
        view = list_view(task)
        used += json_size(view)
        if views and used > MAX_ANSWER_BYTES:
            skipped += len(ordered) - n
            break
        views.append(view)
    return views, skipped


def list_by_condition_endpoint(request: Request) -> dict[str, Any]:
    body = request.json()  # malformed JSON or no body: HTTP 400
    if not isinstance(body, dict):
        raise BadRequest("JSON body must be an object")
    views, skipped = list_by_condition(body)
    headers = {"Access-Control-Expose-Headers": IDS_TRUNCATED_HEADER}
    if skipped:
        headers[IDS_TRUNCATED_HEADER] = str(skipped)
    return response(200, wire.dumps(views), headers)

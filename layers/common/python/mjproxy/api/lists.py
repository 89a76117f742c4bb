"""The task lists (protocol.md §3.7–§3.9): GET /mj/task/list, POST /mj/task/list-by-condition
(alias /mj/task/list-by-ids) and GET /mj/task/queue.

Every answer is a bare JSON array of Task objects from the one serializer (the lobe plugin and
new-api parse it as an array). Nothing here scans the table: `list` and `queue` query a GSI one
page at a time, `list-by-condition` reads its ids with BatchGetItem in chunks of 100.

Paging (`list` and `queue`): optional query parameters `pageSize` and `cursor`. When more tasks
follow, the response carries the opaque continuation token in the `X-Next-Cursor` header, so the
body stays a bare array; pass it back as `?cursor=` for the next page. No header = last page (a
page may hold fewer tasks than `pageSize`, even none, and still have a cursor).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from .. import wire
from ..domain.task import Task
from ..store.tasks import TaskRepository
from .errors import BadRequest
from .http import Request, response
from .tasks import list_view, visible

LIST_PAGE_SIZE = 100
QUEUE_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 1000
MAX_QUERIES_PER_PAGE = 10  # hidden (expired) tasks may need a few more reads to fill a page
MAX_ID_LENGTH = 128  # DynamoDB rejects keys over 2048 bytes; our ids are 16 digits
NEXT_CURSOR_HEADER = "X-Next-Cursor"

Query = Callable[..., tuple[list[Task], dict | None]]


# ---- cursors --------------------------------------------------------------------------------
def encode_cursor(key: dict[str, Any]) -> str:
    raw = json.dumps(key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(token: str) -> dict[str, Any]:
    """The DynamoDB key inside a cursor; BadRequest unless it is shaped like one."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("invalid cursor") from exc
    if not isinstance(key, dict) or not 1 <= len(key) <= 4:
        raise BadRequest("invalid cursor")
    for name, value in key.items():
        if not (
            isinstance(name, str)
            and isinstance(value, dict)
            and len(value) == 1
            and next(iter(value)) in ("S", "N")
            and isinstance(next(iter(value.values())), str)
        ):
            raise BadRequest("invalid cursor")
    return key


def page_params(request: Request, default_size: int) -> tuple[int, dict[str, Any] | None]:
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
    return min(size, MAX_PAGE_SIZE), (decode_cursor(token) if token else None)


def read_page(
    query: Query, size: int, cursor: dict[str, Any] | None
) -> tuple[list[Task], dict[str, Any] | None]:
    """Up to `size` visible tasks from an index query, and the key to continue after them.

    Each query asks for no more items than still fit (DynamoDB's Limit counts evaluated items),
    so the continuation key never skips a task."""
    found: list[Task] = []
    key = cursor
    for _ in range(MAX_QUERIES_PER_PAGE):
        try:
            tasks, key = query(limit=size - len(found), cursor=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ValidationException" and cursor:
                raise BadRequest("invalid cursor") from exc  # a forged or foreign key
            raise
        found.extend(t for t in tasks if visible(t))
        if key is None or len(found) >= size:
            break
    return found, key


def paged_response(tasks: list[Task], key: dict[str, Any] | None) -> dict[str, Any]:
    headers = {"Access-Control-Expose-Headers": NEXT_CURSOR_HEADER}
    if key:
        headers[NEXT_CURSOR_HEADER] = encode_cursor(key)
    return response(200, wire.dumps([list_view(t) for t in tasks]), headers)


# ---- endpoints ------------------------------------------------------------------------------
def task_list(request: Request, repo: TaskRepository | None = None) -> dict[str, Any]:
    """GET /mj/task/list: tasks newest first, `pageSize` (default 100) at a time."""
    repo = repo or TaskRepository()
    size, cursor = page_params(request, LIST_PAGE_SIZE)
    return paged_response(*read_page(repo.list_recent, size, cursor))


def task_queue(request: Request, repo: TaskRepository | None = None) -> dict[str, Any]:
    """GET /mj/task/queue: tasks waiting or running, oldest first, from the sparse active index.
    The index only holds unfinished tasks (at most coreSize + queueSize per instance), so the
    default page of 1000 is normally the whole queue."""
    repo = repo or TaskRepository()
    size, cursor = page_params(request, QUEUE_PAGE_SIZE)
    return paged_response(*read_page(repo.list_active, size, cursor))


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


def list_by_condition(body: Any, repo: TaskRepository | None = None) -> list[dict[str, Any]]:
    """POST /mj/task/list-by-condition {"ids": [...]}: the known, unexpired tasks among `ids`.

    Order: tasks still queued or running first, then finished ones (protocol.md §3.8, 2.5+),
    each group in request order."""
    ids = requested_ids(body)
    if not ids:
        return []
    tasks = {t.id: t for t in (repo or TaskRepository()).batch_get(ids) if visible(t)}
    ordered = [tasks[i] for i in ids if i in tasks]
    ordered.sort(key=lambda t: t.terminal)  # stable: request order within each group
    return [list_view(t) for t in ordered]


def list_by_condition_endpoint(request: Request) -> list[dict[str, Any]]:
    body = request.json()  # malformed JSON or no body: HTTP 400
    if not isinstance(body, dict):
        raise BadRequest("JSON body must be an object")
    return list_by_condition(body)

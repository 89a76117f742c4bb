"""GET /mj/task/list, POST /mj/task/list-by-condition (+ list-by-ids), GET /mj/task/queue on moto:
bare arrays, order, paging with X-Next-Cursor, batched reads, hidden expired tasks."""

from __future__ import annotations

import base64
import json
import random

import pytest

from tests.scenarios import fetch, run_to_end, submit_ok

BASE_ID = 1_700_000_000_000_000
BASE_MS = 1_700_000_000_000


def make_tasks(n: int, *, start: int = 0, status: str = "SUCCESS", expired: bool = False):
    """n tasks written straight to the table; task i was submitted at BASE_MS + i seconds."""
    from mjproxy.domain.task import Task, TaskAction, TaskStatus, now_ms
    from mjproxy.store.tasks import TaskRepository

    repo = TaskRepository()
    ids = []
    for i in range(start, start + n):
        task_id = str(BASE_ID + i)
        expires = now_ms() // 1000 + (-60 if expired else 86400)
        repo.create(
            Task(
                id=task_id,
                action=TaskAction.IMAGINE,
                status=TaskStatus(status),
                prompt=f"p{i}",
                description=f"/imagine p{i}",
                submitTime=BASE_MS + i * 1000,
                expiresAt=expires,
            )
        )
        ids.append(task_id)
    return ids


def ids_of(response) -> list[str]:
    assert response.status == 200, response.text
    body = response.json()
    assert isinstance(body, list)
    return [t["id"] for t in body]


# ---- list -------------------------------------------------------------------------------------
def test_list_is_a_bare_array_newest_first(system):
    assert system.get("/mj/task/list").json() == []
    first = submit_ok(system, "/mj/submit/imagine", {"prompt": "one"})
    second = submit_ok(system, "/mj/submit/imagine", {"prompt": "two"})
    r = system.get("/mj/task/list")
    assert r.text.startswith("[")
    tasks = r.json()
    assert {t["id"] for t in tasks} == {first, second}
    assert [t["submitTime"] for t in tasks] == sorted(
        (t["submitTime"] for t in tasks), reverse=True
    )
    assert tasks[0]["description"] in ("/imagine one", "/imagine two")
    assert "X-Next-Cursor" not in r.headers


def test_list_pages_follow_the_cursor_header(system):
    ids = make_tasks(25)
    newest_first = list(reversed(ids))
    pages, cursor = [], None
    for _ in range(10):
        path = "/mj/task/list?pageSize=10" + (f"&cursor={cursor}" if cursor else "")
        r = system.get(path)
        pages.append(ids_of(r))
        cursor = r.headers.get("X-Next-Cursor")
        assert r.headers["Access-Control-Expose-Headers"] == "X-Next-Cursor"
        if not cursor:
            break
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [i for p in pages for i in p] == newest_first


def test_list_default_page_is_100_and_page_size_is_capped(system):
    make_tasks(105)
    r = system.get("/mj/task/list")
    assert len(ids_of(r)) == 100 and r.headers.get("X-Next-Cursor")
    rest = system.get(f"/mj/task/list?cursor={r.headers['X-Next-Cursor']}")
    assert ids_of(rest) == [str(BASE_ID + i) for i in range(4, -1, -1)]
    r = system.get("/mj/task/list?pageSize=5000")
    assert len(ids_of(r)) == 105 and "X-Next-Cursor" not in r.headers


@pytest.mark.parametrize(
    "query",
    [
        "pageSize=0",
        "pageSize=-3",
        "pageSize=ten",
        "cursor=%%%",
        "cursor=bm90LWpzb24",  # base64 of "not-json"
        "cursor=" + base64.urlsafe_b64encode(b'{"id":1}').decode(),
        "cursor=" + base64.urlsafe_b64encode(b"[1,2]").decode(),
    ],
)
def test_list_rejects_bad_paging_parameters_with_400(system, query):
    r = system.get(f"/mj/task/list?{query}")
    assert r.status == 400 and r.json()["status"] == 400


def test_list_answers_400_when_dynamodb_rejects_a_cursor(system, monkeypatch):
    """A well-formed token holding a key of another table or index: DynamoDB answers
    ValidationException (moto does not check), which is the client's fault, not a 500."""
    from botocore.exceptions import ClientError

    from mjproxy.store.tasks import LIST_INDEX, TaskRepository

    def query(self, cursor=None, chunk=100):
        error = {"Error": {"Code": "ValidationException", "Message": "invalid start key"}}
        raise ClientError(error, "Query")

    monkeypatch.setattr(TaskRepository, "iter_recent", query)
    forged = {"id": {"S": "1"}, "gsiList": {"S": "OTHER"}, "nope": {"S": "x"}}
    cursor = {mark: None for mark in LIST_INDEX.marks} | {"TASK#0": forged}
    token = base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode().rstrip("=")
    assert system.get(f"/mj/task/list?cursor={token}").status == 400
    assert system.get("/mj/task/list").status == 500  # without a cursor it is our fault


def test_list_hides_expired_tasks(system):
    live = make_tasks(3)
    make_tasks(4, start=10, expired=True)
    assert sorted(ids_of(system.get("/mj/task/list"))) == live
    r = system.get("/mj/task/list?pageSize=2")
    assert ids_of(r) == [live[2], live[1]]


def test_list_is_a_query_never_a_scan(system):
    from mjproxy import aws

    make_tasks(5)
    calls = []
    aws.client("dynamodb").meta.events.register(
        "before-call.dynamodb.*", lambda model, **kw: calls.append(model.name)
    )
    system.get("/mj/task/list")
    system.get("/mj/task/queue")
    # The indexes hold keys only (TaskIndexProjection): each page's tasks are then read by key.
    assert calls and set(calls) == {"Query", "BatchGetItem"}


def test_lists_answer_whole_tasks_from_key_only_indexes(system):
    """The template's indexes project KEYS_ONLY: list and queue still answer whole tasks, and
    the queue leaves out a task that finished after the index was read."""
    from mjproxy import aws
    from mjproxy.domain.task import TaskStatus
    from mjproxy.store.tasks import ACTIVE_INDEX, TaskRepository

    ids = make_tasks(3, status="IN_PROGRESS")
    out = aws.client("dynamodb").describe_table(TableName=TaskRepository().table)["Table"]
    assert {g["Projection"]["ProjectionType"] for g in out["GlobalSecondaryIndexes"]} == {
        "KEYS_ONLY"
    }
    listed = system.get("/mj/task/list").json()
    assert [t["id"] for t in listed] == ids[::-1]
    assert [t["id"] for t in system.get("/mj/task/queue").json()] == ids
    assert all(t["prompt"] and t["status"] and t["submitTime"] for t in listed)
    repo = TaskRepository()
    entries = [({"id": {"S": i}, ACTIVE_INDEX.attr: {"S": "ACTIVE"}}, None) for i in ids]
    finished = repo.update(ids[0], {"status": "SUCCESS"}, from_status=[TaskStatus.IN_PROGRESS])
    assert [t.id for t, _ in repo._hydrate(entries, active_only=True)] == ids[1:]
    assert [t.id for t, _ in repo._hydrate(entries, active_only=False)] == ids
    assert finished.status == TaskStatus.SUCCESS


# ---- list-by-condition ------------------------------------------------------------------------
def test_list_by_condition_1000_mixed_ids_in_batches_of_100(system):
    from mjproxy import aws

    known = make_tasks(300)
    rng = random.Random(4)
    unknown = [str(BASE_ID + 10_000 + i) for i in range(700)]
    ids: list = []
    for n, task_id in enumerate(known + unknown):
        ids.append(int(task_id) if n % 2 else task_id)  # strings and numbers, as Dooy sends
    rng.shuffle(ids)
    assert len(ids) == 1000

    batches = []
    aws.client("dynamodb").meta.events.register(
        "before-parameter-build.dynamodb.BatchGetItem",
        lambda params, **kw: batches.append(
            sum(len(v["Keys"]) for v in params["RequestItems"].values())
        ),
    )
    r = system.post("/mj/task/list-by-condition", {"ids": ids})
    found = ids_of(r)
    assert sorted(found) == sorted(known)
    assert len(found) == len(set(found))
    assert batches == [100] * 10
    # All finished: request order.
    expected = [str(i) for i in ids if str(i) in set(known)]
    assert found == expected
    assert all(isinstance(t["submitTime"], int) for t in r.json())


def test_list_by_condition_puts_queued_and_running_tasks_first(system):
    done = make_tasks(3, status="SUCCESS")
    failed = make_tasks(1, start=3, status="FAILURE")
    waiting = make_tasks(2, start=4, status="NOT_START")
    running = make_tasks(1, start=6, status="IN_PROGRESS")
    request = [done[0], waiting[1], failed[0], running[0], done[2], waiting[0], done[1]]
    found = ids_of(system.post("/mj/task/list-by-condition", {"ids": request}))
    assert found == [waiting[1], running[0], waiting[0], done[0], failed[0], done[2], done[1]]


@pytest.mark.parametrize(
    "body",
    [{}, {"ids": None}, {"ids": []}, {"ids": "1700000000000000000"}, {"ids": {"a": 1}}, {"x": 1}],
)
def test_list_by_condition_without_a_list_of_ids_is_empty(system, body):
    make_tasks(2)
    r = system.post("/mj/task/list-by-condition", body)
    assert r.status == 200 and r.text == "[]"


def test_list_by_condition_ignores_duplicates_blanks_and_odd_values(system):
    ids = make_tasks(2)
    body = {"ids": [ids[0], int(ids[0]), " ", "", None, True, {"id": ids[1]}, "x" * 5000, ids[1]]}
    assert ids_of(system.post("/mj/task/list-by-condition", body)) == ids


def test_list_by_condition_bad_bodies_are_http_400(system):
    for body in ("{not json", "", "[1,2]"):
        r = system.post("/mj/task/list-by-condition", body)
        assert r.status == 400 and r.json()["status"] == 400


def test_list_by_ids_is_an_alias(system):
    ids = make_tasks(3)
    body = {"ids": [ids[2], "123", int(ids[0])]}
    a = system.post("/mj/task/list-by-condition", body)
    b = system.post("/mj/task/list-by-ids", body)
    assert a.text == b.text and ids_of(b) == [ids[2], ids[0]]


def test_list_by_condition_hides_expired_tasks(system):
    live = make_tasks(2)
    gone = make_tasks(2, start=5, expired=True)
    assert ids_of(system.post("/mj/task/list-by-condition", {"ids": gone + live})) == live


def test_list_by_condition_shows_live_tasks_as_fetch_does(system):
    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "a cat", "state": "s"})
    run_to_end(system, task_id)
    (listed,) = system.post("/mj/task/list-by-condition", {"ids": [int(task_id)]}).json()
    fetched = fetch(system, task_id)
    for t in (listed, fetched):
        t.pop("imageUrl")
        t.pop("imageUrls")
    assert listed == fetched


# ---- queue ------------------------------------------------------------------------------------
def test_queue_lists_waiting_and_running_tasks_oldest_first(system):
    make_tasks(2, status="SUCCESS")
    make_tasks(1, start=2, status="FAILURE")
    waiting = make_tasks(2, start=3, status="NOT_START")
    running = make_tasks(1, start=5, status="IN_PROGRESS")
    submitted = make_tasks(1, start=6, status="SUBMITTED")
    make_tasks(1, start=7, status="NOT_START", expired=True)
    r = system.get("/mj/task/queue")
    assert ids_of(r) == waiting + running + submitted
    assert "X-Next-Cursor" not in r.headers


def test_queue_follows_real_tasks_until_they_finish(system):
    a = submit_ok(system, "/mj/submit/imagine", {"prompt": "a"})
    b = submit_ok(system, "/mj/submit/imagine", {"prompt": "b"})
    queue = system.get("/mj/task/queue").json()
    assert [t["id"] for t in queue] == [a, b]
    assert {t["status"] for t in queue} == {"NOT_START"}
    system.drain()
    assert system.get("/mj/task/queue").json() == []


def test_queue_pages(system):
    waiting = make_tasks(5, status="NOT_START")
    r = system.get("/mj/task/queue?pageSize=3")
    assert ids_of(r) == waiting[:3]
    r = system.get(f"/mj/task/queue?pageSize=3&cursor={r.headers['X-Next-Cursor']}")
    assert ids_of(r) == waiting[3:]


def test_lists_do_not_show_callback_urls_but_fetch_does(system):
    hook = "https://client.example/cb?token=abc"
    task_id = system.post("/mj/submit/imagine", {"prompt": "a fox", "notifyHook": hook}).json()[
        "result"
    ]
    assert system.get(f"/mj/task/{task_id}/fetch").json()["properties"]["notifyHook"] == hook
    listed = system.post("/mj/task/list-by-condition", {"ids": [task_id]}).json()
    assert listed[0]["id"] == task_id and "notifyHook" not in listed[0]["properties"]
    assert all("notifyHook" not in t["properties"] for t in system.get("/mj/task/list").json())
    assert all("notifyHook" not in t["properties"] for t in system.get("/mj/task/queue").json())

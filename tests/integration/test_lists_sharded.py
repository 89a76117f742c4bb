"""Sharded list and queue indexes and bounded answers (issue 13 items 4 and 5): writes spread over
several index partitions, answers stay exact and ordered across shards and pages, and no answer
grows past the byte budget (Lambda answers at most 6 MB)."""

from __future__ import annotations

import boto3
import pytest

from mjproxy.api import lists
from mjproxy.domain.task import Task, TaskAction, TaskStatus, now_ms
from mjproxy.store.shards import SHARDS
from mjproxy.store.tasks import ACTIVE_INDEX, LIST_INDEX, TaskRepository
from tests.integration.test_endpoints_lists import BASE_ID, BASE_MS, ids_of, make_tasks


def pages(system, path: str) -> list[list[str]]:
    out, cursor = [], None
    for _ in range(200):
        sep = "&" if "?" in path else "?"
        r = system.get(path + (f"{sep}cursor={cursor}" if cursor else ""))
        out.append(ids_of(r))
        cursor = r.headers.get("X-Next-Cursor")
        if not cursor:
            return out
    raise AssertionError("paging never ended")


def index_marks(system, attr: str) -> set[str]:
    table = system.template.physical["TasksTable"]
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]  # test inspection only
    return {it[attr]["S"] for it in items if attr in it}


def test_tasks_spread_over_every_shard_of_both_indexes(system):
    make_tasks(200, status="NOT_START")
    assert index_marks(system, "gsiList") == set(LIST_INDEX.marks) - {"TASK"}
    assert index_marks(system, "gsiActive") == set(ACTIVE_INDEX.marks) - {"ACTIVE"}
    assert len(LIST_INDEX.marks) == SHARDS + 1


def test_list_pages_are_exact_and_newest_first_across_shards(system):
    ids = make_tasks(157)
    got = pages(system, "/mj/task/list?pageSize=10")
    assert [len(p) for p in got] == [10] * 15 + [7]
    assert sum(got, []) == ids[::-1]


def test_queue_pages_are_exact_and_oldest_first_across_shards(system):
    ids = make_tasks(64, status="NOT_START")
    make_tasks(20, start=100, status="SUCCESS")  # finished: not in the queue
    got = pages(system, "/mj/task/queue?pageSize=7")
    assert sum(got, []) == ids
    assert ids_of(system.get("/mj/task/queue")) == ids


def test_tasks_written_before_sharding_are_still_listed_in_order(system):
    sharded = make_tasks(6)
    table = system.template.physical["TasksTable"]
    legacy = str(BASE_ID + 3_500)  # submitted between sharded[3] and sharded[4]
    TaskRepository().create(
        Task(id=legacy, action=TaskAction.IMAGINE, status=TaskStatus.NOT_START,
             submitTime=BASE_MS + 3_500, expiresAt=now_ms() // 1000 + 86400)
    )  # fmt: skip
    boto3.client("dynamodb").update_item(
        TableName=table,
        Key={"id": {"S": legacy}},
        UpdateExpression="SET gsiList = :l, gsiActive = :a",
        ExpressionAttributeValues={":l": {"S": "TASK"}, ":a": {"S": "ACTIVE"}},
    )
    expected = sharded[:4] + [legacy] + sharded[4:]
    assert sum(pages(system, "/mj/task/list?pageSize=2"), []) == expected[::-1]
    assert ids_of(system.get("/mj/task/queue")) == [legacy]


def test_a_task_added_while_paging_the_queue_is_not_skipped(system):
    first = make_tasks(5, status="NOT_START")
    r = system.get("/mj/task/queue?pageSize=3")
    assert ids_of(r) == first[:3]
    later = make_tasks(3, start=50, status="NOT_START")
    rest = system.get(f"/mj/task/queue?pageSize=100&cursor={r.headers['X-Next-Cursor']}")
    assert ids_of(rest) == first[3:] + later


def test_list_pages_are_cut_by_bytes_with_a_cursor_to_the_rest(system, monkeypatch):
    ids = make_tasks(30)
    one = len(system.get("/mj/task/list?pageSize=1").text)
    monkeypatch.setattr(lists, "MAX_ANSWER_BYTES", one * 4)
    got = pages(system, "/mj/task/list?pageSize=1000")
    assert all(0 < len(p) <= 4 for p in got) and len(got) >= 8
    assert sum(got, []) == ids[::-1]  # nothing lost, nothing twice
    for p in got[:-1]:
        assert len(p) >= 3  # cut by bytes, not by a page size


def test_queue_pages_are_cut_by_bytes_with_a_cursor_to_the_rest(system, monkeypatch):
    # The queue's default page is 1000 tasks: a long backlog of big tasks must still fit.
    ids = make_tasks(20, status="NOT_START")
    one = len(system.get("/mj/task/queue?pageSize=1").text)
    monkeypatch.setattr(lists, "MAX_ANSWER_BYTES", one * 4)
    got = pages(system, "/mj/task/queue")
    assert all(0 < len(p) <= 4 for p in got) and len(got) >= 5
    assert sum(got, []) == ids  # oldest first, nothing lost, nothing twice


def test_list_by_condition_answers_at_most_max_ids_and_says_how_many_were_left(
    system, monkeypatch
):
    ids = make_tasks(12)
    monkeypatch.setattr(lists, "MAX_IDS", 5)
    r = system.post("/mj/task/list-by-condition", {"ids": ids})
    assert ids_of(r) == ids[:5]
    assert r.headers["X-Ids-Truncated"] == "7"
    small = system.post("/mj/task/list-by-condition", {"ids": ids[:5]})
    assert ids_of(small) == ids[:5] and "X-Ids-Truncated" not in small.headers


def test_list_by_condition_is_cut_by_bytes_unfinished_first(system, monkeypatch):
    done = make_tasks(6)
    waiting = make_tasks(3, start=20, status="NOT_START")
    one = len(system.post("/mj/task/list-by-condition", {"ids": done[:1]}).text)
    monkeypatch.setattr(lists, "MAX_ANSWER_BYTES", one * 5)
    r = system.post("/mj/task/list-by-condition", {"ids": done + waiting})
    found = ids_of(r)
    assert found[:3] == waiting and set(found[3:]) <= set(done)
    assert 3 < len(found) < 9
    assert r.headers["X-Ids-Truncated"] == str(9 - len(found))
    assert len(r.text) <= one * 5


@pytest.mark.parametrize("pageSize", [1, 5, 100])
def test_a_page_reads_each_shard_once_when_the_shards_are_even(system, pageSize):
    from mjproxy import aws

    make_tasks(400)
    calls = []
    aws.client("dynamodb").meta.events.register(
        "before-call.dynamodb.Query", lambda model, **kw: calls.append(model.name)
    )
    assert len(ids_of(system.get(f"/mj/task/list?pageSize={pageSize}"))) == pageSize
    # One query per shard (and the pre-sharding mark); a shard that runs short may need one more.
    assert SHARDS + 1 <= len(calls) <= 2 * (SHARDS + 1)

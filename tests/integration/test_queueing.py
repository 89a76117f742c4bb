"""The waiting queue (issue 13, mjproxy.queueing): a waiting task has no job, the next one starts
when a running task ends (first come, first served), and the counters stay exact under duplicate
deliveries, crashes between steps and concurrent finishes. The sweeper repairs lost events."""

from __future__ import annotations

import json

import pytest

from mjproxy import config, jobs, queueing
from mjproxy.domain import codes
from mjproxy.domain.task import Task, TaskAction, TaskStatus, now_ms
from mjproxy.store.instances import InstancePool
from mjproxy.store.tasks import TaskRepository
from mjproxy.sweeper import Sweeper
from mjproxy.worker import Worker
from tests.scenarios import fetch, run_to_end, submit_ok

MINUTE = 60_000


def one_instance(monkeypatch, core: int, queue: int = 50, timeout: int = 5) -> None:
    instance = {"id": "local-1", "coreSize": core, "queueSize": queue, "timeoutMinutes": timeout}
    monkeypatch.setenv("MJ_INSTANCES", json.dumps([instance]))
    config.reset()


@pytest.fixture
def sent(monkeypatch) -> list[jobs.Job]:
    """Every job sent to the jobs queue, in order (the messages a backlog costs)."""
    out: list[jobs.Job] = []
    real = jobs.send

    def spy(job, delay_seconds=0, queue_url=None):
        out.append(job)
        real(job, delay_seconds, queue_url)

    monkeypatch.setattr(jobs, "send", spy)
    return out


def starts(sent: list[jobs.Job]) -> list[str]:
    return [j.taskId for j in sent if j.step == jobs.START]


def counters() -> dict[str, list[str]]:
    return InstancePool().counters("local-1")


def button(task: dict, needle: str) -> str:
    return next(b["customId"] for b in task["buttons"] if needle in b["customId"])


def submit_many(system, n: int) -> list[str]:
    return [submit_ok(system, "/mj/submit/imagine", {"prompt": f"cat {i}"}) for i in range(n)]


def test_waiting_tasks_have_no_job_and_start_in_submit_order_as_slots_free(
    system, monkeypatch, sent
):
    one_instance(monkeypatch, core=2)
    ids = submit_many(system, 6)
    assert starts(sent) == ids[:2]  # the four waiting tasks cost no message
    assert sorted(counters()["running"]) == sorted(ids[:2])
    system.drain()
    assert starts(sent) == ids  # each started once, first come first served
    assert [fetch(system, i)["status"] for i in ids] == ["SUCCESS"] * 6
    assert counters() == {"active": [], "running": []}


def test_a_backlog_costs_no_more_messages_per_task_than_an_idle_pool(system, monkeypatch, sent):
    one_instance(monkeypatch, core=1)
    submit_many(system, 1)
    system.drain()
    idle = len(sent)
    sent.clear()
    ids = submit_many(system, 8)
    system.drain()
    assert [fetch(system, i)["status"] for i in ids] == ["SUCCESS"] * 8
    assert len(sent) == idle * 8


def test_any_way_of_ending_starts_the_next_one(system, monkeypatch, sent):
    one_instance(monkeypatch, core=1)
    first, second = submit_many(system, 2)
    repo = TaskRepository()
    assert Worker().fail(repo.get(first), "account disabled") is not None
    assert starts(sent) == [first, second]
    assert counters()["running"] == [second]


def test_the_hook_is_idempotent_under_duplicate_deliveries(system, monkeypatch, sent):
    one_instance(monkeypatch, core=1)
    first, second, third = submit_many(system, 3)
    repo = TaskRepository()
    ended = Worker().fail(repo.get(first), "ended")
    queueing.task_ended(ended)  # the same "task ended" event delivered again
    queueing.task_ended(ended)
    assert starts(sent) == [first, second]
    assert counters() == {"active": sorted([second, third]), "running": [second]}


def test_concurrent_finishes_start_each_waiting_task_once_and_fill_every_slot(
    system, monkeypatch, sent
):
    one_instance(monkeypatch, core=2)
    a, b, w1, w2, w3 = submit_many(system, 5)
    pool = InstancePool()
    repo = TaskRepository()
    # Both running tasks end at the same moment; each release sees its own counters.
    for task_id in (a, b):
        repo.update(task_id, {"status": TaskStatus.FAILURE}, from_status=[TaskStatus.NOT_START])
    after_a = pool.release(repo.get(a))
    after_b = pool.release(repo.get(b))
    # The later one acts first, then the earlier one with its stale view.
    queueing.start_waiting("local-1", after_b, pool=pool)
    queueing.start_waiting("local-1", after_a, pool=pool)
    assert starts(sent) == [a, b, w1, w2]
    assert counters() == {"active": sorted([w1, w2, w3]), "running": sorted([w1, w2])}


def test_a_crash_between_the_slot_claim_and_its_start_job_is_repaired(system, monkeypatch):
    one_instance(monkeypatch, core=1)
    real = jobs.send

    def lost(job, delay_seconds=0, queue_url=None):
        if job.step != jobs.START:
            real(job, delay_seconds, queue_url)

    monkeypatch.setattr(jobs, "send", lost)
    first, second = submit_many(system, 2)  # first's start job is lost on the way
    monkeypatch.setattr(jobs, "send", real)
    system.drain()
    assert counters()["running"] == [first]
    assert fetch(system, first)["status"] == "NOT_START"
    # Within the grace a slow start is not doubled; after it the sweeper re-sends the job.
    assert Sweeper(clock=now_ms).run().restarted == []
    later = now_ms() + queueing.START_GRACE_MS + 1
    assert Sweeper(clock=lambda: later).run().restarted == [first]
    system.drain()
    assert [fetch(system, i)["status"] for i in (first, second)] == ["SUCCESS", "SUCCESS"]
    assert counters() == {"active": [], "running": []}


def test_a_lost_task_ended_event_is_repaired_by_the_sweeper(system, monkeypatch, sent):
    one_instance(monkeypatch, core=1)
    first, second = submit_many(system, 2)
    repo = TaskRepository()
    # The task ended but the process died before its slot was released and the next started.
    repo.update(first, {"status": TaskStatus.FAILURE}, from_status=[TaskStatus.NOT_START])
    report = Sweeper(clock=now_ms).run()
    assert report.repaired == {"local-1": [first]} and report.started == [second]
    system.drain()
    assert fetch(system, second)["status"] == "SUCCESS"


def test_a_waiting_task_that_lost_its_place_gets_it_back_from_the_sweeper(
    system, monkeypatch, sent
):
    one_instance(monkeypatch, core=1)
    running, waiting = submit_many(system, 2)
    pool = InstancePool()
    # Its submit failed after the task was written and released the place: in no counter.
    pool.release(TaskRepository().get(waiting))
    young = Sweeper(clock=now_ms).run()  # a submit between its reserve and its write is young
    assert young.requeued == [] and counters()["active"] == [running]
    system.drain()  # the running task ends and starts nobody: the waiting one is not counted
    assert fetch(system, waiting)["status"] == "NOT_START" and starts(sent) == [running]
    report = Sweeper(clock=lambda: now_ms() + 3 * MINUTE).run()
    assert report.requeued == [waiting] and report.started == [waiting]
    system.drain()
    assert fetch(system, waiting)["status"] == "SUCCESS"
    assert starts(sent) == [running, waiting]


def test_the_run_timeout_counts_from_the_slot_and_the_wait_limit_from_the_submit(
    system, monkeypatch
):
    monkeypatch.setenv("MJ_NOT_START_TIMEOUT_MINUTES", "30")
    one_instance(monkeypatch, core=1, timeout=5)
    first, second = submit_many(system, 2)  # first's start job never runs (not drained)
    submitted = fetch(system, second)["submitTime"]
    report = Sweeper(clock=lambda: submitted + 10 * MINUTE).run()
    # first held its slot for 10 minutes: timed out; second only waited: not yet.
    assert report.timed_out == [first] and report.not_started == []
    assert fetch(system, first)["failReason"] == codes.TIMEOUT_REASON
    assert counters()["running"] == [second]  # started when first ended


def test_a_waiting_task_fails_after_its_wait_limit_saying_it_waited(system, monkeypatch):
    monkeypatch.setenv("MJ_NOT_START_TIMEOUT_MINUTES", "45")
    one_instance(monkeypatch, core=1, timeout=60)
    _, waiting = submit_many(system, 2)
    submitted = fetch(system, waiting)["submitTime"]
    assert Sweeper(clock=lambda: submitted + 45 * MINUTE).run().not_started == []
    assert Sweeper(clock=lambda: submitted + 45 * MINUTE + 1).run().not_started == [waiting]
    final = fetch(system, waiting)
    assert final["status"] == "FAILURE"
    assert final["failReason"] == "任务超时: 排队超过45分钟仍未开始"


def test_queue_positions_match_the_order_tasks_start_in(system, monkeypatch, sent):
    one_instance(monkeypatch, core=2, queue=5)
    answers = [system.post("/mj/submit/imagine", {"prompt": f"p{i}"}).json() for i in range(8)]
    assert [a["code"] for a in answers] == [1, 1, 1, 22, 22, 22, 22, 23]
    assert [a["properties"].get("numberOfQueues") for a in answers[3:7]] == [1, 2, 3, 4]
    assert answers[3]["description"] == "排队中，前面还有1个任务"
    ids = [a["result"] for a in answers[:7]]
    queue = system.get("/mj/task/queue").json()
    assert [t["id"] for t in queue] == ids
    system.drain()
    assert starts(sent) == ids


def test_a_position_counts_only_the_tasks_the_queue_starts_first(system, monkeypatch, sent):
    # Concurrent submits reach the counters out of id order: a task reserved a moment earlier
    # with a later id is behind this one in the queue, so it is not counted ahead of it.
    one_instance(monkeypatch, core=1)
    instance = config.settings().instances[0]
    pool = InstancePool()
    base = now_ms()
    running, early, late, last = (f"{base + n}000" for n in (0, 1, 2, 3))
    assert pool.reserve(instance, running).ahead == 0
    assert pool.claim_slot(instance, running, base)
    assert pool.reserve(instance, late).ahead == 0
    assert pool.reserve(instance, early).ahead == 0  # `late` arrived first but starts after it
    assert pool.reserve(instance, last).ahead == 2
    pool.release(Task(id=running, action=TaskAction.IMAGINE, instanceId="local-1"))
    assert queueing.start_waiting("local-1", pool=pool)[0] == [early]


def test_a_confirmed_modal_is_told_its_real_place(system, monkeypatch, sent):
    # A MODAL task keeps the id of its creation, so once confirmed it waits before the tasks
    # submitted after it was created: its answer says so, and it starts first.
    grid = run_to_end(system, submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"}))
    one_instance(monkeypatch, core=1)
    u1 = {"taskId": grid["id"], "customId": button(grid, "::upsample::1::")}
    up = system.post("/mj/submit/action", u1)
    upscale = run_to_end(system, up.json()["result"])
    zoom = {"taskId": upscale["id"], "customId": button(upscale, "MJ::CustomZoom::")}
    modal = system.post("/mj/submit/action", zoom).json()["result"]
    running, w1, w2 = submit_many(system, 3)
    r = system.post("/mj/submit/modal", {"taskId": modal, "prompt": "a fox --zoom 1.5"}).json()
    assert (r["code"], r["result"]) == (1, modal)  # nobody waits before it
    assert [t["id"] for t in system.get("/mj/task/queue").json()] == [modal, running, w1, w2]
    system.drain()
    assert starts(sent)[-4:] == [running, modal, w1, w2]


def test_two_submits_drawing_the_same_id_keep_both_places(system, monkeypatch, sent):
    # Ids are submit ms + three random digits: 2 of 1,000 concurrent submits drew one twice in
    # bench/backlog.py. The second must take another id without freeing the first one's place,
    # else the first task exists, never starts and is counted nowhere.
    from mjproxy.api import submit

    one_instance(monkeypatch, core=1)
    base = now_ms()
    drawn = iter([f"{base}001", f"{base}002", f"{base}002", f"{base}003"])
    monkeypatch.setattr(submit, "new_task_id", lambda ms=None: next(drawn))
    running, first, second = submit_many(system, 3)
    assert (first, second) == (f"{base}002", f"{base}003")
    assert counters() == {"active": [running, first, second], "running": [running]}
    system.drain()
    assert [fetch(system, i)["status"] for i in (running, first, second)] == ["SUCCESS"] * 3
    assert starts(sent) == [running, first, second]

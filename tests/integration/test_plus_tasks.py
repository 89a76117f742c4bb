"""Plus-API task routes and Task extras on moto in-process: cancel, image-seed, botType,
accountFilter and per-instance modes (plus-api.md §2.1, §2.1.4, §2.3; issue 16)."""

from __future__ import annotations

import json

import pytest

from tests.scenarios import fetch, image_of, run_to_end, submit_ok

EXTRAS = ("botType", "parentId", "seed", "mode", "videoUrl", "videoUrls")


def env(r) -> dict:
    assert r.status == 200, r.text
    return r.json()


def counters(instance_id: str = "local-1") -> dict:
    from mjproxy.store.instances import InstancePool

    return InstancePool().counters(instance_id)


def test_task_json_always_carries_the_plus_extras(system):
    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"})
    waiting = fetch(system, task_id)
    assert {name: waiting[name] for name in EXTRAS} == {
        "botType": "MID_JOURNEY", "parentId": None, "seed": None, "mode": None,
        "videoUrl": None, "videoUrls": None,
    }  # fmt: skip
    assert waiting["properties"]["finalZhPrompt"] is None
    done = run_to_end(system, task_id)
    assert done["seed"].isdigit()  # a string, as trueai sends it
    assert done["parentId"] is None and done["videoUrls"] is None
    # Compact JSON, so new-api's literal string replacements keep working.
    assert '"seed":"' in system.get(f"/mj/task/{task_id}/fetch").text


def test_children_carry_parent_id_bot_type_and_mode(system):
    parent = submit_ok(
        system, "/mj-relax/mj/submit/imagine", {"prompt": "a fox", "botType": "NIJI_JOURNEY"}
    )
    run_to_end(system, parent)
    child = submit_ok(
        system, "/mj/submit/change", {"taskId": parent, "action": "UPSCALE", "index": 1}
    )
    task = run_to_end(system, child)
    assert (task["parentId"], task["botType"], task["mode"]) == (parent, "NIJI_JOURNEY", "RELAX")


def test_unknown_bot_type_is_code_4(system):
    out = env(system.post("/mj/submit/imagine", {"prompt": "a", "botType": "DALL_E"}))
    assert (out["code"], out["description"]) == (4, "botType参数错误")


# ---- cancel --------------------------------------------------------------------------------
def test_cancel_a_waiting_task_ends_it_and_frees_its_place(system):
    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"})
    assert task_id in counters()["active"]
    out = env(system.post(f"/mj/task/{task_id}/cancel"))
    assert (out["code"], out["description"], out["result"]) == (1, "成功", task_id)
    task = fetch(system, task_id)
    assert (task["status"], task["progress"], task["failReason"]) == ("CANCEL", "100%", "取消任务")
    assert task["finishTime"] is not None
    assert task_id not in counters()["active"]
    # The job still in the queue must not bring it back to life.
    system.drain()
    assert fetch(system, task_id)["status"] == "CANCEL"
    assert task_id not in counters()["active"] + counters()["running"]


def test_cancel_a_running_task_never_turns_success(system):
    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"})
    for _ in range(3):
        system.deliver_once()
    running = fetch(system, task_id)
    assert running["status"] in ("SUBMITTED", "IN_PROGRESS"), running
    assert task_id in counters()["running"]
    assert env(system.post(f"/mj/task/{task_id}/cancel"))["code"] == 1
    assert task_id not in counters()["running"]
    system.drain()
    task = fetch(system, task_id)
    assert task["status"] == "CANCEL" and task["imageUrl"] is None


def test_cancel_frees_the_slot_for_the_next_waiting_task(system, monkeypatch):
    from mjproxy import config

    monkeypatch.setenv("MJ_INSTANCES", json.dumps([{"id": "solo", "coreSize": 1}]))
    config.reset()
    first = submit_ok(system, "/mj/submit/imagine", {"prompt": "one"})
    system.deliver_once()  # first takes the only slot
    second = submit_ok(system, "/mj/submit/imagine", {"prompt": "two"})
    system.deliver_once()
    assert fetch(system, second)["status"] == "NOT_START"
    env(system.post(f"/mj/task/{first}/cancel"))
    assert run_to_end(system, second)["status"] == "SUCCESS"


def test_cancel_finished_or_unknown_task(system):
    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"})
    run_to_end(system, task_id)
    out = env(system.post(f"/mj/task/{task_id}/cancel"))
    assert (out["code"], out["description"]) == (4, "关联任务状态错误")
    assert fetch(system, task_id)["status"] == "SUCCESS"
    out = env(system.post("/mj/task/1234567890123456/cancel"))
    assert (out["code"], out["description"]) == (3, "关联任务不存在或已失效")


def test_cancel_under_a_speed_prefix(system):
    task_id = submit_ok(system, "/mj-fast/mj/submit/imagine", {"prompt": "a fox"})
    assert env(system.post(f"/mj-fast/mj/task/{task_id}/cancel"))["code"] == 1


# ---- image-seed ----------------------------------------------------------------------------
def test_image_seed_reproduces_the_image_on_the_same_provider(system):
    first = submit_ok(system, "/mj/submit/imagine", {"prompt": "a lighthouse at dusk"})
    done = run_to_end(system, first)
    out = env(system.get(f"/mj/task/{first}/image-seed"))
    assert (out["code"], out["description"]) == (1, "成功")
    seed = out["result"]
    assert seed.isdigit() and seed == done["seed"]
    again = submit_ok(
        system, "/mj-relax/mj/submit/imagine", {"prompt": f"a lighthouse at dusk --seed {seed}"}
    )
    redo = run_to_end(system, again)
    assert env(system.get(f"/mj-relax/mj/task/{again}/image-seed"))["result"] == seed
    assert image_of(redo["imageUrl"]).tobytes() == image_of(done["imageUrl"]).tobytes()


def test_image_seed_of_unfinished_or_unknown_task(system):
    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"})
    out = env(system.get(f"/mj/task/{task_id}/image-seed"))
    assert (out["code"], out["description"]) == (4, "关联任务状态错误")
    out = env(system.get("/mj/task/1234567890123456/image-seed"))
    assert (out["code"], out["description"]) == (3, "关联任务不存在或已失效")


# ---- accountFilter and per-instance modes --------------------------------------------------
@pytest.fixture
def pool(system, monkeypatch):
    from mjproxy import config

    instances = [
        {"id": "fast-only", "allowModes": ["FAST"], "remix": True},
        {"id": "relax-only", "allowModes": ["RELAX"], "enableNiji": False},
        {"id": "fallback", "allowModes": ["RELAX"], "enableFastToRelax": True, "enableMj": False},
    ]
    monkeypatch.setenv("MJ_INSTANCES", json.dumps(instances))
    config.reset()
    return system


def instance_of(system, path, body) -> str:
    out = env(system.post(path, body))
    assert out["code"] == 1, out
    return fetch(system, out["result"])["properties"]["discordInstanceId"]


def test_account_filter_picks_the_instance(pool):
    body = {"prompt": "a", "accountFilter": {"instanceId": "relax-only"}}
    assert instance_of(pool, "/mj/submit/imagine", body) == "relax-only"
    body = {"prompt": "a", "accountFilter": {"remix": True}}
    assert instance_of(pool, "/mj/submit/imagine", body) == "fast-only"
    body = {"prompt": "a", "accountFilter": {"modes": ["FAST"]}}
    assert instance_of(pool, "/mj/submit/imagine", body) == "fast-only"


def test_no_matching_instance_is_code_3(pool):
    for body in (
        {"prompt": "a", "accountFilter": {"instanceId": "nope"}},
        {"prompt": "a", "accountFilter": {"modes": ["TURBO"]}},
    ):
        out = env(pool.post("/mj/submit/imagine", body))
        assert (out["code"], out["description"]) == (3, "无可用的账号实例"), body
    out = env(pool.post("/mj-turbo/mj/submit/imagine", {"prompt": "a"}))
    assert out["code"] == 3


def test_speed_prefix_routes_to_instances_that_allow_it(pool):
    assert instance_of(pool, "/mj-relax/mj/submit/imagine", {"prompt": "a"}) == "relax-only"
    niji = {"prompt": "a", "botType": "NIJI_JOURNEY"}
    # relax-only does not serve Niji, so the only RELAX instance left is `fallback`.
    out = env(pool.post("/mj-relax/mj/submit/imagine", niji))
    task = fetch(pool, out["result"])
    assert (task["properties"]["discordInstanceId"], task["mode"]) == ("fallback", "RELAX")


def test_fast_to_relax_fallback_records_the_mode_it_runs_in(pool, monkeypatch):
    from mjproxy import config

    monkeypatch.setenv(
        "MJ_INSTANCES",
        json.dumps([{"id": "fallback", "allowModes": ["RELAX"], "enableFastToRelax": True}]),
    )
    config.reset()
    out = env(pool.post("/mj-fast/mj/submit/imagine", {"prompt": "a"}))
    task = fetch(pool, out["result"])
    assert (task["mode"], task["properties"]["mode"]) == ("RELAX", "RELAX")


def test_the_openapi_document_is_served_without_a_secret(system, monkeypatch):
    from mjproxy.api import auth

    monkeypatch.setenv("MJ_API_SECRET", "s3cret")
    auth.api_secret.cache_clear()
    assert system.get("/mj/task/1234567890123456/fetch").status == 401
    for path in ("/mj/openapi.json", "/mj-relax/mj/openapi.json"):
        r = system.get(path)
        assert r.status == 200
        doc = json.loads(r.text)
        assert doc["openapi"].startswith("3.") and "/mj/task/{id}/cancel" in doc["paths"]
    auth.api_secret.cache_clear()

"""Checks at submit: banned words (code 24), translation of CJK prompts, and the optional
duplicate-upscale detection (code 21)."""

from __future__ import annotations

import boto3
import pytest

from mjproxy import config, translate
from mjproxy.domain.task import TaskStatus, now_ms
from mjproxy.store.instances import InstancePool
from mjproxy.store.tasks import TaskRepository
from tests.scenarios import fetch, submit_ok


def nothing_was_created(system) -> None:
    assert TaskRepository().list_recent(limit=10)[0] == []
    assert InstancePool().counters("local-1") == {"active": [], "running": []}
    jobs = system.template.physical["JobsQueue"]
    assert boto3.client("sqs").receive_message(QueueUrl=jobs).get("Messages", []) == []


# ---- banned words (code 24) ----------------------------------------------------------------


def test_a_banned_word_is_code_24_with_the_prompt_and_the_word_and_no_task(system):
    r = system.post("/mj/submit/imagine", {"prompt": "A NUDE portrait --ar 2:3"})
    assert r.status == 200
    assert r.json() == {
        "code": 24,
        "description": "可能包含敏感词",
        "result": None,
        "properties": {"promptEn": "A NUDE portrait --ar 2:3", "bannedWord": "NUDE"},
    }
    nothing_was_created(system)


def test_banned_words_match_whole_words_only(system):
    submit_ok(system, "/mj/submit/imagine", {"prompt": "the nudelman bakery, bloodhound puppy"})


def test_the_check_applies_under_the_speed_prefixes_too(system):
    r = system.post("/mj-relax/mj/submit/imagine", {"prompt": "naked tree in winter"})
    assert r.json()["code"] == 24 and r.json()["properties"]["bannedWord"] == "naked"


def test_the_check_can_be_turned_off(system, monkeypatch):
    monkeypatch.setenv("MJ_BANNED_WORDS_ENABLED", "false")
    config.reset()
    submit_ok(system, "/mj/submit/imagine", {"prompt": "naked tree in winter"})


# ---- translation ---------------------------------------------------------------------------


class Fake:
    words = {"一只猫": "a cat", "裸体雕像": "nude statue", "狗": "dog"}

    def translate(self, text: str) -> str:
        return self.words[text.strip()]


@pytest.fixture
def translating(system, monkeypatch):
    monkeypatch.setattr(translate, "configured_translator", lambda: Fake())
    return system


def test_a_cjk_prompt_is_translated_into_prompt_en(translating):
    task_id = submit_ok(translating, "/mj/submit/imagine", {"prompt": "一只猫 --no 狗 --ar 16:9"})
    task = fetch(translating, task_id)
    assert task["prompt"] == "一只猫 --no 狗 --ar 16:9"
    assert task["promptEn"] == "a cat --no dog --ar 16:9"
    assert task["description"] == "/imagine 一只猫 --no 狗 --ar 16:9"


def test_the_banned_word_check_reads_the_translation(translating):
    r = translating.post("/mj/submit/imagine", {"prompt": "裸体雕像 --ar 1:1"})
    assert r.json()["code"] == 24
    assert r.json()["properties"] == {"promptEn": "nude statue --ar 1:1", "bannedWord": "nude"}


def test_a_translator_failure_keeps_the_prompt_and_never_500s(system, monkeypatch):
    class Down:
        def translate(self, text: str) -> str:
            raise TimeoutError("translator timed out")

    monkeypatch.setattr(translate, "configured_translator", lambda: Down())
    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "一只猫 --ar 16:9"})
    assert fetch(system, task_id)["promptEn"] == "一只猫 --ar 16:9"


def test_without_a_translator_prompt_en_is_the_prompt(system):
    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "一只猫 --ar 16:9"})
    assert fetch(system, task_id)["promptEn"] == "一只猫 --ar 16:9"


# ---- duplicate upscale (code 21) -----------------------------------------------------------


@pytest.fixture
def grid(system) -> str:
    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"})
    system.drain()
    assert fetch(system, task_id)["status"] == "SUCCESS"
    return task_id


def upscale(system, parent: str, index: int = 1) -> dict:
    r = system.post("/mj/submit/change", {"taskId": parent, "action": "UPSCALE", "index": index})
    assert r.status == 200
    return r.json()


def dedupe_on(monkeypatch) -> None:
    monkeypatch.setenv("MJ_DUPLICATE_UPSCALE", "true")
    config.reset()


def test_duplicates_are_allowed_by_default(system, grid):
    first, second = upscale(system, grid), upscale(system, grid)
    assert first["code"] in (1, 22) and second["code"] in (1, 22)
    assert first["result"] != second["result"]


def test_a_second_identical_upscale_is_code_21_with_the_existing_task(system, grid, monkeypatch):
    dedupe_on(monkeypatch)
    first = upscale(system, grid, 2)
    assert first["code"] == 1
    again = upscale(system, grid, 2)
    assert again == {
        "code": 21,
        "description": "任务已存在",
        "result": first["result"],
        "properties": {"status": "NOT_START", "imageUrl": ""},
    }
    system.drain()
    done = upscale(system, grid, 2)
    assert done["code"] == 21 and done["result"] == first["result"]
    assert done["properties"]["status"] == "SUCCESS"
    assert isinstance(done["properties"]["imageUrl"], str) and done["properties"]["imageUrl"]
    # simple-change is the same request in another form.
    r = system.post("/mj/submit/simple-change", {"content": f"{grid} U2"})
    assert r.json()["code"] == 21 and r.json()["result"] == first["result"]


def test_other_quadrants_and_variations_are_not_duplicates(system, grid, monkeypatch):
    dedupe_on(monkeypatch)
    assert upscale(system, grid, 1)["code"] == 1
    assert upscale(system, grid, 3)["code"] in (1, 22)
    body = {"taskId": grid, "action": "VARIATION", "index": 1}
    assert system.post("/mj/submit/change", body).json()["code"] in (1, 22)
    assert system.post("/mj/submit/change", body).json()["code"] in (1, 22)


def test_a_failed_upscale_does_not_count(system, grid, monkeypatch):
    dedupe_on(monkeypatch)
    first = upscale(system, grid, 4)["result"]
    TaskRepository().update(
        first,
        {
            "status": TaskStatus.FAILURE,
            "progress": "100%",
            "failReason": "x",
            "finishTime": now_ms(),
        },
        from_status=[TaskStatus.NOT_START],
    )
    retry = upscale(system, grid, 4)
    assert retry["code"] == 1 and retry["result"] != first
    assert upscale(system, grid, 4)["result"] == retry["result"]  # the retry is now the one


def test_a_rejected_upscale_leaves_no_claim_behind(system, grid, monkeypatch):
    """Code 23 creates no task; the next submit must not be told it exists."""
    dedupe_on(monkeypatch)
    monkeypatch.setenv("MJ_INSTANCES", '[{"id": "local-1", "coreSize": 1, "queueSize": 0}]')
    config.reset()
    blocker = upscale(system, grid, 1)
    assert blocker["code"] == 1
    rejected = upscale(system, grid, 3)
    assert rejected["code"] == 23
    system.drain()
    assert upscale(system, grid, 3)["code"] == 1

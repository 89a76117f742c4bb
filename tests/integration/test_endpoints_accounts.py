"""GET /mj/account/list and /mj/account/{id}/fetch on moto: the original's fields plus live
counters, and never a token or other secret from the instance configuration."""

from __future__ import annotations

import json

import pytest

from tests.scenarios import submit_ok

SECRETS = ("secret-token-xyz", "sk-abc123", "hunter2", "nested-secret")
INSTANCES = [
    {
        "id": "acc-1",
        "guildId": "1118138338562560000",
        "channelId": "1118138338562560102",
        "userToken": "secret-token-xyz",
        "userAgent": "Mozilla/5.0 test",
        "coreSize": 2,
        "queueSize": 5,
        "timeoutMinutes": 9,
        "apiKey": "sk-abc123",
        "properties": {"token": "nested-secret"},
    },
    {"id": "acc-2", "enable": False, "password": "hunter2", "userAgent": {"not": "a string"}},
]
FIELDS = {
    "id", "guildId", "channelId", "userAgent", "enable", "coreSize", "queueSize",
    "timeoutMinutes", "properties", "runningCount", "waitingCount",
}  # fmt: skip


@pytest.fixture
def accounts(system, monkeypatch):
    from mjproxy import config

    monkeypatch.setenv("MJ_INSTANCES", json.dumps(INSTANCES))
    config.reset()
    return system


def test_account_list_shows_the_original_fields_and_no_secret(accounts):
    r = accounts.get("/mj/account/list")
    assert r.status == 200
    for secret in SECRETS + ("userToken", "apiKey", "password"):
        assert secret not in r.text
    listed = r.json()
    assert [a["id"] for a in listed] == ["acc-1", "acc-2"]
    assert all(set(a) == FIELDS for a in listed)
    assert listed[0] == {
        "id": "acc-1",
        "guildId": "1118138338562560000",
        "channelId": "1118138338562560102",
        "userAgent": "Mozilla/5.0 test",
        "enable": True,
        "coreSize": 2,
        "queueSize": 5,
        "timeoutMinutes": 9,
        "properties": {"provider": "local"},
        "runningCount": 0,
        "waitingCount": 0,
    }
    disabled = listed[1]
    assert disabled["enable"] is False
    assert (disabled["guildId"], disabled["channelId"], disabled["userAgent"]) == (None, None, None)
    assert (disabled["coreSize"], disabled["queueSize"], disabled["timeoutMinutes"]) == (3, 10, 5)


def test_account_fetch_and_unknown_id(accounts):
    r = accounts.get("/mj/account/acc-1/fetch")
    assert r.status == 200 and r.json()["id"] == "acc-1"
    assert not any(secret in r.text for secret in SECRETS)
    assert accounts.get("/mj/account/acc-2/fetch").json()["enable"] is False
    r = accounts.get("/mj/account/nope/fetch")
    assert r.status == 200 and r.text == "null"


def test_account_counters_are_live(accounts):
    ids = [submit_ok(accounts, "/mj/submit/imagine", {"prompt": f"p{i}"}) for i in range(3)]
    acc = accounts.get("/mj/account/acc-1/fetch").json()
    # Submit claims a free slot at once (mjproxy.queueing): coreSize 2 runs two, one waits.
    assert (acc["runningCount"], acc["waitingCount"]) == (2, 1)
    accounts.deliver_once()
    acc = accounts.get("/mj/account/acc-1/fetch").json()
    assert acc["runningCount"] + acc["waitingCount"] <= 3
    assert 1 <= acc["runningCount"] <= 2  # coreSize really limits running tasks
    accounts.drain()
    acc = accounts.get("/mj/account/acc-1/fetch").json()
    assert (acc["runningCount"], acc["waitingCount"]) == (0, 0)
    listed = accounts.get("/mj/account/list").json()
    assert [(a["runningCount"], a["waitingCount"]) for a in listed] == [(0, 0), (0, 0)]
    assert len(ids) == 3


def test_default_single_instance(system):
    (only,) = system.get("/mj/account/list").json()
    assert only["id"] == "local-1" and only["enable"] is True
    assert system.get("/mj/account/local-1/fetch").json() == only

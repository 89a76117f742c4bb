"""POST /mj/account/{id}/enable on moto through the real handler: an account disabled at run
time (store/instances.py InstancePool.disable, as a Discord 401 does) is back in service; an
unknown id is code 3, one disabled in configuration stays so (code 4, saying why)."""

from __future__ import annotations

import json

import pytest

from mjproxy.domain import codes
from mjproxy.store.instances import InstancePool
from tests.integration.test_auth import SECRET, assert_401, use_secret

ACCOUNTS = [
    {"channelId": "c0", "guildId": "g", "userToken": "t0", "provider": "midjourney"},
    {"channelId": "c1", "guildId": "g", "userToken": "t1", "provider": "midjourney",
     "enable": False},
    {"id": "local-1", "provider": "local"},
]  # fmt: skip


@pytest.fixture
def accounts(system, monkeypatch):
    from mjproxy import config

    monkeypatch.setenv("MJ_INSTANCES", json.dumps(ACCOUNTS))
    config.reset()
    pool = InstancePool()
    pool.disable(pool.instance("c0"), "401: Unauthorized")
    return system


def listed(system) -> dict[str, dict]:
    return {a["id"]: a for a in system.get("/mj/account/list").json()}


def test_a_disabled_account_is_enabled_again(accounts):
    before = listed(accounts)["c0"]
    assert before["enable"] is False
    assert before["properties"]["disabledReason"] == "401: Unauthorized"
    assert before["properties"]["disabledBy"] == "runtime"
    r = accounts.post("/mj/account/c0/enable", {})
    assert r.status == 200
    assert r.json() == {"code": 1, "description": "成功", "result": "c0", "properties": {}}
    after = accounts.get("/mj/account/c0/fetch").json()
    assert after["enable"] is True
    assert "disabledReason" not in after["properties"] and "disabledBy" not in after["properties"]
    assert [i.id for i in InstancePool().enabled()] == ["c0", "local-1"]


def test_enable_under_a_speed_prefix_and_without_a_body(accounts):
    r = accounts.post("/mj-relax/mj/account/c0/enable", None)
    assert r.json()["code"] == 1
    assert listed(accounts)["c0"]["enable"] is True


def test_an_account_in_service_answers_success_and_stays_so(accounts):
    for _ in range(2):
        assert accounts.post("/mj/account/local-1/enable", {}).json()["code"] == 1
    assert listed(accounts)["local-1"]["enable"] is True


def test_an_unknown_account_is_code_3(accounts):
    r = accounts.post("/mj/account/nope/enable", {}).json()
    assert (r["code"], r["description"]) == (codes.NOT_FOUND, "账号不存在")
    assert accounts.post("/mj/account/%20/enable", {}).json()["code"] == codes.NOT_FOUND


def test_an_account_disabled_in_configuration_cannot_be_enabled_at_run_time(accounts):
    r = accounts.post("/mj/account/c1/enable", {}).json()
    assert r["code"] == codes.VALIDATION_ERROR
    assert "c1" in r["description"] and "disabled in configuration" in r["description"]
    c1 = listed(accounts)["c1"]
    assert c1["enable"] is False and c1["properties"]["disabledBy"] == "configuration"


def test_enable_needs_the_secret(accounts, monkeypatch):
    use_secret(monkeypatch, MJ_API_SECRET=SECRET)
    assert_401(accounts.post("/mj/account/c0/enable", {}))
    assert listed_with(accounts)["c0"]["enable"] is False
    r = accounts.post("/mj/account/c0/enable", {}, headers={"mj-api-secret": SECRET})
    assert r.json()["code"] == 1


def listed_with(system) -> dict[str, dict]:
    r = system.get("/mj/account/list", headers={"mj-api-secret": SECRET})
    return {a["id"]: a for a in r.json()}

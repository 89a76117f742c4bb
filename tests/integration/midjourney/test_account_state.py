"""What lives on an account's item in the instances table: the run-time disable (with the
credentials fingerprint), pacing, the poller lease. And where accounts come from."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from mjproxy import config
from mjproxy.config import Instance
from mjproxy.providers.midjourney.state import DiscordState, PollerState
from mjproxy.store.instances import InstancePool
from tests.harness import reset_caches

TABLE = "instances-test"


@pytest.fixture
def pool(monkeypatch):
    monkeypatch.setenv("INSTANCES_TABLE_NAME", TABLE)
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName=TABLE,
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        reset_caches()
        yield InstancePool(TABLE)


def accounts(monkeypatch, *tokens: str) -> None:
    items = [{"channelId": f"c{n}", "guildId": "g", "userToken": t, "provider": "midjourney"}
             for n, t in enumerate(tokens)]  # fmt: skip
    monkeypatch.setenv("MJ_INSTANCES", json.dumps(items))
    reset_caches()


def test_disable_takes_an_account_out_until_its_token_changes(monkeypatch, pool):
    accounts(monkeypatch, "t0", "t1")
    assert [i.id for i in pool.enabled()] == ["c0", "c1"]
    pool.disable(pool.instance("c0"), "401: Unauthorized")
    assert [i.id for i in pool.enabled()] == ["c1"]
    assert pool.instance("c0").enable is False
    assert pool.disabled_reason("c0") == "401: Unauthorized"
    accounts(monkeypatch, "t0-rotated", "t1")
    assert [i.id for i in pool.enabled()] == ["c0", "c1"]
    accounts(monkeypatch, "t0", "t1")
    pool.enable("c0")
    assert pool.instance("c0").enable is True


def test_the_account_list_says_why_an_account_is_disabled(monkeypatch, pool):
    from mjproxy.api.accounts import account_list

    items = [
        {"channelId": "c0", "guildId": "g", "userToken": "t0", "provider": "midjourney"},
        {"channelId": "c1", "guildId": "g", "userToken": "t1", "provider": "midjourney",
         "enable": False},
        {"channelId": "c2", "guildId": "g", "userToken": "t2", "provider": "midjourney"},
    ]  # fmt: skip
    monkeypatch.setenv("MJ_INSTANCES", json.dumps(items))
    reset_caches()
    pool.disable(pool.instance("c0"), "401: Unauthorized")
    listed = {a["id"]: a for a in account_list(pool)}
    assert listed["c0"]["enable"] is False
    assert listed["c0"]["properties"]["disabledReason"] == "401: Unauthorized"
    assert listed["c1"]["properties"]["disabledReason"] == "disabled in configuration"
    assert listed["c2"]["enable"] is True and "disabledReason" not in listed["c2"]["properties"]


def test_pacing_claims_one_interaction_per_interval(pool):
    assert pool.claim_interaction("c0", 3, now_ms=10_000) == 0
    assert pool.claim_interaction("c0", 3, now_ms=11_000) == pytest.approx(2.0)
    assert pool.claim_interaction("c0", 3, now_ms=13_000) == 0
    assert pool.claim_interaction("c0", 0, now_ms=13_001) == 0


def test_the_poller_lease_admits_one_chain(pool):
    state = DiscordState(pool)
    far = 10**15
    assert state.acquire_lease("c0", "a", far)
    assert not state.acquire_lease("c0", "b", far)  # a live lease blocks a second chain
    assert state.read("c0").lease == "a"
    assert state.rotate_lease("c0", "a", "a2", far, PollerState(after="123"))
    assert not state.rotate_lease("c0", "a", "a3", far, PollerState())  # a duplicate loses
    item = state.read("c0")
    assert item.lease == "a2" and item.poller.after == "123"
    assert not state.release_lease("c0", "a", PollerState())
    assert state.release_lease("c0", "a2", item.poller)
    assert state.acquire_lease("c0", "b", far)
    # An expired lease (a dead chain) can be taken over.
    assert state.acquire_lease("c1", "x", 1) and state.acquire_lease("c1", "y", far)


def test_instances_from_a_secrets_manager_secret(monkeypatch):
    with mock_aws():
        arn = boto3.client("secretsmanager").create_secret(
            Name="mjproxy/instances",
            SecretString=json.dumps({"instances": [
                {"channelId": "555", "guildId": "g", "userToken": "secret", "coreSize": 2}]}),
        )["ARN"]  # fmt: skip
        monkeypatch.delenv("MJ_INSTANCES", raising=False)
        monkeypatch.setenv("MJ_INSTANCES_SECRET_ARN", arn)
        config.reset()
        (inst,) = config.settings().instances
        assert (inst.id, inst.coreSize, inst.settings["userToken"]) == ("555", 2, "secret")
        assert "secret" not in repr(inst)
    config.reset()


def test_instances_from_a_file(monkeypatch, tmp_path):
    path = tmp_path / "instances.json"
    path.write_text(json.dumps([{"channelId": "7", "guildId": "g", "userToken": "t"}]))
    monkeypatch.delenv("MJ_INSTANCES", raising=False)
    monkeypatch.setenv("MJ_INSTANCES_FILE", str(path))
    config.reset()
    assert [i.id for i in config.settings().instances] == ["7"]
    config.reset()


def test_fingerprint_hides_the_token():
    inst = Instance(id="c", settings={"userToken": "abc"})
    assert "abc" not in InstancePool.fingerprint(inst) and len(InstancePool.fingerprint(inst)) == 16

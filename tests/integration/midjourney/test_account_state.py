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


def _raw(account_id: str) -> dict:
    return boto3.client("dynamodb").get_item(
        TableName=TABLE, Key={"id": {"S": account_id}}, ConsistentRead=True
    ).get("Item", {})


def test_retired_keys_live_on_their_own_item_written_only_when_they_change(pool):
    state = DiscordState(pool)
    assert state.acquire_lease("c0", "a", 10**15)
    poller = state.read("c0").poller
    state.load_retired("c0", poller)
    poller.retire("ix-1", "job-1")
    assert state.rotate_lease("c0", "a", "b", 10**15, poller)
    assert "retired" not in _raw("c0")["pollerState"]["S"]  # the account item stays small
    stored = json.loads(_raw("c0#retired")["retiredKeys"]["S"])
    assert stored == ["ix-1", "job-1"] and _raw("c0#retired")["accountId"]["S"] == "c0"
    # A run that retires nothing does not write the retired item.
    rev = _raw("c0#retired")["retiredRev"]["N"]
    again = state.read("c0").poller
    state.load_retired("c0", again)
    assert again.retired == ["ix-1", "job-1"] and not again.retired_dirty
    assert state.rotate_lease("c0", "b", "c", 10**15, again)
    assert _raw("c0#retired")["retiredRev"]["N"] == rev


def test_two_writers_of_the_retired_keys_merge_instead_of_losing_one(pool):
    state = DiscordState(pool)
    first, second = PollerState(), PollerState()
    state.load_retired("c0", first)
    state.load_retired("c0", second)  # both read the same revision (a duplicated delivery)
    first.retire("a")
    second.retire("b")
    state.save_retired("c0", first)
    state.save_retired("c0", second)  # its conditional write fails, it reads, merges, writes
    assert json.loads(_raw("c0#retired")["retiredKeys"]["S"]) == ["a", "b"]


def test_retired_keys_are_capped_oldest_first(pool):
    state = DiscordState(pool)
    poller = PollerState()
    state.load_retired("c0", poller)
    poller.retire(*(f"k{i}" for i in range(PollerState.RETIRED_MAX + 5)))
    state.save_retired("c0", poller)
    stored = json.loads(_raw("c0#retired")["retiredKeys"]["S"])
    assert len(stored) == PollerState.RETIRED_MAX and stored[0] == "k5"


def test_an_older_state_with_retired_keys_inside_is_moved_once(pool):
    db = boto3.client("dynamodb")
    old = {"after": "5", "retired": ["old-1", "old-2"], "unclaimed": {}, "readAt": 1}
    db.put_item(TableName=TABLE, Item={"id": {"S": "c0"}, "pollerLease": {"S": "a"},
                                       "pollerLeaseUntil": {"N": str(10**15)},
                                       "pollerState": {"S": json.dumps(old)}})  # fmt: skip
    state = DiscordState(pool)
    item = state.read("c0")
    assert item.poller.retired == ["old-1", "old-2"] and item.poller.after == "5"
    # Even a run that reads no message (so never loads the retired item) moves them.
    assert state.rotate_lease("c0", "a", "b", 10**15, item.poller)
    assert "old-1" not in _raw("c0")["pollerState"]["S"]
    assert json.loads(_raw("c0#retired")["retiredKeys"]["S"]) == ["old-1", "old-2"]
    fresh = state.read("c0").poller
    assert fresh.retired == [] and fresh.after == "5"
    state.load_retired("c0", fresh)
    assert fresh.retired == ["old-1", "old-2"]


def test_the_command_index_moves_from_the_account_item_to_its_own(pool):
    db = boto3.client("dynamodb")
    index = {"imagine": {"id": "1", "version": "2", "app": "3"}}
    db.put_item(TableName=TABLE, Item={"id": {"S": "c0"}, "running": {"SS": ["t1"]},
                                       "discordCommands": {"S": json.dumps(index)},
                                       "discordCommandsAt": {"N": "1234"}})  # fmt: skip
    state = DiscordState(pool)
    assert state.load_commands("c0") == (index, 1234)
    assert "discordCommands" not in _raw("c0") and _raw("c0")["running"]["SS"] == ["t1"]
    assert state.load_commands("c0") == (index, 1234)  # now from c0#commands
    state.store_commands("c0", {})
    assert state.load_commands("c0")[0] == {} and "discordCommands" not in _raw("c0")
    assert DiscordState(pool).load_commands("c9") == ({}, 0)


def test_an_instance_id_may_not_name_an_accounts_other_item(monkeypatch):
    monkeypatch.setenv("MJ_INSTANCES", json.dumps([{"id": "c0#retired", "provider": "local"}]))
    config.reset()
    with pytest.raises(config.ConfigError, match="must not contain"):
        assert not config.settings().instances
    config.reset()


def test_the_gateway_set_is_moved_to_the_retired_item_by_the_next_lease_write(pool):
    """cancel.py adds a sent task's job keys to the account item's gateway set; on a REST-polled
    account nothing else ever empties it, so the poller moves them to the retired item (which
    both readers consult) and the account item stays small. A key added after this run read the
    item stays in the set for the next run."""
    state = DiscordState(pool)
    assert state.acquire_lease("c0", "a", 10**15)
    state.retire_gateway("c0", ["cancelled-ix", "cancelled-job"])
    item = state.read("c0")
    assert item.gateway_retired == {"cancelled-ix", "cancelled-job"}
    state.retire_gateway("c0", ["late-key"])  # after this run's read
    assert state.rotate_lease("c0", "a", "b", 10**15, item.poller, item.gateway_retired)
    assert _raw("c0")["gatewayRetired"]["SS"] == ["late-key"]
    fresh = state.read("c0")
    state.load_retired("c0", fresh.poller)
    assert fresh.poller.retired == ["cancelled-ix", "cancelled-job"]
    assert state.release_lease("c0", "b", fresh.poller, fresh.gateway_retired)
    assert "gatewayRetired" not in _raw("c0")
    assert json.loads(_raw("c0#retired")["retiredKeys"]["S"]) == [
        "cancelled-ix", "cancelled-job", "late-key"]


def test_a_run_that_lost_the_lease_leaves_the_gateway_set_alone(pool):
    state = DiscordState(pool)
    assert state.acquire_lease("c0", "a", 10**15)
    state.retire_gateway("c0", ["k"])
    item = state.read("c0")
    assert not state.rotate_lease("c0", "stale", "b", 10**15, item.poller, item.gateway_retired)
    assert _raw("c0")["gatewayRetired"]["SS"] == ["k"]

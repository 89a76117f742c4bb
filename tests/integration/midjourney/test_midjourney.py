"""The `midjourney` provider against the simulator, on moto in-process (no sockets: the
simulator's transport is injected). The same client-level scenarios as the local provider
(imagine, U1–U4, V1–V4, reroll, describe, blend, reference images), then what goes wrong with
Discord: concurrency with identical prompts, 429 storms, stale command versions, Midjourney's
error embeds, a revoked token."""

from __future__ import annotations

import json

import boto3
import pytest

from mjproxy.store.instances import InstancePool
from mjproxy.store.tasks import TaskRepository
from tests.integration.midjourney.conftest import SIM_BASE, make_system
from tests.scenarios import data_url, fetch, png_bytes, run_to_end, submit_ok


# ---- helpers ---------------------------------------------------------------------------------
def stored(task_id: str, key_attr: str = "imageKey") -> bytes:
    task = TaskRepository().get(task_id)
    key = getattr(task, key_attr)
    bucket = __import__("os").environ["BUCKET_NAME"]
    return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def sim_job(mj, task_id: str):
    task = fetch(mj, task_id)
    job = mj.sim.job_for_nonce(task["properties"]["nonce"])
    assert job is not None, task
    return job


def change(mj, task_id: str, action: str, index: int | None = None) -> str:
    body = {"taskId": task_id, "action": action}
    if index is not None:
        body["index"] = index
    return submit_ok(mj, "/mj/submit/change", body)


def imagine(mj, prompt: str, **extra) -> str:
    return submit_ok(mj, "/mj/submit/imagine", {"prompt": prompt, **extra})


# ---- the scenario suite ------------------------------------------------------------------------
def test_imagine_goes_through_every_status_and_stores_midjourneys_grid(mj):
    mj.sim.advance_per_read = 0.5  # Midjourney answers 1 s after the interaction: two reads
    task_id = imagine(mj, "a red fox in snow --ar 3:2", state="s1")
    seen = [fetch(mj, task_id)]
    for _ in range(60):
        if not mj.deliver_once():
            break
        seen.append(fetch(mj, task_id))
    statuses = [t["status"] for t in seen]
    assert statuses[0] == "NOT_START" and "SUBMITTED" in statuses and "IN_PROGRESS" in statuses
    running = [t for t in seen if t["status"] == "IN_PROGRESS"]
    progress = [t["progress"] for t in running]
    assert "15%" in progress and "93%" in progress
    assert [int(p[:-1]) for p in progress] == sorted(int(p[:-1]) for p in progress)
    # The preview is shown while running: Discord's CDN URL, nothing stored (previews `link`).
    assert any(t["imageUrl"] and t["imageUrl"].startswith(f"{SIM_BASE}/") for t in running)
    assert all(t["imageUrl"] is None or "preview.png" not in t["imageUrl"] for t in seen)
    final = seen[-1]
    assert final["status"] == "SUCCESS" and final["progress"] == "100%"
    assert final["state"] == "s1" and final["failReason"] is None
    job = sim_job(mj, task_id)
    props = final["properties"]
    assert props["messageId"] == job.final_message_id
    assert props["messageHash"] == job.id
    assert props["flags"] == 0
    assert props["finalPrompt"] == job.prompt  # as Midjourney echoed it
    assert "--seed " in props["finalPrompt"] and props["finalPrompt"].endswith("--v 6.0")
    assert props["discordInstanceId"] == mj.account.channel_id
    assert stored(task_id) == job.image  # our own copy: imageUrl never expires
    assert len(final["imageUrls"]) == 4
    assert any(b["customId"] == f"MJ::JOB::upsample::1::{job.id}" for b in final["buttons"])


def test_upscale_u1_to_u4_each_presses_the_right_button(mj):
    parent_id = imagine(mj, "lighthouse at dusk --ar 2:3")
    parent = run_to_end(mj, parent_id)
    children = {i: change(mj, parent_id, "UPSCALE", i) for i in (1, 2, 3, 4)}
    mj.drain()
    for index, child_id in children.items():
        child = fetch(mj, child_id)
        assert child["status"] == "SUCCESS", child
        assert child["description"] == f"/up {parent_id} U{index}"
        job = sim_job(mj, child_id)
        assert job.kind == "upscale" and job.index == index
        assert job.parent_message_id == parent["properties"]["messageId"]
        assert stored(child_id) == job.image
        assert child["imageUrls"] is None
        # an upscale offers the follow-ups of plus-api.md §2.1.3 (Vary, Zoom, Pan, 🔄)
        assert any("::low_variation::" in b["customId"] for b in child["buttons"])


def test_variations_v1_to_v4_at_once_each_get_their_own_grid(mj):
    parent_id = imagine(mj, "a castle on a hill")
    run_to_end(mj, parent_id)
    children = {i: change(mj, parent_id, "VARIATION", i) for i in (1, 2, 3, 4)}
    unbound_in_flight = []
    for _ in range(200):
        tasks = [TaskRepository().get(i) for i in children.values()]
        unbound_in_flight.append(sum(
            1 for t in tasks
            if t.providerState.get("sentAt") and not t.terminal
            and not (t.providerState.get("interactionId") or t.providerState.get("jobHash"))
        ))  # fmt: skip
        if not mj.deliver_once():
            break
    # Their answers look alike (same grid, "Variations by"): sent one at a time until bound.
    assert max(unbound_in_flight) <= 1
    for index, child_id in children.items():
        child = fetch(mj, child_id)
        assert child["status"] == "SUCCESS", child
        job = sim_job(mj, child_id)
        assert job.kind == "variation" and job.index == index
        assert stored(child_id) == job.image
        assert child["properties"]["messageHash"] == job.id


def test_reroll_gives_a_new_grid_and_its_result_can_be_changed_again(mj):
    parent_id = imagine(mj, "a boat on a lake")
    parent = run_to_end(mj, parent_id)
    reroll_id = change(mj, parent_id, "REROLL")
    reroll = run_to_end(mj, reroll_id)
    assert reroll["status"] == "SUCCESS" and reroll["description"] == f"/up {parent_id} R"
    job = sim_job(mj, reroll_id)
    assert job.kind == "reroll" and job.parent_message_id == parent["properties"]["messageId"]
    assert stored(reroll_id) == job.image != stored(parent_id)
    up = run_to_end(mj, change(mj, reroll_id, "UPSCALE", 3))
    assert up["status"] == "SUCCESS"


def test_describe_returns_midjourneys_four_prompts(mj):
    image = png_bytes((120, 80), (220, 40, 30))
    task_id = submit_ok(mj, "/mj/submit/describe", {"base64": data_url(image)})
    task = run_to_end(mj, task_id)
    job = sim_job(mj, task_id)
    assert task["status"] == "SUCCESS", task
    assert task["prompt"] == task["promptEn"] == task["properties"]["finalPrompt"] == job.text
    assert task["prompt"].startswith("1\ufe0f\u20e3 ") and "--ar 3:2" in task["prompt"]
    assert stored(task_id) == image  # imageUrl: the described image


def test_blend_takes_the_prompt_midjourney_shows_and_can_be_upscaled(mj):
    images = [data_url(png_bytes((64, 64), c)) for c in ((250, 0, 0), (0, 0, 250))]
    task_id = submit_ok(mj, "/mj/submit/blend", {"base64Array": images, "dimensions": "LANDSCAPE"})
    task = run_to_end(mj, task_id)
    job = sim_job(mj, task_id)
    assert task["status"] == "SUCCESS", task
    assert task["prompt"] == job.prompt and "--ar 3:2" in task["prompt"]
    assert task["prompt"].startswith("<https://s.mj.run/")
    assert stored(task_id) == job.image
    assert run_to_end(mj, change(mj, task_id, "UPSCALE", 2))["status"] == "SUCCESS"


def test_reference_images_are_uploaded_and_prepended_to_the_prompt(mj):
    ref = png_bytes((64, 64), (10, 200, 40))
    task_id = imagine(mj, "a garden", base64Array=[data_url(ref)])
    task = run_to_end(mj, task_id)
    assert task["status"] == "SUCCESS", task
    job = sim_job(mj, task_id)
    assert job.prompt.startswith("<https://s.mj.run/") and "a garden" in job.prompt
    assert mj.sim.count("attachments") == 1 and mj.sim.count("upload") == 1
    assert mj.sim.count("send-message") == 1
    assert ref in mj.sim.uploads.values()


def test_a_job_finished_between_two_polls_completes_from_submitted(mj):
    mj.sim.advance_per_read = 30.0  # the whole job happens before the first read
    task_id = imagine(mj, "a quick sketch")
    seen = [fetch(mj, task_id)]
    for _ in range(20):
        if not mj.deliver_once():
            break
        seen.append(fetch(mj, task_id))
    assert [t["status"] for t in seen if t["status"] == "IN_PROGRESS"] == []
    assert seen[-1]["status"] == "SUCCESS"
    assert stored(task_id) == sim_job(mj, task_id).image


# ---- concurrency and matching ------------------------------------------------------------------
def test_six_concurrent_imagines_three_identical_each_get_their_own_image(mj):
    prompts = ["a lighthouse in fog"] * 3 + ["a red barn", "a blue whale", "a green tram"]
    ids = [imagine(mj, p) for p in prompts]
    in_flight = []
    for _ in range(300):
        sent = [
            t for t in (TaskRepository().get(i) for i in ids)
            if t.providerState.get("sentAt") and not t.terminal
        ]  # fmt: skip
        in_flight.append(len(sent))
        if not mj.deliver_once():
            break
    assert max(in_flight) <= 3  # coreSize: never more than 3 jobs at Midjourney
    parents = {}
    for task_id in ids:
        task = fetch(mj, task_id)
        assert task["status"] == "SUCCESS", task  # none timed out, none failed
        job = sim_job(mj, task_id)
        assert stored(task_id) == job.image
        assert task["properties"]["messageId"] == job.final_message_id
        parents[task_id] = task
    assert len({stored(i) for i in ids}) == 6
    # U2 on each, all at once: every upscale is matched to its own parent.
    children = {parent_id: change(mj, parent_id, "UPSCALE", 2) for parent_id in ids}
    mj.drain()
    for parent_id, child_id in children.items():
        job = sim_job(mj, child_id)
        assert fetch(mj, child_id)["status"] == "SUCCESS"
        assert job.parent_message_id == parents[parent_id]["properties"]["messageId"]
        assert job.index == 2 and stored(child_id) == job.image


def test_identical_prompts_without_our_seed_are_matched_in_submit_order(monkeypatch, sim):
    account = sim.add_account()
    config = sim.instance_config(account, coreSize=3, seedMarker=False)
    from moto import mock_aws

    with mock_aws():
        system = make_system(monkeypatch, sim, [config])
        ids = [submit_ok(system, "/mj/submit/imagine", {"prompt": "a stone bridge"})
               for _ in range(3)]  # fmt: skip
        system.drain()
        images = []
        for task_id in ids:
            task = fetch(system, task_id)
            assert task["status"] == "SUCCESS", task
            assert "--seed" not in task["properties"]["finalPrompt"]
            job = sim.job_for_nonce(task["properties"]["nonce"])
            assert stored(task_id) == job.image
            images.append(job.image)
        assert len(set(images)) == 3


def test_one_poller_per_account(mj):
    ids = [imagine(mj, f"a tree number {n}") for n in range(3)]
    queue = mj.system.template.physical["DiscordPollerQueue"]
    sqs = boto3.client("sqs")
    depths = []
    for _ in range(100):
        attrs = sqs.get_queue_attributes(
            QueueUrl=queue,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
        )["Attributes"]
        depths.append(sum(int(v) for v in attrs.values()))
        if not mj.deliver_once():
            break
    assert max(depths) <= 1
    assert all(fetch(mj, i)["status"] == "SUCCESS" for i in ids)
    # The chain stopped once nothing was running: no more reads of the channel.
    reads = mj.sim.count("messages")
    mj.drain()
    assert mj.sim.count("messages") == reads


def test_a_stale_or_duplicated_poller_message_is_dropped(mj):
    imagine(mj, "an owl")
    mj.deliver_once()  # worker: interaction sent, poller started
    queue = mj.system.template.physical["DiscordPollerQueue"]
    account_id = mj.account.channel_id
    boto3.client("sqs").send_message(
        QueueUrl=queue, MessageBody=json.dumps({"instanceId": account_id, "lease": "stale"})
    )
    mj.drain()
    # Each run reads once; a stale message must not have read at all (one chain only).
    reads_per_run = {c.t for c in mj.sim.calls if c.route == "messages"}
    assert mj.sim.count("messages") == len(reads_per_run)


# ---- what goes wrong -----------------------------------------------------------------------
def test_a_429_storm_delays_but_loses_nothing(mj):
    ids = [imagine(mj, f"storm picture {n}") for n in range(3)]
    mj.sim.rate_limit(12, retry_after=0.2)  # every route: interactions, reads, index
    mj.drain()
    assert mj.sim.count() >= 12 and sum(1 for c in mj.sim.calls if c.status == 429) == 12
    for task_id in ids:
        task = fetch(mj, task_id)
        assert task["status"] == "SUCCESS", task
        assert stored(task_id) == sim_job(mj, task_id).image


def test_a_stale_command_version_is_refreshed_and_retried_once(mj):
    assert run_to_end(mj, imagine(mj, "first"))["status"] == "SUCCESS"
    assert mj.sim.count("command-index") == 1  # cached from now on
    mj.sim.redeploy_commands()
    task = run_to_end(mj, imagine(mj, "second"))
    assert task["status"] == "SUCCESS", task
    interactions = [c.status for c in mj.sim.calls if c.route == "interactions"]
    assert interactions == [204, 400, 204]
    assert mj.sim.count("command-index") == 2


def test_a_banned_prompt_fails_with_midjourneys_text(mj):
    task = run_to_end(mj, imagine(mj, "a bloody battlefield"))
    assert task["status"] == "FAILURE"
    assert task["failReason"].startswith(
        "[Banned prompt detected] Sorry! Our AI moderator thinks this prompt"
    )


def test_an_invalid_parameter_fails_with_midjourneys_text(mj):
    task = run_to_end(mj, imagine(mj, "a cat --foo 2"))
    assert task["status"] == "FAILURE"
    assert task["failReason"] == "[Invalid parameter] Unrecognized parameter(s): `--foo`"
    task = run_to_end(mj, imagine(mj, "a cat --ar 0:3"))
    assert task["failReason"] == "[Invalid parameter] Invalid value for --ar"


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        ("failed", "Failed to process your command :("),
        ("action_needed", "[Action needed to continue] Your prompt appears to violate"),
        ("captcha_message", "[Verify you're human] /captcha/embedded/"),
    ],
)
def test_other_midjourney_failures_end_the_task_not_a_timeout(mj, failure, reason):
    mj.sim.inject(failure)
    task = run_to_end(mj, imagine(mj, "a harmless cat"))
    assert task["status"] == "FAILURE" and task["failReason"].startswith(reason)


def test_errors_are_matched_to_the_right_task_among_several(mj):
    ok_id = imagine(mj, "a cat on a sofa")
    bad_id = imagine(mj, "a cat on a sofa --foo")
    mj.drain()
    assert fetch(mj, ok_id)["status"] == "SUCCESS"
    assert fetch(mj, bad_id)["status"] == "FAILURE"


def test_an_invalid_token_disables_the_account_and_fails_its_tasks(mj):
    running_id = imagine(mj, "a running job")
    for _ in range(3):
        mj.deliver_once()
    assert fetch(mj, running_id)["status"] in ("SUBMITTED", "IN_PROGRESS")
    mj.sim.revoke(mj.account.token)
    mj.drain()
    task = fetch(mj, running_id)
    assert task["status"] == "FAILURE"
    assert "401: Unauthorized" in task["failReason"] and mj.account.channel_id in task["failReason"]
    assert mj.account.token not in task["failReason"]
    instance = InstancePool().instance(mj.account.channel_id)
    assert instance is not None and instance.enable is False
    # No account left: new submits get code 3, U/V/R on its tasks too.
    r = mj.post("/mj/submit/imagine", {"prompt": "after"}).json()
    assert r["code"] == 3 and r["description"] == "无可用的账号实例"


def test_a_401_on_the_interaction_fails_that_task_too(mj):
    mj.sim.revoke(mj.account.token)
    task = run_to_end(mj, imagine(mj, "never sent"))
    assert task["status"] == "FAILURE" and "401: Unauthorized" in task["failReason"]
    assert mj.post("/mj/submit/imagine", {"prompt": "x"}).json()["code"] == 3


def test_a_new_token_re_enables_a_disabled_account(monkeypatch, mj):
    mj.sim.revoke(mj.account.token)
    run_to_end(mj, imagine(mj, "never sent"))
    fresh = mj.sim.add_account("a-new-token", channel_id=mj.account.channel_id,
                               guild_id=mj.account.guild_id)  # fmt: skip
    monkeypatch.setenv("MJ_INSTANCES", json.dumps([mj.sim.instance_config(fresh)]))
    from tests.harness import reset_caches

    reset_caches()
    task = run_to_end(mj, imagine(mj, "after the new token"))
    assert task["status"] == "SUCCESS", task


def test_the_token_never_leaves_the_system(mj, caplog):
    caplog.set_level("DEBUG")
    task_id = imagine(mj, "a secret cat")
    run_to_end(mj, task_id)
    mj.sim.rate_limit(1)
    run_to_end(mj, change(mj, task_id, "UPSCALE", 1))
    token = mj.account.token
    assert token not in json.dumps(fetch(mj, task_id))
    assert token not in mj.get("/mj/account/list").text
    assert token not in mj.get(f"/mj/account/{mj.account.channel_id}/fetch").text
    assert all(token not in r.getMessage() and token not in str(r.__dict__)
               for r in caplog.records)  # fmt: skip


def test_images_are_only_downloaded_from_allowed_hosts(monkeypatch, mj):
    monkeypatch.setenv("MJ_DISCORD_CDN_HOSTS", "")
    task_id = imagine(mj, "a hidden cat")
    for _ in range(40):
        mj.deliver_once()
    task = fetch(mj, task_id)
    # The result is never fetched from a host we do not trust; the task waits (and would time
    # out) rather than take an image from anywhere.
    assert task["status"] in ("SUBMITTED", "IN_PROGRESS") and mj.sim.count("cdn") == 0
    assert SIM_BASE.startswith("http://")


def test_the_watchdog_restarts_a_poller_chain_that_died(mj):
    task_id = imagine(mj, "a resilient cat")
    mj.deliver_once()  # interaction sent; the chain's first message is queued
    queue = mj.system.template.physical["DiscordPollerQueue"]
    boto3.client("sqs").purge_queue(QueueUrl=queue)  # the chain is lost...
    boto3.client("dynamodb").update_item(  # ...and its lease has run out
        TableName=InstancePool().table,
        Key={"id": {"S": mj.account.channel_id}},
        UpdateExpression="SET pollerLeaseUntil = :z",
        ExpressionAttributeValues={":z": {"N": "0"}},
    )
    mj.drain()
    reads = mj.sim.count("messages")
    mj.drain()
    assert mj.sim.count("messages") == reads  # nobody reads the channel any more
    assert fetch(mj, task_id)["status"] in ("SUBMITTED", "IN_PROGRESS")
    fn, handler = mj.system.functions["DiscordPollerFunction"]
    from mjproxy.local.runner import invoke

    assert invoke(fn, handler, {"source": "aws.events", "detail-type": "Scheduled Event"}) == {
        "started": 1
    }
    assert run_to_end(mj, task_id)["status"] == "SUCCESS"


def test_interactions_of_one_account_are_paced(monkeypatch, mj):
    monkeypatch.setenv("MJ_DISCORD_INTERACTION_INTERVAL_SECONDS", "600")
    first, second = imagine(mj, "paced one"), imagine(mj, "paced two")
    for _ in range(5):
        mj.deliver_once()
    assert mj.sim.count("interactions") == 1
    statuses = {fetch(mj, first)["status"], fetch(mj, second)["status"]}
    assert "NOT_START" in statuses  # waiting for its turn, not failed

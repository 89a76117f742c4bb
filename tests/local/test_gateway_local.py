"""Local tier, issue 6: `python -m mjproxy.local` and the listener (`python -m mjgateway`, the
`mjproxy-gateway` script) side by side against the simulator on 127.0.0.1 (REST + websocket
gateway), as docs/midjourney.md shows. The listener is the only event source while it runs; an
ephemeral "Banned prompt" fails within a second; killed mid-run (SIGKILL, no goodbye), the poller
takes over and every task still ends."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import boto3
import pytest
import requests

from mjproxy.local.provision import physical_name
from mjsim import SimServer, Simulator, Ticker
from mjsim.gateway import GatewayServer
from tests.local.conftest import Running, _free_port
from tests.scenarios import data_url, png_bytes
from tests.waiting import wait_until


class Listener:
    def __init__(self, env: dict[str, str]) -> None:
        full = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mjgateway", "--status-seconds", "0.5", "--ttl-seconds", "2"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=full,
        )  # fmt: skip

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def stack():
    port = _free_port()
    sim = Simulator(f"http://127.0.0.1:{port}", start_delay=0.3, step_seconds=0.4,
                    progress_steps=(31, 62, 93), ephemeral_errors=True)  # fmt: skip
    account = sim.add_account()
    account.remix = True  # Midjourney's Remix windows (video extend) reach the listener
    config = sim.instance_config(account, remix=True)
    server = SimServer(sim, "127.0.0.1", port).start()
    gateway = GatewayServer(sim).start()
    ticker = Ticker(sim, every=0.05).start()
    env = {
        "MJ_PROVIDER": "midjourney",
        "MJ_INSTANCES": json.dumps([config]),
        "MJ_MIDJOURNEY_CDN": f"http://127.0.0.1:{port}/mjcdn",  # the video clips
        "MJ_DISCORD_API_BASE": f"http://127.0.0.1:{port}/api/v9",
        "MJ_DISCORD_CDN_HOSTS": f"127.0.0.1:{port}",
        "MJ_DISCORD_POLL_SECONDS": "1",
        "MJ_DISCORD_INTERACTION_INTERVAL_SECONDS": "0",
        "MJ_BANNED_WORDS_ENABLED": "false",
        "MJ_LOCAL_SCHEDULE_SECONDS": "1",  # the poller watchdog, every second
        "MOTO_PORT": "0",  # the listener reaches the emulated SQS over HTTP
    }
    running = Running(env)
    moto = running.moto_url
    sqs = boto3.client("sqs", endpoint_url=moto)
    queue = sqs.get_queue_url(QueueName="mjproxy-DiscordEventsQueue")["QueueUrl"]
    listener = Listener({**env, "AWS_ENDPOINT_URL": moto, "DISCORD_EVENTS_QUEUE_URL": queue,
                         "MJ_DISCORD_GATEWAY_URL": gateway.url})  # fmt: skip
    wait_until(gateway.connected, 20, "the listener to connect")
    assert gateway.connected() == 1, "one listener, one connection"
    # Its "ready" status reaches the account's item (gatewayUntil: the heartbeat's expiry).
    db = boto3.client("dynamodb", endpoint_url=moto)
    key = {"id": {"S": config["id"]}}

    def ready() -> bool:
        item = db.get_item(TableName=physical_name("InstancesTable"), Key=key).get("Item", {})
        return int(item.get("gatewayUntil", {}).get("N", "0")) > 0

    wait_until(ready, 20, "the listener's ready status on the account's item")
    yield running, sim, gateway, listener
    listener.kill()
    running.stop()
    ticker.stop()
    gateway.stop()
    server.stop()


def reads(sim) -> int:
    return sim.count("messages", "GET")


def test_listener_only_and_an_ephemeral_error_fails_the_task_without_polling(stack):
    running, sim, _, _ = stack
    ok = running.post("/mj/submit/imagine", {"prompt": "a red fox in snow"}).json()["result"]
    bad = running.post("/mj/submit/imagine", {"prompt": "a bloody battlefield"}).json()["result"]
    failed = running.wait(bad, timeout=30)[-1]
    assert failed["status"] == "FAILURE"
    assert failed["failReason"].startswith("[Banned prompt detected] Sorry! Our AI moderator")
    # An ephemeral message is never in the channel history: only the gateway event can have
    # failed the task (how fast is bench/gateway_vs_poller.py's question, not a test's).
    assert any(e["event"] == "error" for e in sim.log)
    assert reads(sim) == 0
    assert running.wait(ok, timeout=30)[-1]["status"] == "SUCCESS"
    assert reads(sim) == 0  # REST polling never ran


def test_killing_the_listener_mid_run_falls_back_to_polling(stack):
    running, sim, gateway, listener = stack
    ids = [running.post("/mj/submit/imagine", {"prompt": f"a paper boat {n}"}).json()["result"]
           for n in range(4)]  # fmt: skip
    wait_until(
        lambda: any(
            running.get(f"/mj/task/{i}/fetch").json()["status"] == "IN_PROGRESS" for i in ids
        ),
        20,
        "a task in progress",
    )
    assert reads(sim) == 0
    listener.kill()  # SIGKILL: no "down" status; its heartbeat simply stops
    for task_id in ids:
        assert running.wait(task_id, timeout=60)[-1]["status"] == "SUCCESS"
    assert reads(sim) > 0  # the poller took over


def test_a_video_extended_over_http_through_the_listener(stack):
    running, sim, _, _ = stack
    image = data_url(png_bytes((64, 64), (200, 40, 40)))
    video = running.post("/mj/submit/video", {"prompt": "a red fox runs", "image": image}).json()
    assert running.wait(video["result"], timeout=60)[-1]["status"] == "SUCCESS"
    body = {"action": "extend", "taskId": video["result"], "index": 1, "motion": "low",
            "prompt": "the fox jumps"}  # fmt: skip
    answer = running.post("/mj/submit/video", body).json()
    assert answer["code"] == 1, answer
    seen = running.wait(answer["result"], timeout=60)
    final = seen[-1]
    assert (final["status"], final["action"]) == ("SUCCESS", "VIDEO"), final
    assert "IN_PROGRESS" in [t["status"] for t in seen] and len(final["videoUrls"]) == 4
    job = sim.job_for_nonce(final["properties"]["nonce"])
    assert job.prompt == "the fox jumps --video 1 --motion low"
    clip = requests.get(final["videoUrl"], timeout=10).content
    assert clip == sim.clips[f"/video/{job.id}/0_0.mp4"]
    assert reads(sim) == 0  # the listener carried every step

"""Local tier: the embedded system started as a user starts it (`python -m mjproxy.local`), in
its own process, driven over HTTP on 127.0.0.1 like a client."""

from __future__ import annotations

import collections
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import requests

from tests.waiting import wait_until


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/local/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.enable_socket)
            item.add_marker(pytest.mark.local)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Running:
    def __init__(self, env: dict[str, str] | None = None, port: int | None = None) -> None:
        self.port = port or _free_port()
        # Every system gets its own data directory (never the checkout's local-data/).
        self.data_dir = (env or {}).get("MJ_DATA_DIR") or tempfile.mkdtemp(prefix="mj-data-")
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {}),
                    "MJ_DATA_DIR": self.data_dir}  # fmt: skip
        full_env.pop("AWS_ENDPOINT_URL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mjproxy.local", "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=full_env,
        )
        self.banner: list[str] = []
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("local system exited:\n" + "".join(self.banner))
            self.banner.append(line)
            if line.strip() == "ready":
                break
        else:
            raise RuntimeError("local system did not start")
        self.url = f"http://127.0.0.1:{self.port}"
        # Keep reading what the system prints: an unread pipe fills up (64 KB) and then blocks
        # whichever of its threads logs next. The last lines go into a timeout's message.
        self.output: collections.deque[str] = collections.deque(maxlen=200)
        threading.Thread(target=self._read_output, daemon=True).start()

    def _read_output(self) -> None:
        for line in self.proc.stdout:
            self.output.append(line)

    def output_tail(self, lines: int = 40) -> str:
        return "".join(list(self.output)[-lines:])

    @property
    def moto_url(self) -> str:
        """The emulated AWS side over HTTP (started with MOTO_PORT=0), as its banner says."""
        found = re.search(r"other processes at (http://\S+?)\)", "".join(self.banner))
        assert found, "start the system with MOTO_PORT=0: " + "".join(self.banner)
        return found.group(1)

    def kill(self) -> None:
        """SIGKILL, as a crash: no flush, no clean shutdown."""
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def post(self, path: str, body, **kw) -> requests.Response:
        return requests.post(self.url + path, json=body, timeout=30, **kw)

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.url + path, timeout=30, **kw)

    def wait_for(self, task_id: str, done, timeout: float = 60) -> dict:
        """Poll fetch until `done(task)` holds (a generous bound, not a timing assertion)."""

        def reached() -> dict | None:
            task = self.get(f"/mj/task/{task_id}/fetch").json()
            return task if task and done(task) else None

        return wait_until(reached, timeout, f"task {task_id} to reach the state wanted")

    def wait(self, task_id: str, timeout: float = 60) -> list[dict]:
        """Poll fetch like a client until the task ends; returns every answer seen."""
        seen: list[dict] = []

        def ended() -> bool:
            seen.append(self.get(f"/mj/task/{task_id}/fetch").json())
            return seen[-1]["status"] in ("SUCCESS", "FAILURE")

        wait_until(
            ended,
            timeout,
            lambda: f"task {task_id} to finish: {seen[-1]}\nsystem output:\n{self.output_tail()}",
            interval=0.2,
        )
        return seen


@pytest.fixture(scope="session")
def local_system():
    running = Running({"MJ_LOCAL_STEP_SECONDS": "1"})
    yield running
    running.stop()


# An accounts page with one of each state: local-1 in service, mj-1 a Midjourney account that
# tests take out of service as a Discord 401 would (InstancePool.disable in the system's own
# table, through its moto over HTTP), off-1 disabled in its configuration. mj-1's Discord is a
# closed local port: nothing is ever sent to it (no test submits while it is enabled).
ACCOUNTS = [
    {"id": "local-1", "provider": "local"},
    {"id": "mj-1", "provider": "midjourney", "guildId": "1200000000000000001",
     "channelId": "1300000000000000001", "userToken": "never-sent"},
    {"id": "off-1", "provider": "local", "enable": False},
]  # fmt: skip


@pytest.fixture(scope="session")
def accounts_system():
    running = Running({
        "MJ_INSTANCES": json.dumps(ACCOUNTS),
        "MJ_DISCORD_API_BASE": "http://127.0.0.1:9/api/v9",
        "MOTO_PORT": "0",
    })  # fmt: skip
    yield running
    running.stop()


@pytest.fixture
def disable_mj_account(accounts_system, monkeypatch):
    """Take mj-1 out of service the way the Midjourney guard does; returns the reason."""
    from mjproxy import config
    from mjproxy.local.provision import physical_name
    from mjproxy.store.instances import InstancePool

    monkeypatch.setenv("AWS_ENDPOINT_URL", accounts_system.moto_url)
    monkeypatch.setenv("MJ_INSTANCES", json.dumps(ACCOUNTS))
    config.reset()
    pool = InstancePool(physical_name("InstancesTable"))
    reason = "401: Unauthorized (test)"
    pool.disable(pool.instance("mj-1"), reason)
    config.reset()
    return reason

"""Local tier: the embedded system started as a user starts it (`python -m mjproxy.local`), in
its own process, driven over HTTP on 127.0.0.1 like a client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
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

        wait_until(ended, timeout, lambda: f"task {task_id} to finish: {seen[-1]}", interval=0.2)
        return seen


@pytest.fixture(scope="session")
def local_system():
    running = Running({"MJ_LOCAL_STEP_SECONDS": "1"})
    yield running
    running.stop()

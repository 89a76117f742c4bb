"""`Client` (blocking) and `AsyncClient` (asyncio), both on httpx, running the same operations."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import httpx

from .errors import TransportError
from .models import Submitted, Task
from .ops import Call, Op, Ops, Policy, ProgressCallback, Reply, Sleep

DEFAULT_BASE_URL = "http://127.0.0.1:8080"


def _advance(op: Op, send: Any, error: Exception | None) -> tuple[bool, Any]:
    """Resume an operation with a reply (or an error); (True, result) once it returns."""
    try:
        return False, (op.throw(error) if error else op.send(send))
    except StopIteration as stop:
        return True, stop.value


class _Base:
    def __init__(
        self,
        base_url: str | None = None,
        secret: str | None = None,
        *,
        timeout: float = 30.0,
        policy: Policy | None = None,
    ) -> None:
        """`base_url` and `secret` default to $MJ_BASE_URL and $MJ_API_SECRET."""
        self.base_url = (base_url or os.environ.get("MJ_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.secret = secret if secret is not None else os.environ.get("MJ_API_SECRET") or None
        self.timeout = timeout
        self.ops = Ops(policy or Policy())

    def _prepare(self, call: Call) -> dict[str, Any]:
        absolute = "://" in call.url
        headers = {"Accept": "application/json"}
        if self.secret and call.authenticated:
            headers["mj-api-secret"] = self.secret
        return {
            "method": call.method,
            "url": call.url if absolute else self.base_url + call.url,
            "json": call.json,
            "params": call.params,
            "headers": headers,
        }

    @staticmethod
    def _reply(resp: httpx.Response) -> Reply:
        return Reply(
            resp.status_code, {k.lower(): v for k, v in resp.headers.items()}, resp.content
        )


class Client(_Base):
    """Blocking client. Every submit returns `Submitted` or raises the code's `ApiError`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._http = httpx.Client(timeout=self.timeout, follow_redirects=True)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _run(self, op: Op) -> Any:
        send: Any = None
        error: Exception | None = None
        while True:
            done, step = _advance(op, send, error)
            if done:
                return step
            send, error = None, None
            if isinstance(step, Sleep):
                time.sleep(step.seconds)
                continue
            try:
                send = self._reply(self._http.request(**self._prepare(step)))
            except httpx.TransportError as exc:
                error = TransportError(f"{step.url}: {exc}")

    def imagine(
        self, prompt: str, images: list[Any] | None = None, mode: str | None = None, **extra: Any
    ) -> Submitted:
        return self._run(self.ops.imagine(prompt, images, mode, **extra))

    def describe(self, image: Any, **extra: Any) -> Submitted:
        return self._run(self.ops.describe(image, **extra))

    def blend(self, images: list[Any], dimensions: str | None = None, **extra: Any) -> Submitted:
        return self._run(self.ops.blend(images, dimensions, **extra))

    def change(self, task_id: str, action: str, index: int | None = None) -> Submitted:
        return self._run(self.ops.change(task_id, action, index))

    def action(self, task_id: str, custom_id: str) -> Submitted:
        return self._run(self.ops.action(task_id, custom_id))

    def modal(self, task_id: str, prompt: str | None = None, mask: Any = None) -> Submitted:
        return self._run(self.ops.modal(task_id, prompt, mask))

    def press(
        self, task: Task | str, label: str, prompt: str | None = None, mask: Any = None
    ) -> Submitted:
        return self._run(self.ops.press(task, label, prompt, mask))

    def cancel(self, task_id: str) -> Submitted:
        return self._run(self.ops.cancel(task_id))

    def fetch(self, task_id: str) -> Task | None:
        return self._run(self.ops.fetch(task_id))

    def list_tasks(
        self, page_size: int = 20, cursor: str | None = None
    ) -> tuple[list[Task], str | None]:
        return self._run(self.ops.list_tasks(page_size, cursor))

    def accounts(self) -> list[dict[str, Any]]:
        return self._run(self.ops.accounts())

    def enable_account(self, account_id: str) -> dict[str, Any]:
        return self._run(self.ops.enable_account(account_id))

    def wait(
        self,
        task_id: str,
        timeout: float = 600,
        on_progress: ProgressCallback | None = None,
        raise_on_failure: bool = True,
    ) -> Task:
        return self._run(self.ops.wait(task_id, timeout, on_progress, raise_on_failure))

    def download(self, task: Task, dest: str | Path, grid_parts: bool = False) -> list[Path]:
        return self._run(self.ops.download(task, Path(dest), grid_parts))


class AsyncClient(_Base):
    """The same operations for asyncio: `await client.imagine(...)`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._http = httpx.AsyncClient(timeout=self.timeout, follow_redirects=True)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def _run(self, op: Op) -> Any:
        send: Any = None
        error: Exception | None = None
        while True:
            done, step = _advance(op, send, error)
            if done:
                return step
            send, error = None, None
            if isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
                continue
            try:
                send = self._reply(await self._http.request(**self._prepare(step)))
            except httpx.TransportError as exc:
                error = TransportError(f"{step.url}: {exc}")

    async def imagine(
        self, prompt: str, images: list[Any] | None = None, mode: str | None = None, **extra: Any
    ) -> Submitted:
        return await self._run(self.ops.imagine(prompt, images, mode, **extra))

    async def describe(self, image: Any, **extra: Any) -> Submitted:
        return await self._run(self.ops.describe(image, **extra))

    async def blend(
        self, images: list[Any], dimensions: str | None = None, **extra: Any
    ) -> Submitted:
        return await self._run(self.ops.blend(images, dimensions, **extra))

    async def change(self, task_id: str, action: str, index: int | None = None) -> Submitted:
        return await self._run(self.ops.change(task_id, action, index))

    async def action(self, task_id: str, custom_id: str) -> Submitted:
        return await self._run(self.ops.action(task_id, custom_id))

    async def modal(self, task_id: str, prompt: str | None = None, mask: Any = None) -> Submitted:
        return await self._run(self.ops.modal(task_id, prompt, mask))

    async def press(
        self, task: Task | str, label: str, prompt: str | None = None, mask: Any = None
    ) -> Submitted:
        return await self._run(self.ops.press(task, label, prompt, mask))

    async def cancel(self, task_id: str) -> Submitted:
        return await self._run(self.ops.cancel(task_id))

    async def fetch(self, task_id: str) -> Task | None:
        return await self._run(self.ops.fetch(task_id))

    async def list_tasks(
        self, page_size: int = 20, cursor: str | None = None
    ) -> tuple[list[Task], str | None]:
        return await self._run(self.ops.list_tasks(page_size, cursor))

    async def accounts(self) -> list[dict[str, Any]]:
        return await self._run(self.ops.accounts())

    async def enable_account(self, account_id: str) -> dict[str, Any]:
        return await self._run(self.ops.enable_account(account_id))

    async def wait(
        self,
        task_id: str,
        timeout: float = 600,
        on_progress: ProgressCallback | None = None,
        raise_on_failure: bool = True,
    ) -> Task:
        return await self._run(self.ops.wait(task_id, timeout, on_progress, raise_on_failure))

    async def download(self, task: Task, dest: str | Path, grid_parts: bool = False) -> list[Path]:
        return await self._run(self.ops.download(task, Path(dest), grid_parts))

"""The client's behaviour written once, without I/O: each operation is a generator that yields
`Call`s (an HTTP request) and `Sleep`s and receives `Reply`s, so the sync and async clients only
differ in how they perform those two things."""

from __future__ import annotations

import base64
import json
import mimetypes
import random
import re
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from .errors import (
    AuthError,
    ButtonNotFound,
    HttpError,
    TaskFailed,
    TransportError,
    WaitTimeout,
    api_error,
)
from .models import ACCEPTED, Submitted, Task

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# The grid buttons an older server (no POST /mj/submit/action) still understands via /change.
_CHANGE_FALLBACK = re.compile(r"MJ::JOB::(upsample|variation|reroll)::(\d+)::")
_CHANGE_ACTION = {"upsample": "UPSCALE", "variation": "VARIATION", "reroll": "REROLL"}


@dataclass(frozen=True)
class Call:
    method: str
    url: str  # a path on the API, or an absolute URL (image downloads)
    json: Any = None
    params: dict[str, str] | None = None
    authenticated: bool = True


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass(frozen=True)
class Sleep:
    seconds: float


Op = Generator[Call | Sleep, Any, Any]
ProgressCallback = Callable[[Task], None]


@dataclass
class Policy:
    """Retry and polling knobs shared by both clients."""

    retries: int = 4  # extra attempts after the first, for 429/5xx and connection errors
    backoff: float = 0.5  # first retry delay in seconds; doubles each time
    backoff_max: float = 10.0
    poll_interval: float = 1.0
    poll_max: float = 5.0
    rng: random.Random = field(default_factory=random.Random)

    def retry_delay(self, attempt: int, retry_after: str | None) -> float:
        """Retry-After when the server names one, else capped exponential backoff with full
        jitter (so many clients hitting one 429 do not retry in lockstep)."""
        if retry_after:
            try:
                return min(self.backoff_max, max(0.0, float(retry_after)))
            except ValueError:
                pass
        return self.rng.uniform(0, min(self.backoff_max, self.backoff * 2**attempt))

    def poll_delay(self, polls: int) -> float:
        """Polls slow down gently while nothing changes and carry ±20 % jitter."""
        base = min(self.poll_max, self.poll_interval * (1.25 ** min(polls, 10)))
        return base * self.rng.uniform(0.8, 1.2)


def data_url(image: str | Path | bytes, mime: str | None = None) -> str:
    """A data URL from a file path, raw bytes, or an existing data URL (returned as is)."""
    if isinstance(image, str) and image.startswith("data:"):
        return image
    if isinstance(image, bytes):
        raw, guess = image, mime or _sniff(image)
    else:
        path = Path(image)
        raw = path.read_bytes()
        guess = mime or mimetypes.guess_type(path.name)[0] or _sniff(raw)
    return f"data:{guess};base64,{base64.b64encode(raw).decode('ascii')}"


def _sniff(raw: bytes) -> str:
    if raw.startswith(b"\x89PNG"):
        return "image/png"
    if raw.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


class Ops:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    # ---- transport -------------------------------------------------------------------
    def request(self, call: Call) -> Op:
        """One call with retries on 429/5xx and connection errors; returns the Reply."""
        attempt = 0
        while True:
            try:
                reply: Reply = yield call
            except TransportError:
                if attempt >= self.policy.retries:
                    raise
                yield Sleep(self.policy.retry_delay(attempt, None))
                attempt += 1
                continue
            if reply.status in RETRY_STATUSES and attempt < self.policy.retries:
                yield Sleep(self.policy.retry_delay(attempt, reply.headers.get("retry-after")))
                attempt += 1
                continue
            if reply.status == 401:
                raise AuthError(401, reply.body.decode("utf-8", "replace"), call.url)
            if reply.status >= 300:
                raise HttpError(reply.status, reply.body.decode("utf-8", "replace"), call.url)
            return reply

    def json_call(self, method: str, path: str, body: Any = None, **kw: Any) -> Op:
        reply = yield from self.request(Call(method, path, body, **kw))
        # Unknown ids answer HTTP 200 with an empty body or `null` (protocol.md §3.6).
        return json.loads(reply.body) if reply.body.strip() else None

    def submit(self, path: str, body: dict[str, Any]) -> Op:
        try:
            env = yield from self.json_call(
                "POST", path, {k: v for k, v in body.items() if v is not None}
            )
        except HttpError as exc:
            # The plus API answers some refusals with an HTTP status and the envelope (trueai:
            # 404 + code 3, 400 + code 4): the envelope decides. Anything else (a missing
            # route's gateway answer) stays an HttpError.
            env = envelope_of(exc.body)
            if env is None or isinstance(exc, AuthError):
                raise
        code = int(env.get("code", 0))
        submitted = Submitted(
            code,
            str(env.get("description") or ""),
            str(env.get("result")),
            env.get("properties") or {},
        )
        if code in ACCEPTED or submitted.modal:
            return submitted
        raise api_error(code, submitted.description, env.get("result"), submitted.properties)

    # ---- submits ---------------------------------------------------------------------
    def imagine(
        self, prompt: str, images: list[Any] | None = None, mode: str | None = None, **extra: Any
    ) -> Op:
        """`mode` fast/relax/turbo picks the speed through the path prefix (`/mj-relax/mj/…`)."""
        body = {"prompt": prompt, "base64Array": [data_url(i) for i in images or []] or None}
        prefix = f"/mj-{mode.lower()}" if mode else ""
        return (yield from self.submit(f"{prefix}/mj/submit/imagine", {**body, **extra}))

    def describe(self, image: Any, **extra: Any) -> Op:
        return (yield from self.submit("/mj/submit/describe", {"base64": data_url(image), **extra}))

    def blend(self, images: list[Any], dimensions: str | None = None, **extra: Any) -> Op:
        body = {"base64Array": [data_url(i) for i in images], "dimensions": dimensions, **extra}
        return (yield from self.submit("/mj/submit/blend", body))

    def change(self, task_id: str, action: str, index: int | None = None, **extra: Any) -> Op:
        body = {"taskId": task_id, "action": action.upper(), "index": index, **extra}
        return (yield from self.submit("/mj/submit/change", body))

    def action(self, task_id: str, custom_id: str, **extra: Any) -> Op:
        body = {"taskId": task_id, "customId": custom_id, **extra}
        return (yield from self.submit("/mj/submit/action", body))

    def modal(self, task_id: str, prompt: str | None = None, mask: Any = None) -> Op:
        body = {"taskId": task_id, "prompt": prompt, "maskBase64": data_url(mask) if mask else None}
        return (yield from self.submit("/mj/submit/modal", body))

    def cancel(self, task_id: str) -> Op:
        """POST /mj/task/{id}/cancel: the task ends CANCEL; code 4 once it has finished."""
        return (yield from self.submit(f"/mj/task/{task_id}/cancel", {}))

    def press(
        self, task: Task | str, label: str, prompt: str | None = None, mask: Any = None
    ) -> Op:
        """Press a result's button by its label ("U1", "Vary (Strong)", "Zoom Out 2x", "🔄").
        A modal answer (Custom Zoom, Vary Region) is submitted at once with `prompt`/`mask`."""
        if isinstance(task, str):
            task = yield from self.fetch_required(task)
        button = task.button(label)
        if button is None:
            raise ButtonNotFound(label, [b.name for b in task.buttons])
        try:
            submitted = yield from self.action(task.id, button.custom_id)
        except HttpError as exc:
            # Servers without the plus route still take the grid buttons via /change. A missing
            # route is 404 in Spring (the original) and 403 "Missing Authentication Token" in
            # API Gateway.
            missing = exc.status in (403, 404)
            fallback = _CHANGE_FALLBACK.match(button.custom_id) if missing else None
            if not fallback:
                raise
            kind, index = fallback.groups()
            action = _CHANGE_ACTION[kind]
            idx = None if action == "REROLL" else int(index)
            return (yield from self.change(task.id, action, idx))
        if submitted.modal:
            return (yield from self.modal(submitted.task_id, prompt, mask))
        return submitted

    # ---- reads -----------------------------------------------------------------------
    def fetch(self, task_id: str) -> Op:
        data = yield from self.json_call("GET", f"/mj/task/{task_id}/fetch")
        return Task.from_json(data) if data else None

    def fetch_required(self, task_id: str) -> Op:
        task = yield from self.fetch(task_id)
        if task is None:
            raise api_error(3, f"unknown task {task_id}", None, None)
        return task

    def list_tasks(self, page_size: int = 20, cursor: str | None = None) -> Op:
        params = {"pageSize": str(page_size), **({"cursor": cursor} if cursor else {})}
        reply = yield from self.request(Call("GET", "/mj/task/list", params=params))
        tasks = [Task.from_json(t) for t in json.loads(reply.body or b"[]")]
        return tasks, reply.headers.get("x-next-cursor") or None

    def accounts(self) -> Op:
        return (yield from self.json_call("GET", "/mj/account/list")) or []

    def enable_account(self, account_id: str) -> Op:
        """POST /mj/account/{id}/enable, then the account as it is now (GET .../fetch).
        NotFoundError for an unknown id, ValidationError for one disabled in configuration."""
        path = f"/mj/account/{quote(account_id, safe='')}"
        yield from self.submit(f"{path}/enable", {})
        return (yield from self.json_call("GET", f"{path}/fetch")) or {}

    def wait(
        self,
        task_id: str,
        timeout: float = 600,
        on_progress: ProgressCallback | None = None,
        raise_on_failure: bool = True,
        clock: Callable[[], float] | None = None,
    ) -> Op:
        """Poll fetch (with jitter) until the task ends; `on_progress` sees every change."""
        now = clock or time.monotonic
        deadline = now() + timeout
        last: Task | None = None
        polls = 0
        while True:
            task = yield from self.fetch(task_id)
            if task is not None and (
                last is None or (task.status, task.progress) != (last.status, last.progress)
            ):
                if on_progress:
                    on_progress(task)
                polls = 0  # it moves: keep looking often; an idle task is polled less and less
            last = task or last
            if task is not None and task.done:
                if raise_on_failure and task.status != "SUCCESS":
                    raise TaskFailed(task)
                return task
            if now() >= deadline:
                raise WaitTimeout(task_id, last)
            yield Sleep(min(self.policy.poll_delay(polls), max(0.0, deadline - now())))
            polls += 1

    def download(self, task: Task, dest: Path, grid_parts: bool = False) -> Op:
        """Save the task's image (and with `grid_parts` its four quadrants) into `dest`."""
        dest.mkdir(parents=True, exist_ok=True)
        urls = ([task.image_url] if task.image_url else []) + (
            task.image_urls if grid_parts else []
        )
        saved: list[Path] = []
        for n, url in enumerate(urls):
            # A presigned S3 URL must not get our secret; a link to this API may need it.
            same_api = not urlsplit(url).netloc
            reply = yield from self.request(Call("GET", url, authenticated=same_api))
            ext = _extension(reply.headers.get("content-type"), url)
            name = f"{task.id}{'' if n == 0 else f'_{n}'}{ext}"
            path = dest / name
            path.write_bytes(reply.body)
            saved.append(path)
        return saved


def envelope_of(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("code"), int) else None


def _extension(content_type: str | None, url: str) -> str:
    ext = (
        mimetypes.guess_extension((content_type or "").split(";")[0].strip())
        if content_type
        else None
    )
    if ext in (".png", ".jpg", ".jpeg", ".webp", ".gif"):
        return ext
    suffix = Path(urlsplit(url).path).suffix
    return suffix if suffix else ".png"

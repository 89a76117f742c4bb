"""The per-account poller, the serverless way to read Midjourney's answers (protocol.md §6.12).

One SQS message per account circulates while the account has running tasks: each delivery reads
the channel's new messages after a cursor (re-reading the messages of jobs still running, since
Midjourney edits them in place), hands each to the matcher, applies the outcomes through
Worker.apply_event, then re-enqueues itself with DelaySeconds = the account's poll interval, or,
while runs find nothing new, a delay that doubles up to MJ_DISCORD_POLL_MAX_SECONDS (`next_delay`).

A lease on the account's item (state.py) keeps it to one chain per account: the message carries
the lease token, every run hands the lease to a fresh token carried by the next message, so a
duplicated or stale message finds a token that is no longer current and stops. The next message
is enqueued before the lease is handed over: if the Lambda dies in between, SQS redelivers the
current message, which still holds the lease. If a chain dies anyway its lease expires and the
next interaction on the account (`ensure`) starts a new one; if the chain is alive but backed
off, `ensure` wakes it (`_wake`) so the new job is read at the base interval.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ... import images
from ...aws import client as aws_client
from ...config import Instance, settings
from ...domain.task import Task, TaskAction, TaskStatus
from ...store.instances import InstancePool
from ...store.tasks import TaskRepository
from ...worker import Worker
from ..base import Outcome
from . import extend
from .account import Account, DiscordSettings
from .buttons import hidden_families
from .discord import DiscordClient, DiscordError, RateLimited, Unauthorized
from .guard import protect_account, refused_by_midjourney, token_refused
from .matcher import Candidate, Event, match, retired_keys
from .messages import Message, snowflake_at
from .outcomes import describe_outcome, done_outcome, failure_outcome, progress_outcome
from .state import AccountItem, DiscordState, PollerState, RetiredKeys, now_ms
from .video import fetch_result, is_video_result

log = logging.getLogger(__name__)

PAGE_SIZE = 100  # Discord's maximum for GET /channels/{id}/messages
MAX_PAGES = 5  # per run; the rest is read on the next run
LEASE_SLACK_MS = 120_000  # a run may take this long before its lease is considered dead
START_MARGIN_MS = 5_000  # read from a little before the oldest running task was submitted
UNCLAIMED_GRACE_MS = 30_000  # re-read an unmatched Midjourney message for this long
WAKE_MARGIN_MS = 1_000  # wake a chain only if that reads sooner by at least this much


def disable_account(
    instance: Instance,
    discord_message: str,
    repo: TaskRepository,
    pool: InstancePool,
    current_task_id: str | None = None,
    status: int = 401,
) -> str:
    """Discord rejected the token (401) or the account (403): take the account out of the pool
    and fail its tasks with a reason that says so (guard.py). Returns it."""
    reason = token_refused(instance, discord_message, status)
    return protect_account(instance, "disable", reason, repo, pool, current_task_id)


NO_ANSWER = (
    "Midjourney showed no answer within {seconds:g} s. In REST-poll mode its ephemeral replies "
    "(Banned prompt detected, Invalid parameter, subscription or fast-hours notices, a captcha) "
    "are invisible; run the gateway listener to get Midjourney's own reason"
)


def _png(data: bytes) -> bytes | None:
    """Previews come as WebP; S3 keeps PNG like every other image of the task."""
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            buf = io.BytesIO()
            img.convert("RGB").save(buf, format="PNG")
            return buf.getvalue()
    except Exception:  # a broken preview must not stop the task
        log.info("preview not decodable", exc_info=True)
        return None


def next_delay(previous: float | None, base: float, ceiling: float, quiet: bool) -> float:
    """The delay before the next run. A run that saw something new (or must look again soon)
    goes back to the base interval; a quiet one doubles the previous delay, up to `ceiling`:
    Midjourney's progress edits come several seconds apart and a queued job may wait minutes,
    so most reads in between find nothing, and each costs a Lambda run and SQS messages."""
    if not quiet:
        return base
    return min(ceiling, max(previous or 0.0, base) * 2)


def awaiting_first_message(tasks: list[Task]) -> bool:
    """A running task has no Midjourney message bound yet: it was sent moments ago (its sentAt
    may not even be written when a fresh chain's first run reads), or is about to be. Its first
    answer is due within seconds and decides how soon it shows progress: no back-off then."""
    return any(not Candidate.of(t).bound for t in tasks)


@dataclass
class RunReport:
    """What one run did (for logs and the measurements)."""

    messages: int = 0
    matched: int = 0
    changed: int = 0  # matched messages that changed a task (or must be read again soon)
    quiet: bool = False  # nothing new: the next delay may grow
    api_calls: int = 0
    next_delay: float | None = None
    gateway: bool = False  # stopped: the gateway listener covers the account


class Poller:
    def __init__(
        self,
        repo: TaskRepository | None = None,
        pool: InstancePool | None = None,
        discord: DiscordSettings | None = None,
    ) -> None:
        self.repo = repo or TaskRepository()
        self.pool = pool or InstancePool()
        self.state = DiscordState(self.pool)
        self.discord = discord or DiscordSettings.from_env()
        self.worker = Worker(self.repo, self.pool)

    # ---- the chain ---------------------------------------------------------------------------
    def _poll_seconds(self, instance: Instance) -> float:
        try:
            return float(instance.settings.get("pollSeconds", self.discord.poll_seconds))
        except (TypeError, ValueError):
            return self.discord.poll_seconds

    def _lease_until(self, delay: float) -> int:
        return now_ms() + int(delay * 1000) + LEASE_SLACK_MS

    def _enqueue(self, instance_id: str, token: str, delay: float) -> None:
        """The chain's next message; it carries its delay, which the next run doubles if it
        finds nothing new."""
        if not self.discord.poller_queue_url:
            raise RuntimeError("DISCORD_POLLER_QUEUE_URL is not set")
        aws_client("sqs").send_message(
            QueueUrl=self.discord.poller_queue_url,
            MessageBody=json.dumps({"instanceId": instance_id, "lease": token, "delay": delay}),
            DelaySeconds=max(0, min(900, int(round(delay)))),
        )

    def _wake(self, instance: Instance) -> bool:
        """A live chain whose next message is due later than the base interval from now (it
        backed off while Midjourney was quiet) gets a copy of that message, with the same lease
        token, due at the base interval: a new job is then read as soon as without back-off.
        Whichever of the two runs first hands the lease on; the other finds a stale token and
        stops, as a duplicated SQS delivery does. True when a copy was sent."""
        item = self.state.read(instance.id)
        base = self._poll_seconds(instance)
        due = item.poller.due_at
        now = now_ms()
        if not item.lease or item.lease_until < now or not due:
            return False
        if due - now <= base * 1000 + WAKE_MARGIN_MS:
            return False
        self._enqueue(instance.id, item.lease, base)
        return True

    def gateway_covers(self, item: AccountItem, tasks: list[Task] | None = None) -> bool:
        """The gateway listener (gateway_events.py) has seen every event the running tasks can
        get that the last REST read did not: no read is needed."""
        now = now_ms()
        if tasks is None:
            tasks = [t for t in (self.repo.get(i) for i in item.running) if t and not t.terminal]
        # A task's messages all come after its interaction, hence after its submit time.
        floor = min((int(t.submitTime or now) for t in tasks), default=now)
        return item.gateway_covers(max(floor, int(item.poller.read_at or 0)), now)

    def ensure(self, instance: Instance) -> bool:
        """Start the account's poller unless one is alive (then wake it if it backed off), or
        the gateway listener covers the account. True when this call started it."""
        item = self.state.read(instance.id)
        if item.gateway_since and self.gateway_covers(item):
            return False
        if not self.discord.poller_queue_url:
            log.warning("no poller queue configured; Discord results will not be read")
            return False
        token = uuid.uuid4().hex
        if not self.state.acquire_lease(
            instance.id, token, self._lease_until(self._poll_seconds(instance))
        ):
            self._wake(instance)
            return False
        self._enqueue(instance.id, token, 0)
        return True

    def ensure_all(self) -> int:
        """Start the pollers of every enabled midjourney account with running tasks (for a
        scheduled sweep: a chain that died restarts even if no new task arrives)."""
        started = 0
        for instance in self.pool.enabled():
            if instance.provider == "midjourney" and self.state.read(instance.id).running:
                started += int(self.ensure(instance))
        return started

    def run(self, instance_id: str, token: str, previous_delay: float | None = None) -> RunReport:
        """One delivery of the account's poller message (enqueued `previous_delay` s ago)."""
        report = RunReport()
        item = self.state.read(instance_id)
        if item.lease != token:
            log.info("stale poller message dropped", extra={"instance": instance_id})
            return report
        instance = self.pool.instance(instance_id)
        if instance is None or not instance.enable:
            self.state.release_lease(instance_id, token, item.poller, item.gateway_retired)
            return report
        tasks = [t for t in (self.repo.get(i) for i in item.running) if t and not t.terminal]
        if not tasks:
            # Nothing to wait for: stop. A task that took a slot meanwhile will call ensure()
            # after its interaction, and this release happens before we look again.
            if self.state.release_lease(instance_id, token, item.poller, item.gateway_retired):
                if self.state.read(instance_id).running:
                    self.ensure(instance)
            return report
        if item.gateway_since and self.gateway_covers(item, tasks):
            # The listener sees everything from here on: stop. Its "down" status, the next
            # interaction or the watchdog starts the chain again if it goes away.
            self.state.release_lease(instance_id, token, item.poller, item.gateway_retired)
            report.gateway = True
            return report
        account = Account.from_instance(instance, self.discord)
        client = DiscordClient(account, self.discord)
        poller = item.poller
        delay = account.poll_seconds
        awaiting = awaiting_first_message(tasks)
        try:
            read_at = now_ms()
            messages = self._read(client, poller, tasks)
            poller.read_at = read_at
        except RateLimited as exc:
            delay = max(delay, exc.retry_after)
            messages = None
        except Unauthorized as exc:
            disable_account(instance, exc.message, self.repo, self.pool, status=exc.status)
            self.state.release_lease(instance_id, token, poller, item.gateway_retired)
            return report
        except DiscordError as exc:  # Transient included: try again next time
            log.warning("reading the channel failed", extra={"status": exc.status})
            messages = None
        if messages is not None:
            report.messages = len(messages)
            report.matched, report.changed = self._process(
                messages, tasks, poller, client, item.gateway_retired, instance,
                load_retired=lambda: self.state.load_retired(instance_id, poller),
            )  # fmt: skip
            report.changed += self._expire_unanswered(tasks, now_ms())
            # A failed read (messages None) is not quiet: it is retried at the base interval.
            report.quiet = not report.changed and not awaiting
            ceiling = self.discord.max_poll_seconds(delay)
            delay = next_delay(previous_delay, delay, ceiling, report.quiet)
        report.api_calls = client.calls
        report.next_delay = delay
        new_token = uuid.uuid4().hex
        self._enqueue(instance_id, new_token, delay)
        poller.due_at = now_ms() + int(delay * 1000)
        self.state.rotate_lease(instance_id, token, new_token, self._lease_until(delay), poller,
                                item.gateway_retired)
        return report

    # ---- reading -------------------------------------------------------------------------------
    def _read(
        self, client: DiscordClient, poller: PollerState, tasks: list[Task]
    ) -> list[dict[str, Any]]:
        """Messages after the cursor, oldest first. Never before the oldest running task: older
        messages cannot be its answer, and after an idle period the cursor may be far behind."""
        oldest = min(int(t.submitTime or now_ms()) for t in tasks)
        floor = int(snowflake_at(oldest - START_MARGIN_MS))
        after = max(int(poller.after or 0), floor)
        poller.after = str(after)
        seen: dict[str, dict[str, Any]] = {}
        cursor = str(after)
        for _ in range(MAX_PAGES):
            page = client.messages(after=cursor, limit=PAGE_SIZE)
            for raw in page:
                seen[str(raw.get("id"))] = raw
            if len(page) < PAGE_SIZE:
                break
            cursor = str(max(int(raw["id"]) for raw in page))
        return sorted(seen.values(), key=lambda raw: int(raw["id"]))

    # ---- matching and applying -------------------------------------------------------------
    def _process(
        self,
        messages: list[dict[str, Any]],
        tasks: list[Task],
        poller: PollerState,
        client: DiscordClient,
        also_retired: frozenset[str] = frozenset(),
        instance: Instance | None = None,
        load_retired: Callable[[], None] | None = None,
    ) -> tuple[int, int]:
        """Match and apply the messages; (matched, changed): messages matched to a task, and
        those that changed a task, ended it, refused the account or must be read again soon.
        The retired keys are read (`load_retired`) only if a message needs them."""
        cands = [Candidate.of(t) for t in tasks]
        retired = RetiredKeys(poller, also_retired, load_retired)
        pins: list[int] = []  # messages to read again next time
        now = now_ms()
        newest = int(poller.after or 0)
        matched = changed = 0
        for raw in messages:
            msg = Message(raw)
            newest = max(newest, int(msg.id))
            event, cand = match(msg, cands, retired)
            if event.kind == "ignore":
                continue
            if event.kind == "account" and instance is not None:
                changed += 1
                self.protect(event, cand, instance)
                retired.retire(msg.id)  # read again later, it must not strike twice
                cands[:] = [c for c in cands if c is not cand]
                continue
            if cand is None:
                # Possibly the answer of a task whose write is not visible yet: look again for a
                # while before the cursor passes it.
                first = poller.unclaimed.setdefault(msg.id, now)
                if now - first < UNCLAIMED_GRACE_MS:
                    pins.append(int(msg.id))
                continue
            poller.unclaimed.pop(msg.id, None)
            matched += 1
            try:
                result = self._apply(event, cand, client)
            except Exception:
                log.exception("applying a Discord message failed", extra={"taskId": cand.task.id})
                result = "retry"
            changed += result != "unchanged"
            if result == "ended":
                keys = [*retired_keys(event), cand.interaction_id, cand.job_hash]
                keys += cand.message_ids
                retired.retire(*keys)
                cands[:] = [c for c in cands if c is not cand]
            elif result == "retry" or event.kind in ("start", "progress"):
                pins.append(int(msg.id))  # a running job's message is edited in place
        poller.after = str(min(pins) - 1) if pins else str(newest)
        # Forget unclaimed messages only once the cursor has passed them: an expired entry that
        # is still ahead of the cursor must not be taken for new and pinned all over again.
        poller.unclaimed = {k: v for k, v in poller.unclaimed.items() if int(k) > int(poller.after)}
        return matched, changed

    def protect(self, event: Event, cand: Candidate | None, instance: Instance) -> None:
        """An account-level refusal (matcher.account_refusal): its task fails, then the account
        is disabled or switched to relax with all its affected tasks (guard.py)."""
        action = event.account_action or "disable"
        reason = refused_by_midjourney(instance, event.reason or "", action)
        current = None
        if cand is not None:
            current = cand.task.id
            self.worker.apply_event(current, lambda t: Outcome.failed(reason))
        protect_account(instance, action, reason, self.repo, self.pool, current)

    def _expire_unanswered(self, tasks: list[Task], now: int) -> int:
        """REST-poll mode: a job sent long enough ago with no message of its own was refused
        ephemerally (or never reached Midjourney): fail it with a reason that says so. Returns
        how many it failed."""
        limit = self.discord.answer_seconds
        if limit <= 0:
            return 0
        reason = NO_ANSWER.format(seconds=limit)

        def unanswered(t: Task) -> bool:
            c = Candidate.of(t)
            return (
                t.status == TaskStatus.SUBMITTED
                and not c.bound
                and bool(c.sent_at)
                and (now - (c.sent_at or 0) >= limit * 1000)
            )

        failed = 0
        for task in tasks:  # as read before this run; apply_event checks a fresh read again
            if unanswered(task):
                done = self.worker.apply_event(
                    task.id, lambda t: Outcome.failed(reason) if unanswered(t) else None
                )
                failed += done is not None
        return failed

    def _hidden(self, task: Task) -> frozenset[str]:
        """Buttons that open a window (Custom Zoom; with Remix on, V/🔄/Vary/pans/Animate/Extend)
        are offered only while the listener is live: the window reaches nobody else (modals.py)."""
        instance_id = task.instanceId or ""
        session, _ = self.state.sending(instance_id)
        inst = self.pool.instance(instance_id)
        return hidden_families(session is not None, bool(inst and inst.flag("remix")))

    def _apply(self, event: Event, cand: Candidate, client: DiscordClient) -> str:
        """Apply one matched message; "ended" (task finished), "active" (task changed),
        "unchanged" (a message read again, as it was), or "retry"."""
        make: Any
        if event.kind == "failure":

            def make(t: Task) -> Outcome:
                return failure_outcome(event, t)

        elif event.kind == "describe":

            def make(t: Task) -> Outcome:
                return describe_outcome(event, t, cand)

        elif event.kind == "done" and extend.stage(cand.task) == extend.UPSCALE:

            def make(t: Task) -> Outcome | None:  # a video extend's next press (extend.py)
                return extend.upscaled(event.message, t)

        elif event.kind == "done" and (
            cand.task.action == TaskAction.VIDEO or is_video_result(event)
        ):
            try:  # the clips, from Discord's and Midjourney's CDNs (video.py)
                make = fetch_result(event, cand, client, self._hidden(cand.task))
            except DiscordError as exc:
                log.warning("video download failed", extra={"status": exc.status})
                return "retry"
            except (OSError, ValueError) as exc:  # not a video PyAV can read: it never will be
                reason = f"video result unreadable: {exc}"

                def make(t: Task) -> Outcome:
                    return Outcome.failed(reason)
        elif event.kind == "done":
            try:
                image = client.download(event.image_url or "")
            except DiscordError as exc:
                log.warning("result download failed", extra={"status": exc.status})
                return "retry"

            hidden = self._hidden(cand.task)

            def make(t: Task) -> Outcome:
                return done_outcome(event, t, cand, image, hidden)

        else:
            preview, linked = None, False
            url = event.image_url
            new = bool(
                event.kind == "progress" and url
                and url != cand.task.providerState.get("previewUrl")
            )  # fmt: skip
            if new and self.discord.previews == "link":
                # Clients get Discord's own CDN URL (wire.py): nothing downloaded or stored.
                linked = self.discord.download_allowed(url or "")
            elif new and images.preview_due(cand.task.previewAt, now_ms()):
                # not downloaded when the worker would not store it (MJ_PREVIEW_MIN_SECONDS)
                try:
                    preview = _png(client.download(url or ""))
                except DiscordError:
                    preview = None

            def make(t: Task) -> Outcome | None:
                return progress_outcome(event, t, cand, preview, linked)

        updated = self.worker.apply_event(cand.task.id, make)
        if updated is None:
            fresh = self.repo.get(cand.task.id)
            if fresh is None or fresh.terminal:
                return "ended"
            return "unchanged"
        cand.task = updated
        return "ended" if updated.terminal else "active"


def handle_message(body: str) -> RunReport | None:
    """One SQS record of the poller queue."""
    data = json.loads(body)
    instance_id, token = str(data["instanceId"]), str(data["lease"])
    delay = data.get("delay")  # absent in messages sent before the back-off existed
    settings()  # fail early on bad configuration
    return Poller().run(instance_id, token, float(delay) if delay is not None else None)

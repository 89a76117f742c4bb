"""The worker: one SQS job moves one task one step forward (design.md §4).

Ordering that keeps every task moving even when Lambda crashes or SQS delivers twice:
1. a job runs only if its `seq` equals the task's `seq` (older ones are duplicates: dropped;
   newer ones arrived before the previous step's write: re-sent with a short delay);
2. the provider step runs;
3. the follow-up job (seq + 1) is enqueued *before* the task is written, so a crash between
   the two leaves a job that waits for the write rather than a task that no job will ever touch;
4. the task is written with a conditional update on (status, seq), which also bumps seq.
A task waits for a slot without any job (mjproxy.queueing): its start job is sent by whoever gave
it a slot, and every way a task ends goes through `queueing.task_ended`, which starts the next one.
A step that raises is retried with backoff through a delayed copy of its job; on its last attempt
the task is failed with the error as failReason. A crashed or timed-out invocation is redelivered by
SQS, and the dead-letter handler fails anything that still slips through.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from typing import Any

from . import images, jobs, notify, observability, queueing, redact
from .actions import ALL_CAPABILITIES, buttons_for
from .config import Instance, Settings, settings
from .domain.task import (
    ACTIVE,
    FAILURE_PROGRESS,
    SUCCESS_PROGRESS,
    Task,
    TaskAction,
    TaskStatus,
    now_ms,
)
from .providers import Outcome, Provider, capabilities_of, get_provider, niji
from .store.instances import InstancePool
from .store.tasks import Conflict, TaskRepository

log = logging.getLogger(__name__)

EARLY_RETRY_LIMIT = 30
EARLY_RETRY_DELAY = 1
RETRY_BASE_DELAY = 2
RETRY_MAX_DELAY = 60


def worker_failure_reason(exc: BaseException, attempts: int) -> str:
    return f"任务执行失败(已尝试{attempts}次): {type(exc).__name__}: {exc}"[:500]


DEAD_LETTER_REASON = "任务执行失败: 重试次数已用尽"


@dataclass
class WorkerContext:
    """The ProviderContext the worker hands to providers."""

    settings: Settings
    instance: Instance
    repo: TaskRepository

    def inputs(self, task: Task) -> list[bytes]:
        return [images.get(key) for key in task.refKeys]

    def parent(self, task: Task) -> Task | None:
        return self.repo.get(task.parentId) if task.parentId else None

    def parent_quadrant(self, task: Task) -> bytes:
        parent = self.parent(task)
        if parent is None or not parent.quadrantKeys or not task.index:
            raise LookupError(f"parent quadrant of {task.id} not available")
        key = parent.quadrantKeys[task.index - 1]
        return images.quadrant(key, stored=not parent.quadrantsLazy)

    def parent_grid(self, task: Task) -> bytes:
        parent = self.parent(task)
        if parent is None or not parent.imageKey:
            raise LookupError(f"parent image of {task.id} not available")
        return images.get(parent.imageKey)

    def blob(self, key: str) -> bytes:
        return images.get(key)

    def now_ms(self) -> int:
        return now_ms()


def job_hash(task: Task) -> str:
    """A Midjourney-style job UUID for the buttons when the provider has none of its own."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"mjproxy:{task.id}"))


def outcome_changes(
    task: Task, outcome: Outcome, now: int, capabilities: frozenset[str] = ALL_CAPABILITIES
) -> dict[str, Any]:
    """Translate a provider outcome into task attribute changes (storing images on the way).
    `capabilities` are the provider's: a result only offers the buttons it can honour."""
    changes: dict[str, Any] = {}
    if outcome.state:
        changes["providerState"] = {**task.providerState, **outcome.state}
    properties = {**task.properties, **outcome.properties}
    if outcome.prompt is not None:
        changes["prompt"] = outcome.prompt
        changes["promptEn"] = outcome.prompt
    started = task.startTime or now
    if outcome.seed is not None:
        changes["seed"] = int(outcome.seed)
    if outcome.kind == "submitted":
        changes.update(status=TaskStatus.SUBMITTED, progress="0%", startTime=started)
    elif outcome.kind == "progress":
        changes.update(status=TaskStatus.IN_PROGRESS, progress=outcome.progress, startTime=started)
        if outcome.preview and images.preview_due(task.previewAt, now):
            key = images.preview_key(task.id)
            images.put(key, outcome.preview)
            changes.update(previewKey=key, previewAt=now)
    elif outcome.kind == "done":
        properties.setdefault("messageHash", job_hash(task))
        changes.update(
            status=TaskStatus.SUCCESS,
            progress=SUCCESS_PROGRESS,
            startTime=started,
            finishTime=now,
            failReason=None,
        )
        if outcome.result == "grid":
            lazy = images.quadrants_on_read()
            key, quadrants = images.store_grid(task.id, outcome.image or b"", not lazy)
            changes.update(imageKey=key, quadrantKeys=quadrants)
            if lazy:
                changes["quadrantsLazy"] = True
        elif outcome.result == "single":
            key = images.single_key(task.id)
            images.put(key, outcome.image or b"")
            changes["imageKey"] = key
        elif outcome.result == "video":
            key = images.video_key(task.id)
            images.put(key, outcome.video or b"", "video/mp4")
            still = images.single_key(task.id)
            images.put(still, outcome.image or b"")
            keys = [key]
            for n, extra in enumerate(outcome.more_videos, start=2):
                if isinstance(extra, bytes):
                    keys.append(images.video_key(task.id, n))
                    images.put(keys[-1], extra, "video/mp4")
                else:
                    keys.append(extra)  # a link (wire.py shows it as it is)
            changes.update(videoKeys=keys, imageKey=still)
        elif task.action == TaskAction.SHORTEN:  # text: the prompt stays the client's own
            text = outcome.text or ""
            changes["promptEn"] = text
            properties["finalPrompt"] = text
        else:  # text: DESCRIBE; its imageUrl is the described image
            text = outcome.text or ""
            changes.update(
                prompt=text, promptEn=text, imageKey=task.refKeys[0] if task.refKeys else None
            )
            properties["finalPrompt"] = text
        changes["buttons"] = (
            list(outcome.buttons)
            if outcome.buttons is not None
            else buttons_for(task, properties["messageHash"], capabilities)
        )
    elif outcome.kind == "failed":
        changes.update(
            status=TaskStatus.FAILURE,
            progress=FAILURE_PROGRESS,
            startTime=started,
            finishTime=now,
            failReason=redact.scrub(outcome.fail_reason) or "generation failed",
        )
    if properties != task.properties:
        changes["properties"] = properties
    return changes


# Providers that run SHORTEN themselves (midjourney: Discord's /shorten,
# providers/midjourney/shorten.py); every other instance runs it with the shortener package
# (local rules or the configured LLM).
OWN_SHORTEN: frozenset[str] = frozenset({"midjourney"})


def provider_for(task: Task, instance: Instance) -> Provider:
    if task.action == TaskAction.SHORTEN and instance.provider not in OWN_SHORTEN:
        from .shorten.provider import ShortenProvider

        return ShortenProvider()
    if task.action in (TaskAction.EDIT, TaskAction.RETEXTURE) and instance.provider == "local":
        from .edits.providers import LocalEditProvider

        return LocalEditProvider()
    if task.action == TaskAction.VIDEO:
        from .video.providers import video_provider

        return video_provider(instance.provider)
    return get_provider(instance.provider)


class Worker:
    def __init__(self, repo: TaskRepository | None = None, pool: InstancePool | None = None):
        self.repo = repo or TaskRepository()
        self.pool = pool or InstancePool()

    def handle(self, job: jobs.Job, receive_count: int = 1) -> None:
        task = self.repo.get(job.taskId)
        if task is None and job.step == jobs.START and job.attempt < EARLY_RETRY_LIMIT:
            # A submit reserves its place before it writes the task, and a finishing task may
            # start it in between: wait for the item (bounded) rather than drop its only job.
            jobs.send(replace(job, attempt=job.attempt + 1), EARLY_RETRY_DELAY)
            return
        if task is None or task.terminal:
            return
        if task.seq > job.seq:
            log.info("duplicate job dropped", extra={"taskId": task.id, "seq": job.seq})
            return
        if task.seq < job.seq:
            if job.attempt < EARLY_RETRY_LIMIT:
                jobs.send(replace(job, attempt=job.attempt + 1), EARLY_RETRY_DELAY)
            else:
                # The step that sent it never wrote: its own job is redelivered and sends
                # another (module docstring, 3.); if nothing does, the sweeper ends the task.
                log.warning(
                    "job ahead of its task dropped",
                    extra={"taskId": task.id, "seq": job.seq, "taskSeq": task.seq},
                )
            return
        instance = self.pool.instance(task.instanceId)
        if instance is None or not instance.enable:
            self.fail(task, f"账号不可用: {task.instanceId}")
            return
        provider = provider_for(task, instance)
        ctx = WorkerContext(settings=settings(), instance=instance, repo=self.repo)
        # What the generator sees (a Niji task's style phrase); `task` stays as stored.
        sent = niji.for_generator(task, ctx) if instance.provider in niji.PHRASED else task
        try:
            if job.step == jobs.START:
                outcome = provider.start(sent, ctx)
            else:
                outcome = provider.poll(sent, ctx)
        except Exception as exc:
            attempts = max(receive_count, job.attempt + 1)
            if attempts >= settings().worker_max_attempts:
                log.exception("step failed on its last attempt", extra={"taskId": task.id})
                self.fail(task, worker_failure_reason(exc, attempts), expected_seq=task.seq)
                return
            # Retry the same step with backoff ourselves rather than waiting for the queue's
            # visibility timeout (minutes, sized for the slowest provider call).
            log.warning("step failed; retrying", exc_info=True, extra={"taskId": task.id})
            jobs.send(
                replace(job, attempt=job.attempt + 1),
                min(RETRY_MAX_DELAY, RETRY_BASE_DELAY * 2**job.attempt),
            )
            return
        self.apply(task, job, outcome, capabilities_of(instance.provider))

    def apply(
        self,
        task: Task,
        job: jobs.Job,
        outcome: Outcome,
        capabilities: frozenset[str] = ALL_CAPABILITIES,
    ) -> Task | None:
        changes = outcome_changes(task, outcome, now_ms(), capabilities)
        status = changes.get("status", task.status)
        terminal = TaskStatus(status).terminal
        if not terminal and outcome.delay is not None:
            # A `wait` (throttled: the same step later) runs again where this job ran.
            lane = job.lane if outcome.kind == "wait" else outcome.lane
            jobs.send(jobs.Job(task.id, jobs.POLL, task.seq + 1, lane=lane), outcome.delay)
        try:
            updated = self.repo.update(task.id, changes, from_status=ACTIVE, expected_seq=task.seq)
        except Conflict:
            log.info("task moved on meanwhile; step result dropped", extra={"taskId": task.id})
            return None
        self.after_change(task, updated)
        return updated

    def apply_event(self, task_id: str, make_outcome: Any, attempts: int = 3) -> Task | None:
        """Apply an outcome produced outside the job chain (e.g. the Discord matcher reading a
        message): `make_outcome(task) -> Outcome | None` is called on a fresh read of the task and
        written conditionally on its seq, retried if the task moved on meanwhile. An outcome with
        a `delay` hands the task back to the job chain (a poll after that delay, sent before the
        write as in `apply`): e.g. a Discord video extend's next press (midjourney/extend.py)."""
        for _ in range(attempts):
            task = self.repo.get(task_id)
            if task is None or task.terminal:
                return None
            outcome = make_outcome(task)
            if outcome is None:
                return None
            changes = outcome_changes(task, outcome, now_ms(), self.capabilities(task))
            terminal = TaskStatus(changes.get("status", task.status)).terminal
            if outcome.delay is not None and not terminal:
                # A lost race leaves this job a seq the winner's write took: the provider's
                # step is safe to run again (a poll of a sent interaction only waits).
                job = jobs.Job(task.id, jobs.POLL, task.seq + 1, lane=outcome.lane)
                jobs.send(job, outcome.delay)
            try:
                updated = self.repo.update(
                    task.id, changes, from_status=ACTIVE, expected_seq=task.seq
                )
            except Conflict:
                continue
            self.after_change(task, updated)
            return updated
        return None

    def capabilities(self, task: Task) -> frozenset[str]:
        instance = self.pool.instance(task.instanceId)
        return capabilities_of(instance.provider) if instance else ALL_CAPABILITIES

    def fail(self, task: Task, reason: str, expected_seq: int | None = None) -> Task | None:
        now = now_ms()
        changes = {
            "status": TaskStatus.FAILURE,
            "progress": FAILURE_PROGRESS,
            # Every failReason passes here or through outcome_changes: never an ARN or repr.
            "failReason": redact.scrub(reason),
            "finishTime": now,
            "startTime": task.startTime or now,
        }
        try:
            updated = self.repo.update(
                task.id, changes, from_status=ACTIVE, expected_seq=expected_seq
            )
        except Conflict:
            return None
        self.after_change(task, updated)
        return updated

    def after_change(self, before: Task, after: Task) -> None:
        observability.task_changed(before, after, self.provider_of(after))
        if after.terminal:
            queueing.task_ended(after, self.pool)
        if (before.status, before.progress) != (after.status, after.progress):
            notify.task_changed(after)

    def provider_of(self, task: Task) -> str:
        """The provider behind the task's instance (a metric dimension); no extra read."""
        for instance in settings().instances:
            if instance.id == task.instanceId:
                return instance.provider
        return settings().provider

    def dead_letter(self, job: jobs.Job) -> None:
        task = self.repo.get(job.taskId)
        if task is None or task.terminal:
            return
        if task.seq > job.seq:
            # A stale copy: the step it carried was written and a later job moves the task on.
            log.info("stale dead-lettered job ignored", extra={"taskId": task.id, "seq": job.seq})
            return
        self.fail(task, DEAD_LETTER_REASON)

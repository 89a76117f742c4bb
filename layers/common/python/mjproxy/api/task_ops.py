"""Task routes of the plus API beyond fetch/lists: cancel and image-seed (plus-api.md §2.1)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import notify
from ..domain import codes
from ..domain.task import ACTIVE, FAILURE_PROGRESS, Task, TaskStatus, now_ms
from ..observability import logger
from ..store.instances import InstancePool
from ..store.tasks import Conflict, TaskRepository
from .errors import ProtocolError
from .tasks import visible

if TYPE_CHECKING:
    from ..config import Instance


def _find(repo: TaskRepository, task_id: str) -> Task:
    task = repo.get(task_id.strip()) if task_id and task_id.strip() else None
    if not visible(task):
        raise ProtocolError(codes.NOT_FOUND, codes.PARENT_NOT_FOUND)
    assert task is not None
    return task


def task_ended(task: Task, pool: InstancePool) -> None:
    """A task left the active set outside the worker: free its slot and queue place and start
    the next waiting task (mjproxy.queueing; the worker's `after_change` does the same)."""
    from ..queueing import task_ended as queue_task_ended

    queue_task_ended(task, pool)


def cancel(
    task_id: str, repo: TaskRepository | None = None, pool: InstancePool | None = None
) -> dict[str, Any]:
    """A waiting or running task ends as CANCEL at once. The write is conditional on the task
    still being active, and every worker write is conditional on that too, so a provider result
    that arrives later is dropped: a cancelled task never turns SUCCESS. On `midjourney` the
    job's own Cancel Job button is pressed and its later messages are retired
    (providers/midjourney/cancel.py); other providers' remote work is not recalled (none of
    them offers a cancel call)."""
    repo = repo or TaskRepository()
    pool = pool or InstancePool()
    task = _find(repo, task_id)
    if task.terminal:
        raise ProtocolError(codes.VALIDATION_ERROR, codes.PARENT_STATUS_INVALID)
    now = now_ms()
    changes = {
        "status": TaskStatus.CANCEL,
        "progress": FAILURE_PROGRESS,
        "failReason": codes.CANCEL_REASON,
        "finishTime": now,
        "startTime": task.startTime or now,
    }
    try:
        updated = repo.update(task.id, changes, from_status=ACTIVE)
    except Conflict:
        # It finished (or was cancelled) between our read and our write.
        raise ProtocolError(codes.VALIDATION_ERROR, codes.PARENT_STATUS_INVALID) from None
    task_ended(updated, pool)
    notify.task_changed(updated)
    _stop_provider_job(updated, pool)
    logger.info("task cancelled", extra={"taskId": task.id, "was": task.status.value})
    return {"code": codes.SUCCESS, "description": codes.OK, "result": task.id, "properties": {}}


def _stop_provider_job(task: Task, pool: InstancePool) -> None:
    """The provider's own cancel, after the answer is decided (it never changes the answer)."""
    try:
        instance = _midjourney_instance(task, pool)
    except Exception:
        logger.exception("instance unreadable; provider job left running")
        return
    if instance is not None:
        from ..providers.midjourney.cancel import stop_job

        done = stop_job(task, instance, pool)
        logger.info("midjourney job cancel", extra={"taskId": task.id, "result": done})


def known_seed(task: Task) -> int | None:
    """The seed the generator used: recorded by the provider (local, midjourney), else the
    first of the planned quadrant seeds (bedrock: re-using it with --seed reproduces the grid)."""
    if task.seed is not None:
        return int(task.seed)
    seeds = (task.providerState or {}).get("seeds")
    if isinstance(seeds, list) and seeds:
        try:
            return int(seeds[0])
        except (TypeError, ValueError):
            return None
    return None


def image_seed(
    task_id: str, repo: TaskRepository | None = None, pool: InstancePool | None = None
) -> dict[str, Any]:
    """`{code:1, description:"成功", result:"<seed>"}` for a finished image task; code 3 for an
    unknown one, code 4 关联任务状态错误 while it has no seed (unfinished, or text results). On
    `midjourney` the seed is asked of Midjourney (providers/midjourney/seed.py) and kept on the
    task; when that fails, code 4 says why (e.g. 请配置私聊频道)."""
    repo = repo or TaskRepository()
    task = _find(repo, task_id)
    seed = known_seed(task) if task.status == TaskStatus.SUCCESS else None
    if seed is None and task.status == TaskStatus.SUCCESS and task.imageKey:
        seed = _provider_seed(task, repo, pool or InstancePool())
    if seed is None:
        raise ProtocolError(codes.VALIDATION_ERROR, codes.PARENT_STATUS_INVALID)
    return {"code": codes.SUCCESS, "description": codes.OK, "result": str(seed), "properties": {}}


def _midjourney_instance(task: Task, pool: InstancePool) -> Instance | None:
    """The task's instance when it is an enabled midjourney account (the one provider with its
    own cancel and seed calls), else None."""
    instance = pool.instance(task.instanceId) if task.instanceId else None
    if instance is None or not instance.enable or instance.provider != "midjourney":
        return None
    return instance


def _provider_seed(task: Task, repo: TaskRepository, pool: InstancePool) -> int | None:
    instance = _midjourney_instance(task, pool)
    if instance is None:
        return None
    from ..providers.midjourney.seed import SeedUnavailable, fetch_seed

    try:
        seed = fetch_seed(task, instance, pool)
    except SeedUnavailable as exc:
        raise ProtocolError(codes.VALIDATION_ERROR, exc.reason) from None
    try:  # kept: the next ask costs nothing
        repo.update(task.id, {"seed": seed}, from_status=(TaskStatus.SUCCESS,), bump_seq=False)
    except Conflict:
        pass
    return seed

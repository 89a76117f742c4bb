"""Submit logic shared by the /mj/submit/* endpoints: validation in the protocol's order,
task creation, reference images to S3, instance choice and queueing, the envelope."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from .. import banned_words, images, queueing, translate
from ..actions.table import CHANGE_FAMILIES, ActionSpec, Capability, Modal, change_custom_id, parse
from ..config import Instance, settings
from ..domain import codes
from ..domain.prompts import (
    change_description,
    describe_description,
    parse_prompt,
)
from ..domain.task import GRID_RESULTS, Task, TaskAction, TaskStatus, new_nonce, new_task_id, now_ms
from ..store.instances import IdTaken, InstancePool, QueueFull, Reservation
from ..store.tasks import Conflict, TaskRepository
from .choice import BOT_TYPES, candidates
from .duplicates import submit_upscale_once
from .errors import ProtocolError
from .models import AccountFilter, ChangeRequest, ImagineRequest

ID_ATTEMPTS = 5
_KEYCAP = re.compile(r"^(?:\d\ufe0f?\u20e3|\d+[.)])\s*")  # "1️⃣ " or "1. " before a prompt
CHANGE_ACTIONS = (TaskAction.UPSCALE, TaskAction.VARIATION, TaskAction.REROLL)


@dataclass
class Services:
    repo: TaskRepository = field(default_factory=TaskRepository)
    pool: InstancePool = field(default_factory=InstancePool)


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def parse_images(values: list[str]) -> list[images.DataUrl]:
    out = []
    for value in values:
        try:
            out.append(images.parse_data_url(value))
        except images.ImageTooLarge as exc:
            mb = settings().max_image_bytes / (1024 * 1024)
            raise ProtocolError(
                codes.VALIDATION_ERROR, codes.BASE64_TOO_LARGE_FMT.format(mb=f"{mb:g}")
            ) from exc
        except images.TooManyPixels as exc:
            raise ProtocolError(
                codes.VALIDATION_ERROR,
                codes.IMAGE_TOO_MANY_PIXELS_FMT.format(mp=images.MAX_PIXELS // 1_000_000),
            ) from exc
        except images.UnreadableImage as exc:
            raise ProtocolError(codes.VALIDATION_ERROR, codes.IMAGE_UNREADABLE) from exc
        except images.InvalidImage as exc:
            raise ProtocolError(codes.VALIDATION_ERROR, codes.BASE64_INVALID) from exc
    return out


def bot_type_of(value: str | None) -> str:
    """`botType` of a plus request: MID_JOURNEY when absent, code 4 when unknown."""
    if _blank(value):
        return "MID_JOURNEY"
    bot = value.strip().upper()
    if bot not in BOT_TYPES:
        raise ProtocolError(codes.VALIDATION_ERROR, codes.BOT_TYPE_INVALID)
    return bot


def new_task(
    action: TaskAction,
    *,
    state: str | None,
    notify_hook: str | None,
    mode: str | None,
    bot_type: str | None = None,
) -> Task:
    now = now_ms()
    # The effective callback URL is fixed at creation: the request's, else the global default.
    hook = notify_hook if not _blank(notify_hook) else (settings().notify_hook or None)
    properties: dict[str, Any] = {"notifyHook": hook, "nonce": new_nonce(now)}
    if mode:
        # The speed mode of a /mj-fast|/mj-relax|/mj-turbo request, visible to clients.
        properties["mode"] = mode
    return Task(
        id=new_task_id(now),
        action=action,
        status=TaskStatus.NOT_START,
        state=state,
        submitTime=now,
        mode=mode,
        botType=bot_type,
        properties=properties,
        expiresAt=now // 1000 + settings().task_ttl_days * 86400,
    )


def choose_instance(
    pool: InstancePool,
    task: Task | None = None,
    account_filter: AccountFilter | None = None,
    providers: tuple[str, ...] | None = None,
) -> Instance:
    """BestWaitIdle (protocol.md §5.4): the least loaded enabled instance, ties broken at random,
    among those the task may use (its speed mode, bot and `accountFilter`: api/choice.py; only
    `providers` when given, for a capability few have); code 3 when none. A fast->relax
    fallback instance changes the task's mode."""
    enabled = pool.enabled()
    if providers is not None:
        enabled = [i for i in enabled if i.provider in providers]
    found = candidates(
        enabled,
        mode=task.mode if task else None,
        bot_type=task.botType if task else None,
        account_filter=account_filter,
    )
    if not found:
        raise ProtocolError(codes.NOT_FOUND, codes.NO_INSTANCE)
    chosen = _least_loaded(pool, [c.instance for c in found])
    if task is not None:
        mode = next(c.mode for c in found if c.instance.id == chosen.id)
        if mode != task.mode:
            task.mode = mode
            task.properties["mode"] = mode
    return chosen


def _least_loaded(pool: InstancePool, enabled: list[Instance]) -> Instance:
    if len(enabled) == 1:
        return enabled[0]
    loads = pool.loads()

    def wait(inst: Instance) -> int:
        return max(-1, loads.get(inst.id, 0) - inst.coreSize)

    best = min(wait(i) for i in enabled)
    return random.choice([i for i in enabled if wait(i) == best])


def accept(
    svc: Services, task: Task, instance: Instance, inputs: list[images.DataUrl] | None = None
) -> dict[str, Any]:
    """Queue a validated task on `instance`: reserve a place (code 23 when full, and then no task
    exists), store its input images, create it, start it if a slot is free (code 9 if its start
    job cannot be sent, and the task is failed rather than left waiting). Returns the envelope
    (code 1 or 22)."""
    props = {"discordInstanceId": instance.id}
    task.instanceId = instance.id
    task.properties["discordInstanceId"] = instance.id
    inherited = list(task.refKeys)  # e.g. 🔄 on a describe result describes the same image
    for _ in range(ID_ATTEMPTS):
        try:
            reservation = svc.pool.reserve(instance, task.id)
        except QueueFull as exc:
            raise ProtocolError(codes.QUEUE_REJECTED, codes.QUEUE_FULL, props) from exc
        except IdTaken:
            _new_id(task)  # a concurrent submit drew this id: its place is not ours to free
            continue
        try:
            task.refKeys = list(inherited)
            for n, image in enumerate(inputs or [], start=1):
                key = images.ref_key(task.id, n, image.ext)
                images.put_upload(key, image.data, image.content_type)
                task.refKeys.append(key)
            svc.repo.create(task)
            break
        except Conflict:
            svc.pool.release(task)  # the place is ours (reserve checked); an older task has the id
            _new_id(task)
        except Exception:
            svc.pool.release(task)
            raise
    else:
        raise ProtocolError(codes.FAILURE, codes.SUBMIT_FAILED, props)
    return start(svc, task, reservation, props)


def _new_id(task: Task) -> None:
    """Draw another id for a task whose id is taken."""
    old_id, task.id = task.id, new_task_id(task.submitTime)
    if task.action in (TaskAction.DESCRIBE, TaskAction.BLEND) and task.description:
        # `/describe <id>.<ext>` and `/blend <id> <n>` name the task itself.
        task.description = task.description.replace(old_id, task.id, 1)


def start(
    svc: Services, task: Task, reservation: Reservation, props: dict[str, Any]
) -> dict[str, Any]:
    """Start the task whose place is reserved if a slot is free and nobody waits ahead
    (mjproxy.queueing); else it waits, with no job, until a running task ends. If its start job
    cannot be sent the task is failed rather than left waiting (code 9); else code 1 or 22."""
    _, unsent = queueing.start_waiting(task.instanceId, reservation.slots, pool=svc.pool)
    if task.id in unsent:
        now = now_ms()
        try:
            ended = svc.repo.update(
                task.id,
                {
                    "status": TaskStatus.FAILURE,
                    "failReason": codes.SUBMIT_FAILED,
                    "progress": "100%",
                    "finishTime": now,
                    "startTime": now,
                },
                from_status=[TaskStatus.NOT_START],
            )
        except Conflict:
            ended = task
        queueing.task_ended(ended, svc.pool)
        raise ProtocolError(codes.FAILURE, codes.SUBMIT_FAILED, props)
    if reservation.ahead > 0:
        return envelope_queued(task.id, reservation.ahead, props)
    return {
        "code": codes.SUCCESS,
        "description": codes.SUBMIT_SUCCESS,
        "result": task.id,
        "properties": props,
    }


def confirm(
    svc: Services, task: Task, instance: Instance, changes: dict[str, Any]
) -> dict[str, Any]:
    """Queue a MODAL task confirmed by /mj/submit/modal: reserve its place now (a task waiting
    for its window holds none), apply `changes`, move it to NOT_START, start it when a slot is
    free."""
    props = {"discordInstanceId": instance.id}
    try:
        reservation = svc.pool.reserve(instance, task.id)
    except QueueFull as exc:
        raise ProtocolError(codes.QUEUE_REJECTED, codes.QUEUE_FULL, props) from exc
    except IdTaken:
        # A concurrent confirm of the same task holds the place (and will start it).
        raise ProtocolError(codes.VALIDATION_ERROR, codes.PARENT_STATUS_INVALID) from None
    try:
        updated = svc.repo.update(
            task.id,
            {**changes, "status": TaskStatus.NOT_START},
            from_status=[TaskStatus.MODAL],
            bump_seq=False,  # its start job (queueing.start_waiting) runs at seq 0
        )
    except Conflict:
        svc.pool.release(task)
        raise ProtocolError(codes.VALIDATION_ERROR, codes.PARENT_STATUS_INVALID) from None
    except Exception:
        svc.pool.release(task)
        raise
    return start(svc, updated, reservation, props)


def envelope_queued(task_id: str, ahead: int, props: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": codes.IN_QUEUE,
        "description": codes.IN_QUEUE_FMT.format(n=ahead),
        "result": task_id,
        "properties": {**props, "numberOfQueues": ahead},
    }


def english_checked(prompt: str) -> str:
    """Translation, then the banned-word check on the English text (protocol.md §5.6, §5.10):
    the promptEn to store, or code 24 with the word."""
    prompt_en = translate.prompt_en(prompt)
    hit = banned_words.check(prompt_en)
    if hit is not None:
        raise ProtocolError(
            codes.BANNED_PROMPT, codes.BANNED, {"promptEn": prompt_en, "bannedWord": hit.text}
        )
    return prompt_en


def prompt_task(
    action: TaskAction, body: Any, prompt: str, mode: str | None, bot_type: str | None = None
) -> Task:
    """A new task for a prompt-driven submit (imagine, shorten, video, edits): its prompt, the
    checked English promptEn (code 24 on a banned word) and `description "/<verb> <prompt>"`.
    `body` carries state, notifyHook and botType (`bot_type` overrides it, e.g. a parent's)."""
    task = new_task(
        action,
        state=body.state,
        notify_hook=body.notifyHook,
        mode=mode,
        bot_type=bot_type or bot_type_of(body.botType),
    )
    task.prompt = prompt
    task.promptEn = english_checked(prompt)
    task.description = f"/{action.value.lower()} {prompt}"
    return task


def submit_imagine(
    body: ImagineRequest, mode: str | None = None, svc: Services | None = None
) -> dict[str, Any]:
    svc = svc or Services()
    if _blank(body.prompt):
        raise ProtocolError(codes.VALIDATION_ERROR, codes.PROMPT_EMPTY)
    prompt = body.prompt.strip()
    task = prompt_task(TaskAction.IMAGINE, body, prompt, mode)
    raw_images = list(body.base64Array or [])
    if not _blank(body.base64):
        raw_images.append(body.base64)
    inputs = parse_images(raw_images)
    task.seed = parse_prompt(prompt).seed
    zh_prompt(task)
    instance = choose_instance(svc.pool, task, body.accountFilter)
    return accept(svc, task, instance, inputs)


def zh_prompt(task: Task) -> None:
    """`properties.finalZhPrompt`: the client's own Chinese prompt when it was translated (relays
    show it next to finalPrompt); unset otherwise."""
    if task.prompt and task.promptEn and task.prompt != task.promptEn:
        if any("\u4e00" <= ch <= "\u9fff" for ch in task.prompt):
            task.properties["finalZhPrompt"] = task.prompt


def find_parent(svc: Services, task_id: str) -> Task:
    parent = svc.repo.get(task_id.strip())
    if parent is None or (parent.expiresAt and parent.expiresAt < now_ms() // 1000):
        raise ProtocolError(codes.NOT_FOUND, codes.PARENT_NOT_FOUND)
    return parent


def submit_change(
    body: ChangeRequest, mode: str | None = None, svc: Services | None = None
) -> dict[str, Any]:
    svc = svc or Services()
    if _blank(body.taskId):
        raise ProtocolError(codes.VALIDATION_ERROR, codes.TASK_ID_EMPTY)
    if body.action not in CHANGE_ACTIONS:
        raise ProtocolError(codes.VALIDATION_ERROR, codes.ACTION_INVALID)
    return change(
        svc,
        body.taskId,
        body.action,
        body.index,
        state=body.state,
        notify_hook=body.notifyHook,
        mode=mode,
    )


def change(
    svc: Services,
    parent_id: str,
    action: TaskAction,
    index: int | None,
    *,
    state: str | None,
    notify_hook: str | None,
    mode: str | None,
) -> dict[str, Any]:
    """UPSCALE / VARIATION / REROLL of a finished grid task (protocol.md §3.2, §5.1): the
    button's own customId from the family table, pressed through `press`."""
    if action != TaskAction.REROLL and (index is None or not 1 <= index <= 4):
        raise ProtocolError(codes.VALIDATION_ERROR, codes.INDEX_INVALID)
    parent = find_parent(svc, parent_id)
    if parent.status != TaskStatus.SUCCESS:
        raise ProtocolError(codes.VALIDATION_ERROR, codes.PARENT_STATUS_INVALID)
    if parent.action not in GRID_RESULTS:
        raise ProtocolError(codes.VALIDATION_ERROR, codes.PARENT_ACTION_INVALID)
    spec = parse(change_custom_id(action, index, parent))
    assert spec is not None  # the table builds it
    return press(svc, parent, spec, state=state, notify_hook=notify_hook, mode=mode)


def parent_instance(svc: Services, parent: Task) -> Instance:
    instance = svc.pool.instance(parent.instanceId)
    if instance is None or not instance.enable:
        raise ProtocolError(
            codes.NOT_FOUND, codes.INSTANCE_UNAVAILABLE_FMT.format(id=parent.instanceId)
        )
    return instance


def press(
    svc: Services,
    parent: Task,
    spec: ActionSpec,
    *,
    state: str | None,
    notify_hook: str | None,
    mode: str | None,
    remix: bool = False,
) -> dict[str, Any]:
    """Create the child task of a button press on `parent` (already validated): queued at once,
    or saved as MODAL waiting for /mj/submit/modal (answer code 21, plus-api.md §2.1.2)."""
    instance = parent_instance(svc, parent)
    fam = spec.family
    task = new_task(
        fam.action,
        state=state,
        notify_hook=notify_hook,
        mode=mode or parent.mode,
        bot_type=parent.botType,
    )
    task.parentId = parent.id
    task.customId = spec.custom_id
    task.index = spec.index if fam.action in (TaskAction.UPSCALE, TaskAction.VARIATION) else None
    task.prompt, task.promptEn = parent.prompt, parent.promptEn
    if fam.capability == Capability.IMAGINE:  # "imagine this prompt" on a describe result
        task.prompt = task.promptEn = described_prompt(parent, spec.index or 1)
        task.seed = parse_prompt(task.prompt).seed
    elif fam.action == TaskAction.DESCRIBE:  # 🔄 on a describe result: the same image again
        task.prompt = task.promptEn = None
        task.refKeys = list(parent.refKeys)
    if spec.motion is not None:  # Animate / Extend: the video renders the parent's image
        task.providerState = {"motion": spec.motion, "loop": False, "endImage": False}
    if fam.action == TaskAction.DESCRIBE:
        ext = parent.refKeys[0].rpartition(".")[2] if parent.refKeys else "png"
        task.description = describe_description(task.id, ext)
    elif fam.name in CHANGE_FAMILIES.values():
        task.description = change_description(parent.id, fam.action, task.index)
    else:
        task.description = f"/up {parent.id} {fam.name}" + (f" {spec.arg}" if spec.arg else "")
    if fam.capability != Capability.IMAGINE and parent.properties.get("finalPrompt") is not None:
        task.properties["finalPrompt"] = parent.properties["finalPrompt"]
    message_id = parent.properties.get("messageId")
    if message_id:
        task.properties["progressMessageId"] = message_id
        task.properties["referencedMessageId"] = message_id
    if fam.modal == Modal.ALWAYS or (fam.modal == Modal.REMIX and remix):
        return save_modal(svc, task, instance)
    if fam.action == TaskAction.UPSCALE and settings().duplicate_upscale:
        return submit_upscale_once(svc.repo, parent, task, lambda: accept(svc, task, instance))
    return accept(svc, task, instance)


def described_prompt(parent: Task, n: int) -> str:
    """The n-th prompt of a describe or /shorten result, without its 1️⃣ keycap. A /shorten
    answer has headed sections ("## Important tokens", "## Shortened prompts"): only its
    keycapped lines are prompts."""
    lines = [ln.strip() for ln in (parent.promptEn or parent.prompt or "").splitlines()]
    keyed = [ln for ln in lines if _KEYCAP.match(ln)]
    prompts = keyed or [ln for ln in lines if ln]
    if not prompts:
        raise ProtocolError(codes.VALIDATION_ERROR, codes.PARENT_STATUS_INVALID)
    return _KEYCAP.sub("", prompts[min(n, len(prompts)) - 1]).strip()


def save_modal(svc: Services, task: Task, instance: Instance) -> dict[str, Any]:
    """Store `task` as MODAL (no queue place yet, no job: /mj/submit/modal queues it; the sweeper
    fails it after MJ_MODAL_TIMEOUT_MINUTES) and answer code 21 "Waiting for window confirm"."""
    task.status = TaskStatus.MODAL
    task.instanceId = instance.id
    task.properties["discordInstanceId"] = instance.id
    for _ in range(ID_ATTEMPTS):
        try:
            svc.repo.create(task)
            break
        except Conflict:
            task.id = new_task_id(task.submitTime)
    else:
        raise ProtocolError(codes.FAILURE, codes.SUBMIT_FAILED)
    return {
        "code": codes.EXISTED,
        "description": codes.WAITING_FOR_CONFIRM,
        "result": task.id,
        "properties": {"finalPrompt": task.promptEn or task.prompt or "", "remix": True},
    }

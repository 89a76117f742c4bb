"""The `midjourney` provider: sends the task's interaction through the account's Discord user
(protocol.md §6.2–§6.4) and leaves the rest to the account's poller (poller.py), which reads the
channel and feeds the matcher.

`start` (and `poll`, while the interaction is not sent yet) does, in order: the uploads of the
task's images (remembered in providerState, so a retry does not upload again), a pause while an
ambiguous sibling job is still unbound (see `_sibling_in_flight`), the account's pacing claim, and
the interaction with a fresh nonce. Then it makes sure the account's poller runs and returns
`submitted` with no follow-up: the poller moves the task on.

Errors: 429 waits `retry_after` (the task is not failed); 401 disables the account and fails its
tasks; a stale command version refreshes the command index and retries once; Discord's other
refusals fail the task with Discord's own message (§6.2); upload failures with §6.4's texts.
"""

from __future__ import annotations

import logging
from typing import Any

from ...actions import Capability, spec_of
from ...domain.prompts import BlendDimensions
from ...domain.task import Task, TaskAction, TaskStatus, new_nonce, now_ms
from ...store.instances import InstancePool
from ...store.tasks import TaskRepository
from ..base import Outcome, Provider, ProviderContext
from . import extend, payloads
from .account import Account, DiscordSettings, app_of
from .commands import Commands, send_command
from .discord import DiscordClient, DiscordError, RateLimited, Transient, Unauthorized
from .matcher import KIND_ACTIONS, Candidate
from .messages import marker_seed, primary_prompt, seed_of
from .modals import refusal
from .poller import Poller, disable_account
from .state import DiscordState
from .upload import UploadFailed, ext_of, upload, upload_link
from .video import video_child, video_prompt

log = logging.getLogger(__name__)

TRANSIENT_ATTEMPTS = 4
# How long a job whose answer could be confused with a sibling's holds the sibling back: its
# first message normally arrives within seconds; an ephemeral error (invisible to REST) would
# otherwise block the sibling for good.
AMBIGUITY_HOLD_MS = 60_000
SPEED_MODES = ("fast", "relax", "turbo")
# Families done by pressing their button on the parent's message. "Imagine this prompt" and
# describe's 🔄 are not: their task carries the prompt / the image and runs as an /imagine and a
# /describe of its own.
PRESSED = frozenset(
    {Capability.UPSCALE, Capability.VARIATION, Capability.REROLL, Capability.UPSCALE_HD,
     Capability.VARY, Capability.VARY_REGION, Capability.OUTPAINT, Capability.ANIMATE,
     Capability.VIDEO_UPSCALE}
)  # fmt: skip
# Commands whose images are sent as links in the prompt (upload_link), not as attachments.
LINKED = (TaskAction.IMAGINE, TaskAction.VIDEO)


# A button child -> the children of the same message whose result text looks the same
# (matcher.KIND_ACTIONS). U results say their image number, so UPSCALE is not here.
LOOK_ALIKE: dict[TaskAction, frozenset[TaskAction]] = {
    action: frozenset(a for group in KIND_ACTIONS.values() if action in group for a in group)
    for action in (TaskAction.VARIATION, TaskAction.REROLL, TaskAction.PAN, TaskAction.ZOOM,
                   TaskAction.UPSCALE_HD)
}  # fmt: skip


def imagine_prompt(
    task: Task, account: Account, urls: list[str], fast_exhausted: bool = False
) -> str:
    """What /imagine receives: reference-image URLs first (§5.7), the English prompt, the speed
    mode of a /mj-fast|relax|turbo request (relax once the account's fast hours are exhausted,
    guard.py), and our --seed unless the user gave one."""
    prompt = (task.promptEn or task.prompt or "").strip()
    parts = [*urls, prompt] if urls else [prompt]
    text = " ".join(p for p in parts if p)
    mode = str(task.properties.get("mode") or task.mode or "").lower()
    if fast_exhausted:
        mode = "relax"
    if mode in SPEED_MODES and f"--{mode}" not in text:
        text += f" --{mode}"
    if account.seed_marker and seed_of(text) is None:
        text += f" --seed {marker_seed(task.id)}"
    return text


class MidjourneyProvider(Provider):
    name = "midjourney"

    def __init__(
        self,
        repo: TaskRepository | None = None,
        pool: InstancePool | None = None,
    ) -> None:
        self._repo = repo
        self._pool = pool

    @property
    def repo(self) -> TaskRepository:
        if self._repo is None:
            self._repo = TaskRepository()
        return self._repo

    @property
    def pool(self) -> InstancePool:
        if self._pool is None:
            self._pool = InstancePool()
        return self._pool

    # ---- Provider interface -------------------------------------------------------------
    def start(self, task: Task, ctx: ProviderContext) -> Outcome:
        if task.providerState.get("sentAt"):
            return self._already_sent(task, ctx)
        return self._send(task, ctx)

    def poll(self, task: Task, ctx: ProviderContext) -> Outcome:
        if task.providerState.get("sentAt"):
            return self._already_sent(task, ctx)
        return self._send(task, ctx)

    def _already_sent(self, task: Task, ctx: ProviderContext) -> Outcome:
        # A duplicated job after the interaction went out: never send twice, just make sure
        # somebody is reading the channel.
        Poller(self.repo, self.pool).ensure(ctx.instance)
        return Outcome(kind="wait", delay=None)

    # ---- sending ----------------------------------------------------------------------------
    def _send(self, task: Task, ctx: ProviderContext) -> Outcome:
        discord = DiscordSettings.from_env()
        account, fast_exhausted = DiscordState(self.pool).sending_account(ctx.instance, discord)
        client = DiscordClient(account, discord)
        state: dict[str, Any] = {}
        try:
            uploads = task.providerState.get("uploads")
            if uploads is None:
                uploads = self._upload(task, ctx, client)
                if uploads:
                    state["uploads"] = uploads
            hold = self._sibling_in_flight(task, account)
            if hold is not None:
                return Outcome.wait(hold, state=state)
            wait = self.pool.claim_interaction(account.id, account.interaction_interval_seconds)
            if wait > 0:
                return Outcome.wait(wait, state=state)
            nonce = new_nonce()
            sent_prompt = self._interact(
                task, ctx, client, account, nonce, uploads or {}, fast_exhausted
            )
        except RateLimited as exc:
            log.info("rate limited", extra={"taskId": task.id, "retryAfter": exc.retry_after})
            return Outcome.wait(max(exc.retry_after, 0.0), state=state)
        except Unauthorized as exc:
            reason = disable_account(
                ctx.instance, exc.message, self.repo, self.pool, task.id, exc.status
            )
            return Outcome.failed(reason)
        except Transient as exc:
            attempts = int(task.providerState.get("transient", 0)) + 1
            if attempts >= TRANSIENT_ATTEMPTS:
                return Outcome.failed(exc.message)
            return Outcome.wait(2.0**attempts, state={**state, "transient": attempts})
        except UploadFailed as exc:
            return Outcome.failed(exc.reason)
        except DiscordError as exc:
            return Outcome.failed(exc.message)
        state.update(sentAt=now_ms(), prompt=sent_prompt)
        try:
            Poller(self.repo, self.pool).ensure(ctx.instance)
        except Exception:
            # Raising now would retry the step and send the job twice; the poller watchdog
            # starts the chain within minutes instead.
            log.exception("could not start the account's poller", extra={"taskId": task.id})
        if extend.stage(task) == extend.PRESS:  # a video extend's 2nd press: still running
            progress = task.progress or "0%"
            return Outcome.in_progress(progress, None, state=state, properties={"nonce": nonce})
        return Outcome.submitted(None, state=state, properties={"nonce": nonce})

    def _interact(
        self,
        task: Task,
        ctx: ProviderContext,
        client: DiscordClient,
        account: Account,
        nonce: str,
        uploads: dict[str, Any],
        fast_exhausted: bool = False,
    ) -> str:
        """Send the interaction; returns the prompt sent (imagine) or a description of it."""
        spec = spec_of(task)
        # Custom Zoom, and remix-able buttons on a Remix-mode account, are pressed like any
        # button; their window is answered by the events Lambda (modals.py), which needs the
        # gateway listener. Vary (Region) is not supported.
        live, remix = bool(account.gateway_session), ctx.instance.flag("remix")
        refused = refusal(spec, live, remix) if spec is not None else None
        if refused is not None:
            raise DiscordError(0, refused)
        if extend.stage(task) is not None:  # /submit/video extend's presses (extend.py)
            refused = extend.refused(ctx.instance, self.pool, live)
            if refused is not None:  # the listener went away since the submit
                raise DiscordError(0, refused)
            message_id, flags, custom = extend.target(task, ctx.parent(task))
            app = app_of(task.botType)
            client.interact(payloads.button(account, nonce, message_id, flags, custom, app))
            return custom
        if spec is not None and spec.family.capability in PRESSED:
            return self._press(task, ctx, client, account, nonce, spec.custom_id)
        if task.action in (TaskAction.UPSCALE, TaskAction.VARIATION, TaskAction.REROLL):
            return self._press(task, ctx, client, account, nonce, None)
        commands = Commands(client, DiscordState(self.pool), client.discord.command_ttl_seconds)
        app = app_of(task.botType)  # botType NIJI_JOURNEY: the Niji bot's own commands
        files = [tuple(f) for f in uploads.get("files", [])]
        if task.action == TaskAction.IMAGINE:
            prompt = imagine_prompt(task, account, list(uploads.get("urls", [])), fast_exhausted)

            def build(cmd: Any) -> dict[str, Any]:
                return payloads.imagine(account, cmd, nonce, prompt)

            send_command(client, commands, "imagine", build, app)
            return prompt
        if task.action == TaskAction.VIDEO:  # /submit/video: an /imagine with --video (video.py)
            urls = list(uploads.get("urls", []))
            base = imagine_prompt(task, account, urls[:1], fast_exhausted)
            text = video_prompt(task, base, urls)
            send_command(
                client, commands, "imagine",
                lambda cmd: payloads.imagine(account, cmd, nonce, text), app,
            )  # fmt: skip
            return text
        if task.action == TaskAction.SHORTEN:
            text = (task.promptEn or task.prompt or "").strip()
            send_command(
                client, commands, "shorten",
                lambda cmd: payloads.imagine(account, cmd, nonce, text), app,
            )  # fmt: skip
            return f"/shorten {text}"
        if task.action == TaskAction.DESCRIBE:
            send_command(
                client, commands, "describe",
                lambda cmd: payloads.describe(account, cmd, nonce, files), app,
            )  # fmt: skip
            return f"/describe {files[0][0] if files else ''}"
        if task.action == TaskAction.BLEND:
            w, h = BlendDimensions(task.dimensions or "SQUARE").aspect
            dims = f"--ar {w}:{h}"
            send_command(
                client, commands, "blend",
                lambda cmd: payloads.blend(account, cmd, nonce, files, dims), app,
            )  # fmt: skip
            return f"/blend {len(files)} {dims}"
        raise DiscordError(0, f"unsupported action {task.action}")

    @staticmethod
    def _press(
        task: Task,
        ctx: ProviderContext,
        client: DiscordClient,
        account: Account,
        nonce: str,
        custom: str | None,
    ) -> str:
        """A type-3 component interaction on the parent's result message: the button's
        custom_id exactly as Midjourney attached it (task.customId), or, for a task made before
        customIds were stored, U/V/🔄 rebuilt from the parent's job hash (§6.3.2)."""
        parent = ctx.parent(task)
        props = parent.properties if parent else {}
        message_id, message_hash = props.get("messageId"), props.get("messageHash")
        if not message_id or not (custom or message_hash):
            raise DiscordError(0, "关联任务没有Discord消息 (parent has no Midjourney message)")
        custom = custom or payloads.custom_id(task.action, task.index, str(message_hash))
        flags = int(props.get("flags") or 0)
        app = app_of(task.botType)  # the bot whose message it is (children inherit botType)
        client.interact(payloads.button(account, nonce, str(message_id), flags, custom, app))
        return custom

    # ---- uploads (§6.4) -------------------------------------------------------------------
    def _upload(
        self, task: Task, ctx: ProviderContext, client: DiscordClient
    ) -> dict[str, Any] | None:
        if not task.refKeys:
            return None
        data = ctx.inputs(task)
        files: list[list[str]] = []
        urls: list[str] = []
        for n, (key, blob) in enumerate(zip(task.refKeys, data, strict=False), start=1):
            ext = ext_of(key)
            # Describe is matched back by this name (matcher.by_described_image).
            name = (
                f"{task.id}.{ext}" if task.action == TaskAction.DESCRIBE else f"{task.id}-{n}.{ext}"
            )
            if task.action in LINKED:
                urls.append(upload_link(client, name, blob))
            else:
                files.append([name, upload(client, name, blob)])
        return {"urls": urls} if task.action in LINKED else {"files": files}

    # ---- ambiguity -----------------------------------------------------------------------------
    def _sibling_in_flight(self, task: Task, account: Account) -> float | None:
        """Seconds to hold this task back while a job whose answer would look the same is sent
        but not yet bound to its task: a variation/reroll of the same grid, another blend, or an
        imagine of the same prompt without our --seed. Sent one at a time, "earliest sent" in the
        matcher is exact instead of a guess."""
        if not self._ambiguous(task, account):
            return None
        now = now_ms()
        for other_id in self.pool.counters(account.id)["running"]:
            if other_id == task.id:
                continue
            other = self.repo.get(other_id)
            if other is None or other.status not in (TaskStatus.SUBMITTED, TaskStatus.IN_PROGRESS):
                continue
            cand = Candidate.of(other)
            if cand.bound or not cand.sent_at or now - cand.sent_at > AMBIGUITY_HOLD_MS:
                continue
            if self._same_looking(task, other, account):
                return account.poll_seconds  # the sibling is bound by the next poll
        return None

    @staticmethod
    def _ambiguous(task: Task, account: Account) -> bool:
        if task.action in LOOK_ALIKE or task.action in (TaskAction.BLEND, TaskAction.SHORTEN):
            return True
        if video_child(task):  # Animate, Extend, a video's U<i>: told apart by send order
            return True
        if task.action in LINKED:
            return not account.seed_marker or seed_of(task.promptEn or task.prompt) is not None
        return False

    @staticmethod
    def _same_looking(task: Task, other: Task, account: Account) -> bool:
        if task.action in LOOK_ALIKE:
            # Children of one message whose results read alike ("Variations … by", "Zoom Out
            # by"): the matcher tells them apart by send order only.
            return other.action in LOOK_ALIKE[task.action] and other.properties.get(
                "referencedMessageId"
            ) == task.properties.get("referencedMessageId")
        if task.action in (TaskAction.BLEND, TaskAction.SHORTEN):
            return other.action == task.action  # answers told apart by send order only
        if video_child(task):  # two video answers replying to one message
            return video_child(other) and other.properties.get(
                "referencedMessageId"
            ) == task.properties.get("referencedMessageId")
        # Reference-image links differ per upload; the text is what Midjourney echoes alike.
        mine = primary_prompt(task.promptEn or task.prompt or "").replace("<link>", "")
        theirs = primary_prompt(str(other.providerState.get("prompt") or other.promptEn or ""))
        theirs = theirs.replace("<link>", "")
        return other.action == task.action and mine == theirs

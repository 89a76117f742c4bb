"""The Midjourney bot behind the simulator's Discord (a mixin of core.Simulator): its checks on a
prompt (banned words, parameters, aspect ratios) and its jobs - imagine, reroll, variation,
Vary/zoom/pan follow-ups, HD upscales, blend, upscale, describe - posted, queued at the
account's job limit, advanced with progress previews and finished on the simulator's clock.
core.py is the Discord side (routes, interactions, uploads, messages, the CDN)."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import art, cancel, formats, video

if TYPE_CHECKING:
    from .core import Account, Job

DEFAULT_BANNED = ("bloody", "decapitated", "nude", "gore")
KNOWN_PARAMS = {
    "ar", "aspect", "chaos", "c", "no", "q", "quality", "seed", "sameseed", "stop", "style",
    "s", "stylize", "tile", "v", "version", "niji", "iw", "weird", "w", "fast", "relax",
    "turbo", "repeat", "r", "sref", "cref", "cw", "sw", "sv", "p", "personalize", "raw",
    "video", "hd", "draft", "exp", "oref", "ow", "public", "stealth",
    "motion", "end", "bs",  # video jobs (sim/mjsim/video.py)
}  # fmt: skip
_PARAM = re.compile(r"(?:^|\s)--([A-Za-z][\w-]*)((?:\s+(?!--)[^\s]+)*)")
_AR = re.compile(r"^(\d{1,4}):(\d{1,4})$")


class MidjourneyBot:
    """Mixed into core.Simulator, whose state (accounts, clock, messages) these methods use."""

    # ================================================================== Midjourney: checks
    def _check_prompt(self, prompt: str) -> dict[str, Any] | None:
        """Midjourney's own checks on /imagine: an error embed, or None."""
        command = f"/imagine {prompt}"
        lowered = prompt.lower()
        for word in self.banned_words:
            if re.search(rf"\b{re.escape(word)}\b", lowered):
                return formats.banned_prompt_embed(command)
        unknown = []
        for m in _PARAM.finditer(prompt):
            name, value = m.group(1).lower(), m.group(2).strip()
            if name not in KNOWN_PARAMS:
                unknown.append(f"`--{name}`")
            elif name in ("ar", "aspect") and not self._aspect_ok(value):
                return formats.invalid_parameter_embed(f"Invalid value for --{name}", command)
            elif name == "seed" and (not value.isdigit() or int(value) > 4294967295):
                return formats.invalid_parameter_embed(
                    "Invalid value for --seed, must be an integer between 0 and 4294967295",
                    command,
                )
        if unknown:
            return formats.invalid_parameter_embed(
                f"Unrecognized parameter(s): {', '.join(unknown)}", command
            )
        return None

    @staticmethod
    def _aspect_ok(value: str) -> bool:
        m = _AR.match(value.strip())
        if not m or int(m.group(1)) == 0 or int(m.group(2)) == 0:
            return False
        w, h = int(m.group(1)), int(m.group(2))
        return 1 / 8 <= w / h <= 8

    @staticmethod
    def _aspect(prompt: str) -> tuple[int, int]:
        for m in _PARAM.finditer(prompt):
            if m.group(1).lower() in ("ar", "aspect"):
                a = _AR.match(m.group(2).strip())
                if a and int(a.group(1)) and int(a.group(2)):
                    return int(a.group(1)), int(a.group(2))
        return 1, 1

    def _error_reply(self, job: Job, embed: dict[str, Any] | None = None, **fields: Any) -> None:
        flags = 64 if self.ephemeral_errors else 0

        def post() -> None:
            msg = self._bot_post(job, embeds=[embed] if embed else [], flags=flags, **fields)
            job.final_message_id = msg["id"]
            job.finished_at = self.now()
            self.log.append({"t": self.now(), "event": "error", "job": job.id,
                             "nonce": job.nonce, "message_id": msg["id"]})  # fmt: skip

        self._at(self.start_delay, post)

    # ================================================================== Midjourney: jobs
    def _new_job(self, acct: Account, ix: str, nonce: str, kind: str, prompt: str,
                 command: str | None, **kw: Any) -> Job:  # fmt: skip
        from .core import Job  # core imports this module: a late import, no cycle

        job = Job(id=str(uuid.uuid4()), kind=kind, account=acct, interaction_id=ix,
                  interaction_type=2 if command else 3, command=command, nonce=nonce,
                  prompt=prompt, created_at=self.now(), session=self._session,
                  bot=self._app, **kw)  # fmt: skip
        self.jobs[job.id] = job
        return job

    def _references(self, prompt: str) -> list[bytes]:
        out = []
        for url in re.findall(r"https?://\S+", prompt):
            parts = urlsplit(url).path.split("/")
            if len(parts) >= 5 and parts[3] in self.blobs:
                out.append(self.blobs[parts[3]][0])
        return out

    def _imagine(self, acct: Account, ix: str, nonce: str, prompt: str) -> None:
        job = self._new_job(acct, ix, nonce, "imagine", formats.echo(prompt), "imagine")
        injected = self._inject.pop(0) if self._inject else None
        error = self._check_prompt(prompt)
        if error is not None:
            self._error_reply(job, error)
            return
        if injected == "failed":
            self._error_reply(job, None, content="Failed to process your command :(")
            return
        if injected == "action_needed":
            self._error_reply(job, formats.action_needed_embed(f"/imagine {prompt}"))
            return
        if injected == "captcha_message" or (injected == "captcha" and not self.current):
            self._error_reply(job, {"type": "rich", "title": "Verify you're human"},
                              iframe_path=f"/captcha/embedded/{uuid.uuid4().hex}")  # fmt: skip
            return
        if injected == "captcha":  # a modal for the invoking session, nothing in the channel
            payload = formats.captcha_dispatch(acct.channel_id, nonce, uuid.uuid4().hex)
            self._at(self.start_delay, lambda: self._emit(
                acct, "INTERACTION_IFRAME_MODAL_CREATE", payload, job.session))  # fmt: skip
            return
        if injected in formats.ACCOUNT_REFUSALS:
            self._error_reply(job, formats.account_refusal_embed(injected))
            return
        seed = re.search(r"--seed\s+(\d+)", prompt)
        # Same prompt and seed give the same picture, as in Midjourney; otherwise a new one.
        key = f"{job.prompt}|{seed.group(1)}" if seed else job.id
        job.image = art.grid(key, self._aspect(job.prompt), self._references(prompt))
        if video.is_video(prompt):
            job.kind = "video"
        self._schedule_grid_job(job)

    def _reroll(
        self, acct: Account, ix: str, nonce: str, parent: Job, prompt: str | None = None
    ) -> None:
        job = self._new_job(acct, ix, nonce, "reroll", prompt or parent.prompt, None,
                            parent_message_id=parent.final_message_id,
                            variation_label="Strong" if parent.kind == "variation" else None)  # fmt: skip
        job.image = art.grid(job.id, self._aspect(job.prompt))
        self._schedule_grid_job(job)

    def _variation(
        self, acct: Account, ix: str, nonce: str, parent: Job, index: int, prompt: str | None = None
    ) -> None:
        job = self._new_job(acct, ix, nonce, "variation", prompt or parent.prompt, None,
                            parent_message_id=parent.final_message_id, index=index,
                            variation_label="Strong")  # fmt: skip
        job.image = art.variation(parent.image, index, job.id)
        self._schedule_grid_job(job)

    def _follow_up(
        self, acct: Account, ix: str, nonce: str, parent: Job, kind: str, action: str,
        prompt: str | None = None,
    ) -> None:  # fmt: skip
        """Vary (Subtle)/(Strong), a pan or a zoom of an upscale: a new grid that starts from
        the upscaled image ("- Pan Left by", "- Zoom Out by", MjMessageParser.cs:33-70);
        `prompt`: the one a modal submitted (Custom Zoom)."""
        job = self._new_job(acct, ix, nonce, kind, prompt or parent.prompt, None,
                            parent_message_id=parent.final_message_id, action=action)  # fmt: skip
        job.image = art.grid(job.id, self._aspect(job.prompt), [parent.image])
        self._schedule_grid_job(job)

    def _upscale_hd(self, acct: Account, ix: str, nonce: str, parent: Job, kind: str) -> None:
        """Upscale (Subtle)/(Creative)/(2x)/(4x) of an upscale: "- Upscaled (Subtle) by"
        (MjMessageParser.cs:81-85), one image twice (4x: four times) the source's size, the
        follow-ups of an upscale without the upscalers."""
        label = "Subtle" if "subtle" in kind else "Creative" if "creative" in kind else kind[-2:]
        job = self._new_job(acct, ix, nonce, "upscale_hd", parent.prompt, None,
                            parent_message_id=parent.final_message_id,
                            action=f"Upscaled ({label})")  # fmt: skip
        job.image = art.resample(parent.image, 4 if kind.endswith("4x") else 2)

        def finish() -> None:
            name = f"{acct.username}_{formats.file_words(job.prompt)}_{job.id}.png"
            msg = self._bot_post(
                job,
                content=formats.grid_done(job.prompt, acct.user_id, self.mode, job.by,
                                          job.id if self.current else None),
                attachments=[self._attachment(acct.channel_id, job.image, name, "image/png")],
                components=formats.upscale_components(job.id, web=self.current, hd=True),
            )  # fmt: skip
            self._finished(job, msg)

        self._at(self.upscale_seconds, finish)

    def _blend(self, acct: Account, ix: str, nonce: str, images: list[bytes], dims: str) -> None:
        links = " ".join(formats.short_link(f"blend:{ix}:{i}") for i in range(len(images)))
        job = self._new_job(acct, ix, nonce, "blend", formats.echo(f"{links} {dims}"), "blend")
        job.image = art.grid(job.id, self._aspect(dims), images)
        self._schedule_grid_job(job)

    def _upscale(self, acct: Account, ix: str, nonce: str, parent: Job, index: int) -> None:
        job = self._new_job(acct, ix, nonce, "upscale", parent.prompt, None,
                            parent_message_id=parent.final_message_id, index=index)  # fmt: skip
        job.image = art.upscale(parent.image, index)

        def finish() -> None:
            name = f"{acct.username}_{formats.file_words(job.prompt)}_{job.id}.png"
            self._reply(
                job, parent, formats.upscale_done(job.prompt, acct.user_id, index),
                self._attachment(acct.channel_id, job.image, name, "image/png"),
                [*formats.upscale_components(job.id, web=self.current), video.animate_row(job.id)],
            )  # fmt: skip

        self._at(self.upscale_seconds, finish)

    def _reply(self, job: Job, parent: Job, content: str, attachment: dict[str, Any],
               components: list[dict[str, Any]]) -> None:  # fmt: skip
        """The final answer of a U (an image's, a video's): a reply (type 19) to the message
        whose button was pressed, with the one file."""
        acct = job.account
        msg = self._bot_post(
            job, type=19, content=content, attachments=[attachment], components=components,
            message_reference={"type": 0, "channel_id": acct.channel_id,
                               "guild_id": acct.guild_id, "message_id": parent.final_message_id},
        )  # fmt: skip
        self._finished(job, msg)

    def _describe(self, acct: Account, ix: str, nonce: str, image: bytes, filename: str) -> None:
        job = self._new_job(acct, ix, nonce, "describe", "", "describe")
        w, h = art.size_of(image)
        r, g, b = art.dominant_color(image)
        tone = "warm" if r >= b else "cool"
        ar = f"--ar {w // _gcd(w, h)}:{h // _gcd(w, h)}"
        job.text = "\n\n".join(
            f"{n}\ufe0f\u20e3 a {tone} {style} composition in rgb({r}, {g}, {b}) {ar}"
            for n, style in zip("1234", ("minimalist", "painterly", "photographic", "abstract"),
                                strict=True)
        )  # fmt: skip
        job.image = image

        def start() -> None:
            att = self._attachment(acct.channel_id, image, filename, "image/png")
            msg = self._bot_post(job, embeds=[{"type": "rich", "image": {"url": att["url"]},
                                               "color": 0}])  # fmt: skip
            job.message_id = msg["id"]

        def finish() -> None:
            msg = self.messages[acct.channel_id][job.message_id or ""]
            embed = dict(msg["embeds"][0], description=job.text)
            self._edit(acct.channel_id, msg["id"], embeds=[embed],
                       components=formats.describe_components(job.id))  # fmt: skip
            self._finished(job, msg)

        self._at(self.start_delay, start)
        self._at(self.start_delay + self.describe_seconds, finish)

    # ---- the grid pipeline: start message, queue, progress edits, final message ----------
    def _schedule_grid_job(self, job: Job) -> None:
        def post_start() -> None:
            content = formats.running(job.prompt, job.account.user_id, "Waiting to start",
                                      self.mode, job.by)  # fmt: skip
            msg = self._bot_post(job, content=content, components=cancel.components(job.id))
            job.message_id = msg["id"]
            self.log.append({"t": self.now(), "event": "start", "job": job.id,
                             "nonce": job.nonce, "message_id": msg["id"]})  # fmt: skip
            self._queued.setdefault(job.account.token, []).append(job)
            self._start_queued(job.account)

        self._at(self.start_delay, post_start)

    def _start_queued(self, acct: Account) -> None:
        running = self._running.setdefault(acct.token, [])
        queue = self._queued.setdefault(acct.token, [])
        if self.current:
            for job in queue:
                if not job.queued_notice and len(running) >= self.concurrency:
                    job.queued_notice = True  # the invoking user's notice, ephemeral
                    self._bot_post(job, embeds=[formats.job_queued_embed()], flags=64)
        while queue and len(running) < self.concurrency:
            job = queue.pop(0)
            running.append(job.id)
            job.started_at = self.now()
            for n, pct in enumerate(self.progress_steps, start=1):
                self._at(n * self.step_seconds, lambda job=job, pct=pct: self._progress(job, pct))
            steps = len(self.progress_steps) + 1
            self._at(steps * self.step_seconds, lambda job=job: self._finish_grid(job))

    def _progress(self, job: Job, pct: int) -> None:
        if job.cancelled:
            return
        acct = job.account
        preview = self._attachment(
            acct.channel_id, art.preview(job.image, pct), f"{job.id}_grid_0.webp", "image/webp"
        )
        content = formats.running(job.prompt, acct.user_id, f"{pct}%", self.mode,
                                  job.by)  # fmt: skip
        self._edit(acct.channel_id, job.message_id or "", content=content, attachments=[preview])

    def _finish_grid(self, job: Job) -> None:
        if job.cancelled:
            return
        acct = job.account
        if job.message_id:
            self.deleted.add(job.message_id)  # Midjourney deletes the progress message
            self._emit(acct, "MESSAGE_DELETE", {"id": job.message_id,
                                                "channel_id": acct.channel_id})  # fmt: skip
        name = f"{acct.username}_{formats.file_words(job.prompt)}_{job.id}.png"
        msg = (
            video.finish(self, job)
            if job.kind == "video"
            else self._bot_post(
                job,
                content=formats.grid_done(
                    job.prompt, acct.user_id, self.mode, job.by, job.id if self.current else None
                ),
                attachments=[self._attachment(acct.channel_id, job.image, name, "image/png")],
                components=formats.grid_components(job.id, web=self.current),
            )
        )
        self._running[acct.token].remove(job.id)
        self._finished(job, msg)
        self._start_queued(acct)

    def _finished(self, job: Job, msg: dict[str, Any]) -> None:
        job.final_message_id = msg["id"]
        job.finished_at = self.now()
        self.log.append({"t": self.now(), "event": "final", "job": job.id, "nonce": job.nonce,
                         "message_id": msg["id"], "kind": job.kind})  # fmt: skip


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return max(a, 1)

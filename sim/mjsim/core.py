"""The simulator: the subset of Discord's REST API that the proxy calls, with a Midjourney bot
behind it (protocol.md §6). One object holds all state; `handle` answers one HTTP request; the
bot's jobs advance on the simulator's clock (see clock.py), so tests need no sleeps.

Discord side: the guild command index, POST /interactions (payload checks, command versions,
known messages and buttons), attachment slots and uploads, channel messages (create, list with
`after`/`before`/`limit` newest first, get one), a CDN serving real PNG/WebP files from signed,
expiring URLs, 401 for unknown or revoked tokens, 429 with `retry_after` on demand.

Midjourney side (bot.py, mixed in): imagine / reroll / variation / blend jobs post a start
message, edit it with progress and a preview, delete it and post the final grid with its real
buttons; upscales reply to their grid; describe posts the image and then the four prompts; a
job-concurrency limit per account queues extra jobs at "Waiting to start"; banned words and
invalid parameters answer with red embeds (footer quoting the command), other failures on demand.
"""

from __future__ import annotations

import heapq
import hmac
import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import art, cancel, formats, modals, niji, seed, shorten, video
from .bot import DEFAULT_BANNED, MidjourneyBot
from .clock import ManualClock, RealClock
from .formats import MJ_APP_ID, MJ_AUTHOR

DISCORD_EPOCH_MS = 1420070400000
COMMAND_IDS = {
    "imagine": "938956540159881230",
    "describe": "1092492867185950852",
    "blend": "1062880104792997970",
    "info": "972289487818334209",
    "settings": "1000850743479255081",
    "shorten": "1121575372539039774",
    "show": "1169435442328911902",  # trueai Resources/ApiParams/seed.json
}


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
        return cls(status, json.dumps(data).encode(),
                   {"content-type": "application/json", **(headers or {})})  # fmt: skip


@dataclass
class Account:
    token: str
    user_id: str
    username: str
    guild_id: str
    channel_id: str
    revoked: bool = False
    remix: bool = False  # Remix mode on in its /settings: remix-able presses open a window

    @property
    def user(self) -> dict[str, Any]:
        return {"id": self.user_id, "username": self.username, "global_name": self.username,
                "avatar": None, "discriminator": "0", "public_flags": 0}  # fmt: skip


@dataclass
class Call:
    t: float
    method: str
    route: str
    status: int
    channel: str | None = None


@dataclass
class Job:
    """One Midjourney job (one interaction)."""

    id: str  # the job UUID (file names, button ids)
    kind: str  # imagine | reroll | variation | upscale | upscale_hd | pan | zoom | blend | describe
    account: Account
    interaction_id: str
    interaction_type: int
    command: str | None  # imagine / blend / describe, None for buttons
    nonce: str
    prompt: str  # as echoed
    image: bytes = b""  # the final image
    parent_message_id: str | None = None
    index: int | None = None
    variation_label: str | None = None
    action: str | None = None  # "Pan Left", "Zoom Out", "Upscaled (Subtle)": the text before "by"
    message_id: str | None = None  # progress message, then the final one
    final_message_id: str | None = None
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    text: str | None = None  # describe
    echoed: bool = False  # the nonce went out on the gateway with the job's first message
    session: str | None = None  # the interaction's session_id (session-scoped events)
    bot: str = MJ_APP_ID  # the application that runs it: Midjourney's or Niji's (niji.py)
    queued_notice: bool = False  # "Job queued" sent
    cancelled: bool = False  # its Cancel Job button was pressed (cancel.py)

    @property
    def by(self) -> str | None:
        if self.action:
            return self.action
        return f"Variations ({self.variation_label})" if self.variation_label else None


class Simulator(MidjourneyBot):
    def __init__(
        self,
        base_url: str = "http://mjsim.test",
        clock: Any = None,
        *,
        start_delay: float = 1.0,
        step_seconds: float = 1.0,
        progress_steps: tuple[int, ...] = (15, 31, 46, 62, 78, 93),
        upscale_seconds: float = 2.0,
        describe_seconds: float = 2.0,
        concurrency: int = 3,
        mode: str = "fast",
        banned_words: tuple[str, ...] = DEFAULT_BANNED,
        advance_per_read: float = 0.0,
        url_ttl_seconds: float = 86400.0,
        ephemeral_errors: bool = False,
        message_format: str = formats.CURRENT,
        session_scoped: bool = True,
    ) -> None:
        if message_format not in formats.FORMATS:
            raise ValueError(f"message_format must be one of {formats.FORMATS}")
        self.base_url = base_url.rstrip("/")
        self.clock = clock or RealClock()
        self.start_delay = start_delay
        self.step_seconds = step_seconds
        self.progress_steps = progress_steps
        self.upscale_seconds = upscale_seconds
        self.describe_seconds = describe_seconds
        self.concurrency = concurrency
        self.mode = mode
        self.banned_words = banned_words
        # Each channel read moves the clock on: a test that just keeps polling sees jobs advance.
        self.advance_per_read = advance_per_read
        self.url_ttl_seconds = url_ttl_seconds
        self.ephemeral_errors = ephemeral_errors
        # "current" (2026: Open-on-website link, web link button, captcha as a gateway modal,
        # "Job queued" notices) or "2024" (protocol.md §6.7 as the original parsed it).
        self.message_format = message_format
        # Discord delivers INTERACTION_* and modal events only to the gateway session named in
        # the interaction's session_id (trueai syncs it, DiscordWebSocketService.cs:2456).
        self.session_scoped = session_scoped
        self.lock = threading.RLock()
        self.accounts: dict[str, Account] = {}
        self.messages: dict[str, dict[str, dict[str, Any]]] = {}  # channel -> id -> message
        self.deleted: set[str] = set()
        self.blobs: dict[str, tuple[bytes, str]] = {}  # attachment id -> (bytes, content type)
        self.uploads: dict[str, bytes] = {}  # upload_filename -> bytes
        self._slots: dict[str, str] = {}  # upload id -> upload_filename
        self.jobs: dict[str, Job] = {}
        self.calls: list[Call] = []
        self.log: list[dict[str, Any]] = []
        self.versions = {name: str(1237876415471554623 + i) for i, name in enumerate(COMMAND_IDS)}
        self.versions.update({niji.key(niji.NIJI_APP_ID, name): str(1248805223892254774 + i)
                              for i, name in enumerate(niji.COMMAND_IDS)})  # fmt: skip
        self._app = MJ_APP_ID  # application of the interaction being handled (niji.py)
        self._events: list[tuple[float, int, Callable[[], None]]] = []
        self._event_time: float | None = None
        self._seq = 0
        self._last_snowflake = 0
        self._running: dict[str, list[str]] = {}  # account token -> running job ids
        self._queued: dict[str, list[Job]] = {}
        self._rate_limits: list[dict[str, Any]] = []
        self._inject: list[str] = []
        self._secret = uuid.uuid4().bytes
        self._session: str | None = None  # session_id of the interaction being handled
        self.windows: dict[str, modals.Window] = {}  # open modals by interaction id
        self.clips: dict[str, bytes] = {}  # video clips on Midjourney's CDN by path (video.py)
        self.dms: dict[str, str] = {}  # account token -> its DM channel with the bot (seed.py)
        self.shown: dict[str, str] = {}  # DM message id -> the job /show posted it for
        # Gateway: hooks(account, event name, payload) called for every dispatch (gateway.py).
        self.gateway_hooks: list[Callable[..., None]] = []

    # ================================================================== setup & test controls
    def add_account(
        self,
        token: str = "sim-user-token",
        *,
        user_id: str = "1100000000000000001",
        username: str = "simuser",
        guild_id: str = "1200000000000000001",
        channel_id: str = "1300000000000000001",
    ) -> Account:
        with self.lock:
            acct = Account(token, user_id, username, guild_id, channel_id)
            self.accounts[token] = acct
            self.messages.setdefault(channel_id, {})
            return acct

    def instance_config(self, acct: Account, **extra: Any) -> dict[str, Any]:
        """The account as an entry of MJ_INSTANCES."""
        return {"id": acct.channel_id, "provider": "midjourney", "guildId": acct.guild_id,
                "channelId": acct.channel_id, "userToken": acct.token, **extra}  # fmt: skip

    def advance(self, seconds: float) -> None:
        with self.lock:
            if isinstance(self.clock, ManualClock):
                self.clock.advance(seconds)
            self._catch_up()

    def rate_limit(self, count: int, retry_after: float = 0.5, route: str | None = None) -> None:
        """The next `count` API calls (of `route`, e.g. "interactions") answer 429."""
        with self.lock:
            self._rate_limits.append({"left": count, "retry_after": retry_after, "route": route})

    def redeploy_commands(self) -> None:
        """Midjourney redeployed its commands: every cached version is stale now."""
        with self.lock:
            self.versions = {name: str(int(v) + 1000) for name, v in self.versions.items()}

    def revoke(self, token: str) -> None:
        with self.lock:
            self.accounts[token].revoked = True

    def inject(self, failure: str) -> None:
        """Make the next imagine fail: "failed" (plain text), "action_needed", "captcha" (the
        gateway modal; "captcha_message": the old message form), or refuse the account:
        "credits_exhausted", "subscription_required", "subscription_paused", "blocked",
        "plan_cancelled", "pending_mod"."""
        with self.lock:
            self._inject.append(failure)

    def job_for_nonce(self, nonce: str) -> Job | None:
        with self.lock:
            return next((j for j in self.jobs.values() if j.nonce == nonce), None)

    def count(self, route: str | None = None, method: str | None = None) -> int:
        with self.lock:
            return sum(1 for c in self.calls if (route is None or c.route == route)
                       and (method is None or c.method == method))  # fmt: skip

    # ================================================================== time & ids
    def now(self) -> float:
        # While an event runs, "now" is the time it was due: what it schedules, the ids and
        # timestamps it creates, follow from that, however far the clock jumped meanwhile.
        return self._event_time if self._event_time is not None else self.clock.now()

    def _snowflake(self) -> str:
        ms = int(self.now() * 1000)
        value = max(self._last_snowflake + 1, (ms - DISCORD_EPOCH_MS) << 22)
        self._last_snowflake = value
        return str(value)

    def _at(self, delay: float, action: Callable[[], None]) -> None:
        self._seq += 1
        heapq.heappush(self._events, (self.now() + delay, self._seq, action))

    def _catch_up(self) -> None:
        while self._events and self._events[0][0] <= self.clock.now():
            due, _, action = heapq.heappop(self._events)
            self._event_time = due
            try:
                action()
            finally:
                self._event_time = None

    def _iso(self) -> str:
        return datetime.fromtimestamp(self.now(), UTC).isoformat()

    @property
    def current(self) -> bool:
        return self.message_format == formats.CURRENT

    def _emit(
        self, acct: Account, event: str, data: dict[str, Any], session: str | None = None
    ) -> None:
        """A gateway dispatch for the account's sessions (only the invoking user gets
        INTERACTION_* and ephemeral messages; here every account is its own user). `session`:
        a session-scoped event, for that gateway session only."""
        target = session if self.session_scoped else None
        for hook in list(self.gateway_hooks):
            hook(acct, event, json.loads(json.dumps(data)), target)

    # ================================================================== HTTP entry point
    def handle(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> Response:
        with self.lock:
            self._catch_up()
            parts = urlsplit(url)
            path = parts.path
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            hdrs = {k.lower(): v for k, v in headers.items()}
            if path.startswith("/attachments/"):
                return self._cdn(path, query)
            if path.startswith("/upload/"):
                return self._record(method, "upload", self._put_upload(path, body or b""))
            if path.startswith(video.CDN_PREFIX):
                return video.serve(self, path)
            if not path.startswith("/api/v9/"):
                return Response.json(404, {"message": "404: Not Found", "code": 0})
            return self._api(method, path[len("/api/v9") :], query, hdrs, body or b"")

    def _record(
        self, method: str, route: str, resp: Response, channel: str | None = None
    ) -> Response:
        self.calls.append(Call(self.now(), method, route, resp.status, channel))
        return resp

    def _api(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> Response:
        route = self._route(method, path)
        acct = self.accounts.get(headers.get("authorization", ""))
        if acct is None or acct.revoked:
            return self._record(
                method, route, Response.json(401, {"message": "401: Unauthorized", "code": 0})
            )
        limited = self._limited(route)
        if limited is not None:
            return self._record(method, route, limited)
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            return self._record(
                method, route, Response.json(400, {"message": "400: Bad Request", "code": 50109})
            )
        resp = self._dispatch(method, route, path, query, acct, payload)
        return self._record(method, route, resp, acct.channel_id)

    @staticmethod
    def _route(method: str, path: str) -> str:
        if path == "/interactions":
            return "interactions"
        if re.fullmatch(r"/guilds/\d+/application-command-index", path):
            return "command-index"
        if re.fullmatch(r"/channels/\d+/attachments", path):
            return "attachments"
        if re.fullmatch(r"/channels/\d+/messages", path):
            return "messages" if method == "GET" else "send-message"
        if re.fullmatch(r"/channels/\d+/messages/\d+", path):
            return "message"
        if seed.REACTION.match(path):
            return "reaction"
        return "unknown"

    def _limited(self, route: str) -> Response | None:
        for rule in self._rate_limits:
            if rule["left"] > 0 and rule["route"] in (None, route):
                rule["left"] -= 1
                retry = rule["retry_after"]
                return Response.json(
                    429,
                    {"message": "You are being rate limited.", "retry_after": retry, "global": False},
                    {"retry-after": str(max(1, round(retry))), "x-ratelimit-scope": "user",
                     "x-ratelimit-remaining": "0", "x-ratelimit-reset-after": str(retry)},
                )  # fmt: skip
        return None

    def _dispatch(
        self,
        method: str,
        route: str,
        path: str,
        query: dict[str, str],
        acct: Account,
        payload: Any,
    ) -> Response:
        ids = re.findall(r"\d+", path)
        if route == "command-index" and method == "GET":
            return self._command_index(acct, ids[0])
        if route == "interactions" and method == "POST":
            return self._interaction(acct, payload or {})
        if route == "attachments" and method == "POST":
            return self._upload_slots(acct, ids[0], payload or {})
        if route == "send-message" and method == "POST":
            return self._send_message(acct, ids[0], payload or {})
        if route == "messages" and method == "GET":
            return self._list_messages(acct, ids[0], query)
        if route == "reaction" and method == "PUT":
            return seed.react(self, acct, path)
        if route == "message" and method == "GET":
            return self._get_message(acct, ids[0], ids[1])
        return Response.json(404, {"message": "404: Not Found", "code": 0})

    # ================================================================== Discord: commands
    def _command_index(self, acct: Account, guild_id: str) -> Response:
        if guild_id != acct.guild_id:
            return Response.json(403, {"message": "Missing Access", "code": 50001})
        commands = [
            {"id": cid, "application_id": MJ_APP_ID, "version": self.versions[name],
             "name": name, "type": 1, "description": f"/{name}",
             "options": [], "integration_types": [0, 1], "contexts": [0, 1, 2]}
            for name, cid in COMMAND_IDS.items()
        ]  # fmt: skip
        commands += niji.index_entries(self.versions)
        apps = [{"id": MJ_APP_ID, "name": "Midjourney Bot", "bot_id": MJ_APP_ID},
                {"id": niji.NIJI_APP_ID, "name": "niji・journey Bot",
                 "bot_id": niji.NIJI_APP_ID}]  # fmt: skip
        return Response.json(200, {"applications": apps, "application_commands": commands,
                                   "version": self._snowflake()})  # fmt: skip

    @staticmethod
    def _form_error(field_name: str, code: str, message: str) -> Response:
        errors = {field_name: {"_errors": [{"code": code, "message": message}]}}
        return Response.json(400, {"code": 50035, "errors": errors, "message": "Invalid Form Body"})

    def _interaction(self, acct: Account, p: dict[str, Any]) -> Response:
        dm = seed.dm_of(self, acct)
        if dm is not None and str(p.get("channel_id")) == dm:
            return seed.interaction(self, acct, p)
        for name in ("application_id", "guild_id", "channel_id", "session_id", "nonce"):
            if not p.get(name):
                return self._form_error(name, "BASE_TYPE_REQUIRED", "This field is required")
        if str(p["application_id"]) not in niji.APPS:
            return Response.json(404, {"message": "Unknown Application", "code": 10002})
        self._app = str(p["application_id"])
        if str(p["guild_id"]) != acct.guild_id or str(p["channel_id"]) != acct.channel_id:
            return Response.json(403, {"message": "Missing Access", "code": 50001})
        nonce = str(p["nonce"])
        if not nonce.isdigit() or len(nonce) > 25:
            return self._form_error("nonce", "NONCE_TYPE_INVALID", "Invalid nonce")
        data = p.get("data") or {}
        interaction_id = self._snowflake()
        if p.get("type") == 2:
            name = data.get("name")
            cid = niji.command_id(self._app, str(name), COMMAND_IDS)
            if cid is None or str(data.get("id")) != cid:
                return Response.json(404, {"message": "Unknown interaction", "code": 10062})
            if str(data.get("version")) != self.versions[niji.key(self._app, str(name))]:
                return self._form_error(
                    "data", "INTERACTION_APPLICATION_COMMAND_INVALID_VERSION",
                    "This command is outdated, please try again in a few minutes",
                )  # fmt: skip
            self._session = str(p["session_id"])
            return self._interacted(
                acct, interaction_id, nonce, self._command(acct, interaction_id, nonce, name, data)
            )
        if p.get("type") == 3:
            self._session = str(p["session_id"])
            return self._interacted(
                acct, interaction_id, nonce, self._button(acct, interaction_id, nonce, p, data)
            )
        if p.get("type") == 5:
            self._session = str(p["session_id"])
            return self._interacted(
                acct, interaction_id, nonce, modals.submit(self, acct, interaction_id, nonce, data)
            )
        return self._form_error("type", "BASE_TYPE_CHOICES", "Value must be one of (2, 3, 5)")

    def _interacted(self, acct: Account, ix: str, nonce: str, resp: Response) -> Response:
        if resp.status == 204:
            session = self._session
            self._emit(acct, "INTERACTION_CREATE", {"id": ix, "nonce": nonce}, session)
            self._emit(acct, "INTERACTION_SUCCESS", {"id": ix, "nonce": nonce}, session)
        return resp

    def _options(self, data: dict[str, Any]) -> dict[str, Any]:
        return {o.get("name"): o.get("value") for o in data.get("options") or []}

    def _attachment_bytes(self, data: dict[str, Any], index: Any) -> bytes | None:
        for att in data.get("attachments") or []:
            if str(att.get("id")) == str(index):
                return self.uploads.get(str(att.get("uploaded_filename")))
        return None

    def _command(
        self, acct: Account, ix: str, nonce: str, name: str, data: dict[str, Any]
    ) -> Response:
        opts = self._options(data)
        if name == "imagine":
            prompt = opts.get("prompt")
            if not isinstance(prompt, str) or not prompt.strip():
                return self._form_error("data", "BASE_TYPE_REQUIRED", "prompt is required")
            self._imagine(acct, ix, nonce, prompt)
            return Response(204)
        if name == "describe":
            image = self._attachment_bytes(data, opts.get("image"))
            if image is None:
                return self._form_error("data", "ATTACHMENT_NOT_FOUND", "Unknown attachment")
            filename = next(
                (str(a.get("filename")) for a in data.get("attachments") or []), "image.png"
            )
            self._describe(acct, ix, nonce, image, filename)
            return Response(204)
        if name == "blend":
            images = []
            for i in range(1, 6):
                if f"image{i}" in opts:
                    blob = self._attachment_bytes(data, opts[f"image{i}"])
                    if blob is None:
                        return self._form_error(
                            "data", "ATTACHMENT_NOT_FOUND", "Unknown attachment"
                        )
                    images.append(blob)
            if len(images) < 2:
                return self._form_error("data", "BASE_TYPE_REQUIRED", "image2 is required")
            self._blend(acct, ix, nonce, images, str(opts.get("dimensions") or "--ar 1:1"))
            return Response(204)
        if name == "shorten":
            prompt = opts.get("prompt")
            if not isinstance(prompt, str) or not prompt.strip():
                return self._form_error("data", "BASE_TYPE_REQUIRED", "prompt is required")
            shorten.start(self, acct, ix, nonce, prompt)
            return Response(204)
        return Response(204)  # info / settings: accepted, nothing simulated

    def _button(
        self, acct: Account, ix: str, nonce: str, p: dict[str, Any], data: dict[str, Any]
    ) -> Response:
        message_id = str(p.get("message_id") or "")
        msg = self.messages.get(acct.channel_id, {}).get(message_id)
        if msg is None or message_id in self.deleted:
            return Response.json(404, {"message": "Unknown Message", "code": 10008})
        if not isinstance(p.get("message_flags"), int):
            return self._form_error("message_flags", "BASE_TYPE_REQUIRED", "This field is required")
        custom = str(data.get("custom_id") or "")
        known = [
            c.get("custom_id")
            for row in msg.get("components") or []
            for c in row.get("components") or []
        ]
        if custom not in known:
            return self._form_error(
                "data", "COMPONENT_VALIDATION_FAILED", "Component validation failed"
            )
        owner = next((j for j in self.jobs.values() if message_id in
                      (j.final_message_id, j.message_id)), None)  # fmt: skip
        if owner is not None and owner.bot != self._app:  # another bot's button
            return self._form_error(
                "data", "COMPONENT_VALIDATION_FAILED", "Component validation failed"
            )
        self.log.append({"t": self.now(), "event": "press", "custom_id": custom, "nonce": nonce})
        if cancel.press(self, acct, custom):
            return Response(204)
        parent = next((j for j in self.jobs.values() if j.final_message_id == message_id), None)
        if parent is None:
            return Response(204)
        parts = custom.split("::")
        if acct.remix and modals.open_remix(self, acct, ix, nonce, parent, parts):
            return Response(204)
        if video.press(self, acct, ix, nonce, parent, parts):
            return Response(204)
        action = parts[2] if parts[1] == "JOB" else parts[1]
        if action == "upsample":
            self._upscale(acct, ix, nonce, parent, int(parts[3]))
        elif action == "variation":
            self._variation(acct, ix, nonce, parent, int(parts[3]))
        elif action == "reroll":
            self._reroll(acct, ix, nonce, parent)
        elif action.startswith("upsample_"):
            self._upscale_hd(acct, ix, nonce, parent, action[len("upsample_") :])
        elif action in ("low_variation", "high_variation"):
            label = "Subtle" if action == "low_variation" else "Strong"
            self._follow_up(acct, ix, nonce, parent, "variation", f"Variations ({label})")
        elif action.startswith("pan_"):
            direction = action[len("pan_") :].capitalize()
            self._follow_up(acct, ix, nonce, parent, "pan", f"Pan {direction}")
        elif action == "Outpaint":
            self._follow_up(acct, ix, nonce, parent, "zoom", "Zoom Out")
        elif action == "CustomZoom":
            modals.open_custom_zoom(self, acct, ix, nonce, parent)
        return Response(204)  # other buttons: accepted, nothing simulated

    # ================================================================== Discord: uploads
    def _upload_slots(self, acct: Account, channel_id: str, p: dict[str, Any]) -> Response:
        if channel_id != acct.channel_id:
            return Response.json(403, {"message": "Missing Access", "code": 50001})
        out = []
        for f in p.get("files") or []:
            upload_id = uuid.uuid4().hex
            uploaded = f"{uuid.uuid4()}/{f.get('filename')}"
            self._slots[upload_id] = uploaded
            out.append({"id": int(f.get("id") or 0),
                        "upload_url": f"{self.base_url}/upload/{upload_id}?upload_id={upload_id}",
                        "upload_filename": uploaded})  # fmt: skip
        return Response.json(200, {"attachments": out})

    def _put_upload(self, path: str, body: bytes) -> Response:
        uploaded = self._slots.get(path.rsplit("/", 1)[-1])
        if uploaded is None:
            return Response(404, b"no such upload")
        self.uploads[uploaded] = body
        return Response(200)

    def _attachment(
        self, channel: str, data: bytes, filename: str, content_type: str
    ) -> dict[str, Any]:
        att_id = self._snowflake()
        self.blobs[att_id] = (data, content_type)
        issued = int(self.now())
        expires = issued + int(self.url_ttl_seconds)
        mac = hmac.new(self._secret, f"{att_id}:{expires}".encode(), "sha256").hexdigest()[:32]
        # The query string Discord signs its CDN URLs with (protocol.md §4.6, §6.10).
        url = (f"{self.base_url}/attachments/{channel}/{att_id}/{filename}"
               f"?ex={expires:x}&is={issued:x}&hm={mac}&")  # fmt: skip
        try:
            w, h = art.size_of(data)
        except Exception:
            w, h = 0, 0
        return {"id": att_id, "filename": filename, "size": len(data), "url": url,
                "proxy_url": url, "width": w, "height": h, "content_type": content_type}  # fmt: skip

    def _send_message(self, acct: Account, channel_id: str, p: dict[str, Any]) -> Response:
        if channel_id != acct.channel_id:
            return Response.json(403, {"message": "Missing Access", "code": 50001})
        atts = []
        for a in p.get("attachments") or []:
            data = self.uploads.get(str(a.get("uploaded_filename")))
            if data is None:
                return self._form_error("attachments", "ATTACHMENT_NOT_FOUND", "Unknown upload")
            atts.append(
                self._attachment(acct.channel_id, data, str(a.get("filename")), "image/png")
            )
        msg = self._post(acct, content=str(p.get("content") or ""), author=acct.user,
                         attachments=atts)  # fmt: skip
        return Response.json(200, self._out(msg))

    # ================================================================== Discord: reading
    def _visible(self, msg: dict[str, Any]) -> bool:
        return msg["id"] not in self.deleted and not (msg.get("flags", 0) & 64)

    def _list_messages(self, acct: Account, channel_id: str, q: dict[str, str]) -> Response:
        if channel_id not in (acct.channel_id, seed.dm_of(self, acct)):
            return Response.json(403, {"message": "Missing Access", "code": 50001})
        if self.advance_per_read:
            self.advance(self.advance_per_read)
        limit = max(1, min(100, int(q.get("limit", "50"))))
        msgs = sorted((m for m in self.messages[channel_id].values() if self._visible(m)),
                      key=lambda m: int(m["id"]))  # fmt: skip
        if "after" in q:
            msgs = [m for m in msgs if int(m["id"]) > int(q["after"])][:limit]
        elif "before" in q:
            msgs = [m for m in msgs if int(m["id"]) < int(q["before"])][-limit:]
        else:
            msgs = msgs[-limit:]
        return Response.json(200, [self._out(m) for m in reversed(msgs)])  # newest first

    def _get_message(self, acct: Account, channel_id: str, message_id: str) -> Response:
        msg = self.messages.get(channel_id, {}).get(message_id)
        if channel_id != acct.channel_id or msg is None or not self._visible(msg):
            return Response.json(404, {"message": "Unknown Message", "code": 10008})
        return Response.json(200, self._out(msg))

    @staticmethod
    def _out(msg: dict[str, Any]) -> dict[str, Any]:
        return json.loads(json.dumps(msg))  # a copy: later edits must not change what was sent

    def _cdn(self, path: str, q: dict[str, str]) -> Response:
        parts = path.split("/")  # /attachments/<ch>/<att>/<name>
        if len(parts) < 5 or parts[3] not in self.blobs:
            return Response(404, b"Not Found")
        expires = int(q.get("ex", "0"), 16) if q.get("ex") else 0
        mac = hmac.new(self._secret, f"{parts[3]}:{expires}".encode(), "sha256").hexdigest()[:32]
        if q.get("hm") != mac or expires < self.now():
            return Response(404, b"This content is no longer available.")
        data, ctype = self.blobs[parts[3]]
        self.calls.append(Call(self.now(), "GET", "cdn", 200))
        return Response(200, data, {"content-type": ctype})

    # ================================================================== messages
    def _post(
        self, acct: Account, gateway_extra: dict[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        msg = {
            "id": self._snowflake(), "type": 0, "content": "", "channel_id": acct.channel_id,
            "author": MJ_AUTHOR, "attachments": [], "embeds": [], "mentions": [],
            "mention_roles": [], "pinned": False, "mention_everyone": False, "tts": False,
            "timestamp": self._iso(), "edited_timestamp": None, "flags": 0, "components": [],
        }  # fmt: skip
        msg.update(fields)
        self.messages[acct.channel_id][msg["id"]] = msg
        self._emit(acct, "MESSAGE_CREATE", {**msg, **(gateway_extra or {})})
        return msg

    def _bot_post(self, job: Job, **fields: Any) -> dict[str, Any]:
        acct = job.account
        meta: dict[str, Any] = {"id": job.interaction_id, "type": job.interaction_type,
                                "user": acct.user,
                                "authorizing_integration_owners": {"0": acct.guild_id}}  # fmt: skip
        extra: dict[str, Any] = {"application_id": job.bot, "author": niji.author(job.bot),
                                 "mentions": [acct.user],
                                 "interaction_metadata": meta}  # fmt: skip
        if job.command:
            meta["name"] = job.command
            meta["command_type"] = 1
            extra["interaction"] = {"id": job.interaction_id, "type": 2, "name": job.command,
                                    "user": acct.user}  # fmt: skip
        else:
            meta["interacted_message_id"] = job.parent_message_id
        extra.update(fields)
        echo = None
        if not job.echoed:  # Discord echoes the nonce on the first answer, to the gateway only
            job.echoed = True
            echo = {"nonce": job.nonce}
        return self._post(acct, gateway_extra=echo, **extra)

    def _edit(self, channel: str, message_id: str, **fields: Any) -> None:
        msg = self.messages[channel].get(message_id)
        if msg is not None:
            msg.update(fields)
            msg["edited_timestamp"] = self._iso()
            acct = next((a for a in self.accounts.values() if a.channel_id == channel), None)
            if acct is not None:
                self._emit(acct, "MESSAGE_UPDATE", msg)

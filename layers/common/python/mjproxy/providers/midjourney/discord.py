"""Discord REST v9 as a user account drives Midjourney (protocol.md §6.1–§6.4, §6.12).

Only the calls the provider and the poller need. Every error comes back as a `DiscordError`
carrying Discord's own `message` (it becomes the task's failReason, §6.2); 429 and 401 have their
own types because they change what we do (wait; disable the account), not just what we say.
The token goes into the Authorization header and nowhere else.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from .account import BOT_APPS, MIDJOURNEY_APP_ID, NIJI_APP_ID, Account, DiscordSettings
from .http import HttpResponse, Transport, transport

log = logging.getLogger(__name__)

COMMAND_NAMES = ("imagine", "describe", "blend", "shorten", "show")


class DiscordError(Exception):
    """Discord refused a call. `message` is Discord's own text (e.g. "Invalid Form Body")."""

    def __init__(self, status: int, message: str, code: int = 0, errors: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.errors = errors

    @property
    def invalid_version(self) -> bool:
        """50035 Invalid Form Body: for a slash command it nearly always means our command
        version is stale (INTERACTION_APPLICATION_COMMAND_INVALID_VERSION, §6.1)."""
        return self.code == 50035


class RateLimited(DiscordError):
    def __init__(self, retry_after: float, message: str = "You are being rate limited.") -> None:
        super().__init__(429, message)
        self.retry_after = retry_after


class Unauthorized(DiscordError):
    """The token is invalid or expired (or the account was locked): nothing will work."""


class Transient(DiscordError):
    """Discord had a problem of its own (5xx) or the network failed: worth trying again."""


@dataclass(frozen=True)
class Command:
    name: str
    id: str
    version: str
    application_id: str = MIDJOURNEY_APP_ID


def command_key(name: str, application_id: str = MIDJOURNEY_APP_ID) -> str:
    """Where a command is kept in the index: Midjourney's by name, Niji's as `niji:<name>`."""
    return f"niji:{name}" if application_id == NIJI_APP_ID else name


# The last versions the original hard-coded (2.6.2+). Used only when the guild's command index
# cannot be read at all; a stale one is then refreshed on Discord's first 50035.
FALLBACK_COMMANDS = {
    "imagine": Command("imagine", "938956540159881230", "1237876415471554623"),
    "blend": Command("blend", "1062880104792997970", "1237876415471554624"),
    "describe": Command("describe", "1092492867185950852", "1237876415471554625"),
    # trueai-org/midjourney-proxy@ed32197 src/Midjourney.Base/Resources/ApiParams/shorten.json
    "shorten": Command("shorten", "1121575372539039774", "1247736572414001223"),
    # trueai-org/midjourney-proxy@ed32197 src/Midjourney.Base/Resources/ApiParams/seed.json
    "show": Command("show", "1169435442328911902", "1247736572414001224"),
    # The Niji bot's own (trueai Resources/ApiParams/*niji.json).
    "niji:imagine": Command("imagine", "1023054140580057099", "1248805223892254774", NIJI_APP_ID),
    "niji:describe": Command("describe", "1092683500743831652", "1248805223892254776", NIJI_APP_ID),
    "niji:blend": Command("blend", "1061216934374424697", "1248805223892254775", NIJI_APP_ID),
    "niji:shorten": Command("shorten", "1121575453916942376", "1248805223892254777", NIJI_APP_ID),
    "niji:show": Command("show", "1023054140580057101", "1248805223892254781", NIJI_APP_ID),
}


def _error(resp: HttpResponse) -> DiscordError:
    data = resp.json()
    data = data if isinstance(data, dict) else {}
    message = str(data.get("message") or resp.text() or f"HTTP {resp.status}")
    if resp.status == 429:
        retry = data.get("retry_after") or resp.headers.get("retry-after") or 1
        try:
            retry_after = max(0.0, float(retry))
        except (TypeError, ValueError):
            retry_after = 1.0
        return RateLimited(retry_after, message)
    if resp.status == 401:
        return Unauthorized(401, message, int(data.get("code") or 0))
    if resp.status >= 500:
        return Transient(resp.status, message, int(data.get("code") or 0))
    return DiscordError(resp.status, message, int(data.get("code") or 0), data.get("errors"))


class DiscordClient:
    def __init__(
        self,
        account: Account,
        discord: DiscordSettings | None = None,
        send: Transport | None = None,
    ) -> None:
        self.account = account
        self.discord = discord or DiscordSettings.from_env()
        self._send = send
        self.calls = 0  # Discord API calls made by this client (for the measurements)

    # ---- plumbing -----------------------------------------------------------------------
    def _http(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> HttpResponse:
        send = self._send or transport()
        try:
            return send(method, url, headers, body, self.discord.http_timeout_seconds)
        except OSError as exc:  # URLError, timeouts, refused connections
            raise Transient(0, f"network error: {type(exc).__name__}") from exc

    def _api(self, method: str, path: str, payload: Any = None) -> HttpResponse:
        # Exactly the original's headers (§6.1): raw user token, the account's browser UA.
        headers = {"Authorization": self.account.user_token, "User-Agent": self.account.user_agent}
        body = None
        if payload is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(payload, separators=(",", ":")).encode()
        self.calls += 1
        resp = self._http(method, self.discord.api_base + path, headers, body)
        if resp.status >= 400:
            raise _error(resp)
        return resp

    # ---- commands -----------------------------------------------------------------------
    def command_index(self) -> dict[str, Command]:
        """Midjourney's and Niji's slash commands (ids and current versions) from the guild's
        index, keyed by command_key."""
        resp = self._api("GET", f"/guilds/{self.account.guild_id}/application-command-index")
        data = resp.json() or {}
        found: dict[str, Command] = {}
        for cmd in data.get("application_commands", []) or []:
            app = str(cmd.get("application_id"))
            if app not in BOT_APPS:
                continue
            name = cmd.get("name")
            if name in COMMAND_NAMES and cmd.get("id") and cmd.get("version"):
                found[command_key(name, app)] = Command(
                    name, str(cmd["id"]), str(cmd["version"]), app
                )
        return found

    # ---- interactions -------------------------------------------------------------------
    def interact(self, payload: dict[str, Any]) -> None:
        """POST /interactions; only 204 means Discord relayed it (§6.2). A 403 there refuses the
        account, like a 401 (trueai DiscordService.cs:4017-4034 disables it)."""
        try:
            resp = self._api("POST", "/interactions", payload)
        except DiscordError as exc:
            if exc.status == 403:
                raise Unauthorized(403, exc.message, exc.code) from exc
            raise
        if resp.status != 204:
            raise DiscordError(resp.status, resp.text(100))

    # ---- attachments (§6.4) ---------------------------------------------------------------
    def request_upload(self, filename: str, size: int) -> tuple[str, str]:
        """An upload slot: (upload_url, upload_filename)."""
        resp = self._api(
            "POST",
            f"/channels/{self.account.channel_id}/attachments",
            {"files": [{"filename": filename, "file_size": size, "id": "0"}]},
        )
        attachments = (resp.json() or {}).get("attachments") or []
        if resp.status != 200 or not attachments:
            raise DiscordError(resp.status, "no upload slot")
        slot = attachments[0]
        return str(slot["upload_url"]), str(slot["upload_filename"])

    def put_upload(self, upload_url: str, data: bytes, mime: str) -> None:
        if not self.discord.upload_allowed(upload_url):
            raise DiscordError(0, "upload URL not on an allowed host")
        headers = {"Content-Type": mime, "User-Agent": self.account.user_agent}
        resp = self._http("PUT", upload_url, headers, data)
        if resp.status >= 400:
            raise _error(resp)

    def send_upload_message(self, upload_filename: str, filename: str) -> dict[str, Any]:
        resp = self._api(
            "POST",
            f"/channels/{self.account.channel_id}/messages",
            {
                "content": f"upload image: {upload_filename}",
                "channel_id": self.account.channel_id,
                "type": 0,
                "sticker_ids": [],
                "attachments": [
                    {"id": "0", "filename": filename, "uploaded_filename": upload_filename}
                ],
            },
        )
        return resp.json() or {}

    # ---- reading the channel (§6.12) --------------------------------------------------------
    def messages(
        self, after: str | None = None, limit: int = 100, channel: str | None = None
    ) -> list[dict[str, Any]]:
        """Up to `limit` messages right after `after` (all newest first, as Discord answers) of
        the account's channel, or of `channel` (its DM channel with the bot, seed.py)."""
        query = {"limit": str(limit)}
        if after:
            query["after"] = after
        where = channel or self.account.channel_id
        resp = self._api("GET", f"/channels/{where}/messages?{urlencode(query)}")
        data = resp.json()
        return data if isinstance(data, list) else []

    def react(self, channel: str, message_id: str, emoji: str) -> None:
        """Add the user's reaction, as the web client does (trueai DiscordService.cs:846-848)."""
        path = (f"/channels/{channel}/messages/{message_id}/reactions/"
                f"{quote(emoji, safe='')}/%40me?location=Message&type=0")  # fmt: skip
        self._api("PUT", path)

    # ---- CDN ------------------------------------------------------------------------------
    def download(self, url: str) -> bytes:
        """An image from Discord's CDN (or a configured host). No token is sent: CDN URLs are
        signed by themselves."""
        if not self.discord.download_allowed(url):
            raise DiscordError(0, "image URL not on an allowed CDN host")
        resp = self._http("GET", url, {"User-Agent": self.account.user_agent}, None)
        if resp.status != 200:
            raise _error(resp) if resp.status >= 400 else DiscordError(resp.status, "download")
        return resp.body

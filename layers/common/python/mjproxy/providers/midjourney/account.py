"""A Discord account of the pool and the Discord-wide settings (protocol.md §6.1, §7.2).

An account is one `Instance` whose `settings` hold `guildId`, `channelId`, `userToken` and
`userAgent` (plus optional pacing overrides). The token is kept out of every repr and log line.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ...config import ConfigError, Instance

MIDJOURNEY_APP_ID = "936929561302675456"
# The Niji bot, a second application beside Midjourney's (trueai-org/midjourney-proxy@ed32197
# src/Midjourney.Base/Data/Constants.cs:72 NIJI_APPLICATION_ID): botType NIJI_JOURNEY tasks.
NIJI_APP_ID = "1022952195194359889"
BOT_APPS = (MIDJOURNEY_APP_ID, NIJI_APP_ID)


def app_of(bot_type: str | None) -> str:
    """The application a task's interactions go to."""
    return NIJI_APP_ID if bot_type == "NIJI_JOURNEY" else MIDJOURNEY_APP_ID


DEFAULT_API_BASE = "https://discord.com/api/v9"
DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/112.0.0.0 Safari/537.36"
)
# Hosts Midjourney's images and previews are served from; anything else is refused unless
# configured (MJ_DISCORD_CDN_HOSTS), so a crafted message cannot make us fetch arbitrary URLs.
DISCORD_CDN_HOSTS = ("cdn.discordapp.com", "media.discordapp.net")
DISCORD_UPLOAD_HOSTS = ("discord-attachments-uploads-prd.storage.googleapis.com",)

# Pacing defaults: conservative, because polling a channel and firing interactions with a user
# token is exactly what Discord's abuse detection looks for (protocol.md §6.13).
DEFAULT_POLL_SECONDS = 3.0
DEFAULT_INTERACTION_INTERVAL_SECONDS = 3.0
DEFAULT_COMMAND_TTL_SECONDS = 24 * 3600
# REST-poll mode: a sent job that shows no message of its own within this time was refused by an
# ephemeral reply the poller cannot read (protocol.md §6.12); it fails then, not at the timeout.
DEFAULT_ANSWER_SECONDS = 120.0
# While Midjourney shows nothing new the poller reads less often, up to this many times the poll
# interval (MJ_DISCORD_POLL_MAX_SECONDS overrides; set it to the interval for no back-off).
DEFAULT_BACKOFF_FACTOR = 2.0
# Progress previews: "link" gives clients Discord's CDN URL of the latest one (as trueai does:
# no download, no S3 PUT); "store" copies them to S3 (at most every MJ_PREVIEW_MIN_SECONDS).
PREVIEW_MODES = ("link", "store")


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return max(0.0, float(raw))
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc


def _preview_mode(raw: str) -> str:
    mode = raw.strip().lower() or PREVIEW_MODES[0]
    if mode not in PREVIEW_MODES:
        raise ConfigError(f"MJ_MIDJOURNEY_PREVIEWS must be one of {PREVIEW_MODES}, got {raw!r}")
    return mode


def _hosts(name: str) -> tuple[str, ...]:
    return tuple(h.strip().lower() for h in os.environ.get(name, "").split(",") if h.strip())


def _allowed(url: str, builtin: tuple[str, ...], extra: tuple[str, ...]) -> bool:
    """https on a built-in or configured host; plain http only on a configured host (a local
    simulator), never on Discord's own."""
    parts = urlsplit(url)
    netloc = (parts.netloc or "").lower()
    name = (parts.hostname or "").lower()
    if parts.scheme == "https":
        return name in builtin or netloc in extra or name in extra
    if parts.scheme == "http":
        return netloc in extra
    return False


@dataclass(frozen=True)
class DiscordSettings:
    """Settings shared by every account, from the environment (read on each use: cheap, and
    tests change them freely)."""

    api_base: str = DEFAULT_API_BASE
    extra_cdn_hosts: tuple[str, ...] = ()
    extra_upload_hosts: tuple[str, ...] = ()
    poll_seconds: float = DEFAULT_POLL_SECONDS
    interaction_interval_seconds: float = DEFAULT_INTERACTION_INTERVAL_SECONDS
    command_ttl_seconds: float = DEFAULT_COMMAND_TTL_SECONDS
    poller_queue_url: str = ""
    http_timeout_seconds: float = 20.0
    answer_seconds: float = DEFAULT_ANSWER_SECONDS
    poll_max_seconds: float = 0.0  # 0: DEFAULT_BACKOFF_FACTOR x the account's poll interval
    previews: str = "link"

    @classmethod
    def from_env(cls) -> DiscordSettings:
        return cls(
            api_base=os.environ.get("MJ_DISCORD_API_BASE", "").strip().rstrip("/")
            or DEFAULT_API_BASE,
            extra_cdn_hosts=_hosts("MJ_DISCORD_CDN_HOSTS"),
            extra_upload_hosts=_hosts("MJ_DISCORD_UPLOAD_HOSTS") or _hosts("MJ_DISCORD_CDN_HOSTS"),
            poll_seconds=_env_float("MJ_DISCORD_POLL_SECONDS", DEFAULT_POLL_SECONDS),
            interaction_interval_seconds=_env_float(
                "MJ_DISCORD_INTERACTION_INTERVAL_SECONDS", DEFAULT_INTERACTION_INTERVAL_SECONDS
            ),
            command_ttl_seconds=_env_float(
                "MJ_DISCORD_COMMAND_TTL_SECONDS", DEFAULT_COMMAND_TTL_SECONDS
            ),
            poller_queue_url=os.environ.get("DISCORD_POLLER_QUEUE_URL", "").strip(),
            http_timeout_seconds=_env_float("MJ_DISCORD_HTTP_TIMEOUT_SECONDS", 20.0),
            answer_seconds=_env_float("MJ_DISCORD_ANSWER_SECONDS", DEFAULT_ANSWER_SECONDS),
            poll_max_seconds=_env_float("MJ_DISCORD_POLL_MAX_SECONDS", 0.0),
            previews=_preview_mode(os.environ.get("MJ_MIDJOURNEY_PREVIEWS", "")),
        )

    def max_poll_seconds(self, base: float) -> float:
        """The longest delay between two reads of an account polled every `base` seconds; never
        below `base` (a maximum under the interval means no back-off)."""
        ceiling = self.poll_max_seconds or base * DEFAULT_BACKOFF_FACTOR
        return max(base, ceiling)

    def download_allowed(self, url: str) -> bool:
        return _allowed(url, DISCORD_CDN_HOSTS, self.extra_cdn_hosts)

    def upload_allowed(self, url: str) -> bool:
        return _allowed(url, DISCORD_UPLOAD_HOSTS, self.extra_upload_hosts)


@dataclass(frozen=True)
class Account:
    """What one pool instance needs to talk to Discord as its user."""

    id: str
    guild_id: str
    channel_id: str
    user_token: str = field(repr=False)
    user_agent: str = DEFAULT_USER_AGENT
    interaction_interval_seconds: float = DEFAULT_INTERACTION_INTERVAL_SECONDS
    poll_seconds: float = DEFAULT_POLL_SECONDS
    # Append a unique --seed to imagine prompts without one, so the echoed prompt names the task.
    seed_marker: bool = True
    # The gateway listener's live session id: session-scoped events (INTERACTION_SUCCESS,
    # modals, captcha) reach only the session named in the interaction (trueai :2456).
    gateway_session: str | None = None

    @classmethod
    def from_instance(cls, instance: Instance, discord: DiscordSettings | None = None) -> Account:
        discord = discord or DiscordSettings.from_env()
        s = instance.settings
        missing = [k for k in ("guildId", "channelId", "userToken") if not s.get(k)]
        if missing:
            raise ConfigError(f"account {instance.id}: missing {', '.join(missing)}")
        return cls(
            id=instance.id,
            guild_id=str(s["guildId"]),
            channel_id=str(s["channelId"]),
            user_token=str(s["userToken"]),
            user_agent=str(s.get("userAgent") or DEFAULT_USER_AGENT),
            interaction_interval_seconds=float(
                s.get("interactionIntervalSeconds", discord.interaction_interval_seconds)
            ),
            poll_seconds=float(s.get("pollSeconds", discord.poll_seconds)),
            seed_marker=_truthy(s.get("seedMarker", True)),
        )

    @property
    def session_id(self) -> str:
        """The listener's live gateway session when it runs; otherwise a fixed id, which Discord
        accepts for REST interactions (protocol.md §6.1): one per account, stable."""
        if self.gateway_session:
            return self.gateway_session
        return hashlib.md5(f"mjproxy:{self.id}".encode(), usedforsecurity=False).hexdigest()


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "off", "")
    return bool(value)

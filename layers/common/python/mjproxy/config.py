"""Settings from the environment, read and validated once per process (cold start).

Every setting is documented in README.md (Configuration). template.yaml sets the same names.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any


class ConfigError(ValueError):
    pass


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name, "")
    if raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    return float(raw) if raw.strip() else default


def _str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _bool(name: str, default: bool = False) -> bool:
    raw = _str(name).lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = _str(name, default).lower()
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {allowed}, got {value!r}")
    return value


@dataclass(frozen=True)
class Instance:
    """One slot of the pool: a Discord account for `midjourney`, or a provider slot otherwise."""

    id: str
    provider: str = "local"
    enable: bool = True
    coreSize: int = 3
    queueSize: int = 10
    timeoutMinutes: int = 5
    # Provider specific (guildId, channelId, userToken, ...), may hold secrets: kept out of repr so
    # a logged Instance can never print a Discord token.
    settings: dict[str, Any] = field(default_factory=dict, repr=False)

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean setting (`remix`, `enableMj` …), also when given as "true" / "1" / "yes"."""
        value = self.settings.get(name, default)
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class Settings:
    table_name: str
    jobs_queue_url: str
    bucket_name: str
    provider: str
    task_ttl_days: int
    max_image_bytes: int
    presign_expires: int
    worker_max_attempts: int
    local_step_seconds: int
    local_progress_steps: int
    region: str
    # The waiting worker's queue (jobs.py lanes); "" = every job runs on the worker.
    wait_jobs_queue_url: str = ""
    # A progress preview is stored (one S3 PUT) only if the last was stored this long ago.
    preview_min_seconds: int = 10
    # Callbacks (notify.py, notifier.py); docs/callbacks.md. The signing secret is not here: it
    # may live in SSM and is read only by the notifier (secrets.py).
    notify_hook: str = ""
    notify_allow_private: bool = False
    link_allow_private: bool = False  # image links (describe `link`, video/edit URLs)
    notify_timeout_seconds: float = 10.0
    notify_max_attempts: int = 4
    notify_retry_seconds: int = 10
    # Sweeper (sweeper.py)
    not_start_timeout_minutes: int = 30
    # A MODAL task (/mj/submit/action waiting for /mj/submit/modal) never confirmed is failed.
    modal_timeout_minutes: int = 15
    # Prompt checks at submit (translate.py, banned_words.py, api/duplicates.py)
    translate: str = ""
    translate_openai_base_url: str = "https://api.openai.com/v1"
    translate_openai_model: str = "gpt-4o-mini"
    translate_timeout_seconds: float = 8.0
    banned_words_enabled: bool = True
    banned_words_file: str = ""
    banned_words_s3_key: str = ""
    duplicate_upscale: bool = False
    image_url_mode: str = "presigned"
    public_base_url: str = ""

    @cached_property
    def instances(self) -> tuple[Instance, ...]:
        """Read on first use only: functions that never look at the pool (fetch, images) do not
        pay for, or need permission to, the instances secret."""
        return _instances(self.provider)


def _instances_secret(arn: str) -> str:
    """The instance list kept in Secrets Manager (Discord tokens never sit in the template or in
    the functions' environment). Without boto3 where mjproxy.direct.secrets can; else boto3
    directly: aws.client() needs settings() itself."""
    from .direct import secrets as direct_secrets

    region = _str("AWS_REGION") or _str("AWS_DEFAULT_REGION") or "us-east-1"
    value = direct_secrets.secret_string(arn, region)
    if value is not None:
        return value
    import boto3

    out = boto3.client("secretsmanager", region_name=region).get_secret_value(SecretId=arn)
    return str(out.get("SecretString") or "")


def _instances_raw() -> str:
    """MJ_INSTANCES (JSON), else the file MJ_INSTANCES_FILE (local runs), else the Secrets
    Manager secret MJ_INSTANCES_SECRET_ARN (AWS). A secret may also hold {"instances": [...]}."""
    raw = _str("MJ_INSTANCES")
    if not raw and _str("MJ_INSTANCES_FILE"):
        try:
            with open(_str("MJ_INSTANCES_FILE"), encoding="utf-8") as fh:
                raw = fh.read().strip()
        except OSError as exc:
            raise ConfigError(f"MJ_INSTANCES_FILE cannot be read: {exc}") from exc
    if not raw and _str("MJ_INSTANCES_SECRET_ARN"):
        raw = _instances_secret(_str("MJ_INSTANCES_SECRET_ARN"))
        if raw.startswith("{"):
            try:
                raw = json.dumps(json.loads(raw).get("instances", []))
            except (json.JSONDecodeError, AttributeError) as exc:
                raise ConfigError("MJ_INSTANCES_SECRET_ARN does not hold JSON") from exc
    return raw


# An account's other items in the instances table are `<id>#<kind>` (providers/midjourney/state.py):
# an instance id with this character could name one of them.
ITEM_SEPARATOR = "#"


def _instances(provider: str) -> tuple[Instance, ...]:
    raw = _instances_raw()
    if not raw:
        return (Instance(id=_str("MJ_DEFAULT_INSTANCE_ID", f"{provider}-1"), provider=provider),)
    try:
        items = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"MJ_INSTANCES is not JSON: {exc}") from exc
    out = []
    for item in items:
        known = {
            k: item[k]
            for k in ("id", "enable", "coreSize", "queueSize", "timeoutMinutes")
            if k in item
        }
        extra = {k: v for k, v in item.items() if k not in known and k != "provider"}
        if "id" not in known and item.get("channelId"):
            # A Discord account's id is its channel id (protocol.md §7.1).
            known["id"] = str(item["channelId"])
        if ITEM_SEPARATOR in str(known.get("id", "")):
            raise ConfigError(f"instance id {known['id']!r} must not contain {ITEM_SEPARATOR!r}")
        out.append(Instance(provider=item.get("provider", provider), settings=extra, **known))
    if not out:
        raise ConfigError("MJ_INSTANCES must list at least one instance")
    return tuple(out)


@lru_cache(maxsize=1)
def settings() -> Settings:
    provider = _str("MJ_PROVIDER", "local")
    return Settings(
        table_name=_str("TABLE_NAME", "mj-tasks"),
        jobs_queue_url=_str("JOBS_QUEUE_URL"),
        wait_jobs_queue_url=_str("WAIT_JOBS_QUEUE_URL"),
        bucket_name=_str("BUCKET_NAME", "mj-images"),
        provider=provider,
        task_ttl_days=_int("MJ_TASK_TTL_DAYS", 30, 1),
        max_image_bytes=_int("MJ_MAX_IMAGE_BYTES", 10 * 1024 * 1024, 1),
        presign_expires=_int("MJ_PRESIGN_EXPIRES", 7 * 24 * 3600, 60),
        worker_max_attempts=_int("MJ_WORKER_MAX_ATTEMPTS", 5, 1),
        local_step_seconds=_int("MJ_LOCAL_STEP_SECONDS", 1, 0),
        local_progress_steps=_int("MJ_LOCAL_PROGRESS_STEPS", 4, 1),
        preview_min_seconds=_int("MJ_PREVIEW_MIN_SECONDS", 10, 0),
        region=_str("AWS_REGION") or _str("AWS_DEFAULT_REGION") or "us-east-1",
        notify_hook=_str("MJ_NOTIFY_HOOK"),
        notify_allow_private=_bool("MJ_NOTIFY_ALLOW_PRIVATE"),
        link_allow_private=_bool("MJ_LINK_ALLOW_PRIVATE"),
        # A receiver gets at most 10 s (issue 4): a slow one must not hold the notifier.
        notify_timeout_seconds=min(10.0, max(1.0, _float("MJ_NOTIFY_TIMEOUT_SECONDS", 10.0))),
        notify_max_attempts=_int("MJ_NOTIFY_MAX_ATTEMPTS", 4, 1),
        notify_retry_seconds=_int("MJ_NOTIFY_RETRY_SECONDS", 10, 0),
        not_start_timeout_minutes=_int("MJ_NOT_START_TIMEOUT_MINUTES", 30, 1),
        modal_timeout_minutes=_int("MJ_MODAL_TIMEOUT_MINUTES", 15, 1),
        translate=_choice("MJ_TRANSLATE", "", ("", "aws", "openai")),
        translate_openai_base_url=_str(
            "MJ_TRANSLATE_OPENAI_BASE_URL", "https://api.openai.com/v1"
        ).rstrip("/"),
        translate_openai_model=_str("MJ_TRANSLATE_OPENAI_MODEL", "gpt-4o-mini"),
        translate_timeout_seconds=max(1.0, _float("MJ_TRANSLATE_TIMEOUT_SECONDS", 8.0)),
        banned_words_enabled=_bool("MJ_BANNED_WORDS_ENABLED", True),
        banned_words_file=_str("MJ_BANNED_WORDS_FILE"),
        banned_words_s3_key=_str("MJ_BANNED_WORDS_S3_KEY"),
        duplicate_upscale=_bool("MJ_DUPLICATE_UPSCALE"),
        image_url_mode=_choice("MJ_IMAGE_URL_MODE", "presigned", ("presigned", "stable")),
        public_base_url=_str("MJ_PUBLIC_BASE_URL").rstrip("/"),
    )


_reset_hooks: list[Callable[[], None]] = []


def on_reset(hook: Callable[[], None]) -> Callable[[], None]:
    """Register a cache of another module to be cleared by `reset()`."""
    _reset_hooks.append(hook)
    return hook


def reset() -> None:
    """Forget every cached setting, client and secret of this process (tests and the local
    runner change the environment)."""
    settings.cache_clear()
    for hook in _reset_hooks:
        hook()

"""Secrets that a function reads at run time (the callback signing secret, a translator's API key):
a plain environment variable locally, or on AWS the name of an SSM SecureString / the ARN of a
Secrets Manager secret, so the value never appears in the template or the function's config."""

from __future__ import annotations

import os
import time

from .config import on_reset

# Re-read after this many seconds so a rotated secret is picked up by warm functions too.
CACHE_SECONDS = 300

_cache: dict[tuple[str, str], tuple[float, str]] = {}


def _ssm_name(param: str) -> str:
    # Hierarchical SSM names start with "/"; templates pass them without it (as api/auth.py does).
    return param if "/" not in param or param.startswith("/") else "/" + param


def fetch(param: str, arn: str, stage: str = "") -> str:
    """The SSM SecureString `param` (decrypted), else the Secrets Manager secret `arn`'s
    SecretString (version stage `stage`). Read without boto3 where mjproxy.direct.secrets can."""
    from .config import settings
    from .direct import secrets as direct_secrets

    region = settings().region
    if param:
        name = _ssm_name(param)
        value = direct_secrets.parameter(name, region)
        if value is not None:
            return value
        from .aws import client

        out = client("ssm").get_parameter(Name=name, WithDecryption=True)
        return str(out["Parameter"]["Value"])
    value = direct_secrets.secret_string(arn, region, stage)
    if value is not None:
        return value
    from .aws import client

    extra = {"VersionStage": stage} if stage else {}
    return str(client("secretsmanager").get_secret_value(SecretId=arn, **extra)["SecretString"])


def secret(value_var: str, param_var: str = "", arn_var: str = "") -> str:
    """The secret from `value_var`, else from the SSM parameter named by `param_var`, else from
    the Secrets Manager secret named by `arn_var`; '' when none is configured."""
    value = os.environ.get(value_var, "").strip()
    if value:
        return value
    param = os.environ.get(param_var, "").strip() if param_var else ""
    arn = os.environ.get(arn_var, "").strip() if arn_var else ""
    if not param and not arn:
        return ""
    key = (param, arn)
    hit = _cache.get(key)
    if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    value = fetch(param, arn).strip()
    _cache[key] = (time.monotonic(), value)
    return value


def rotating(value_var: str, arn_var: str) -> tuple[str, ...]:
    """A key that may be rotated: `value_var` locally; on AWS the AWSCURRENT value of the
    Secrets Manager secret `arn_var` names, then its AWSPREVIOUS one (if any), so what was signed
    before the last rotation still verifies. () when none is configured."""
    value = os.environ.get(value_var, "").strip()
    if value:
        return (value,)
    arn = os.environ.get(arn_var, "").strip()
    if not arn:
        return ()
    key = ("rotating", arn)
    hit = _cache.get(key)
    if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
        return tuple(hit[1].split("\n"))
    values = [fetch("", arn).strip()]
    try:
        values.append(fetch("", arn, "AWSPREVIOUS").strip())
    except Exception:  # noqa: BLE001 - no previous version before the first rotation
        pass
    _cache[key] = (time.monotonic(), "\n".join(values))
    return tuple(values)


@on_reset
def reset() -> None:
    _cache.clear()

"""The API secret (protocol.md §5.11, clients.md §C.2): `mj-api-secret: <secret>`,
`Authorization: <secret>` or `Authorization: Bearer <secret>`; compared in constant time."""

from __future__ import annotations

import hmac
import os
from functools import lru_cache
from typing import TYPE_CHECKING

from ..config import on_reset
from .errors import Unauthorized

if TYPE_CHECKING:
    from .http import Request


@lru_cache(maxsize=1)
def api_secret() -> str:
    """The configured secret ('' = auth off): MJ_API_SECRET locally; on AWS the value of the
    SSM SecureString / Secrets Manager secret named by MJ_API_SECRET_PARAM / MJ_API_SECRET_ARN."""
    value = os.environ.get("MJ_API_SECRET", "")
    param = os.environ.get("MJ_API_SECRET_PARAM", "")
    arn = os.environ.get("MJ_API_SECRET_ARN", "")
    if not value and (param or arn):
        from ..secrets import fetch

        value = fetch(param, arn)
    return value.strip()


def presented(request: Request) -> list[str]:
    found = []
    if "mj-api-secret" in request.headers:
        found.append(request.headers["mj-api-secret"])
    authz = request.headers.get("authorization")
    if authz is not None:
        found.append(authz[7:] if authz[:7].lower() == "bearer " else authz)
    return found


def check(request: Request) -> None:
    secret = api_secret()
    if not secret:
        return
    expected = secret.encode()
    ok = False
    for candidate in presented(request):
        # Evaluate every candidate so timing does not reveal which header matched.
        ok |= hmac.compare_digest(candidate.encode(), expected)
    if not ok:
        raise Unauthorized()


on_reset(api_secret.cache_clear)

"""The HTTP transport under the Discord client: urllib in production (no extra dependency in the
Lambda layer), replaceable so tests can route requests into an in-process simulator without
opening sockets."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class HttpResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def text(self, limit: int = 100) -> str:
        return self.body[:limit].decode("utf-8", "replace")


# (method, url, headers, body, timeout seconds) -> response. Raises OSError on network failure.
Transport = Callable[[str, str, dict[str, str], bytes | None, float], HttpResponse]


def urllib_transport(
    method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float
) -> HttpResponse:
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 - https URLs
            return HttpResponse(
                resp.status, resp.read(), {k.lower(): v for k, v in resp.headers.items()}
            )
    except urllib.error.HTTPError as err:
        return HttpResponse(err.code, err.read(), {k.lower(): v for k, v in err.headers.items()})


_transport: Transport = urllib_transport


def transport() -> Transport:
    return _transport


def set_transport(new: Transport | None) -> None:
    """Route every Discord/CDN request through `new` (None restores urllib)."""
    global _transport
    _transport = new or urllib_transport

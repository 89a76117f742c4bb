"""Errors that end a request, mapped to responses in one place (api/http.py)."""

from __future__ import annotations

from typing import Any


class ProtocolError(Exception):
    """A business outcome answered with HTTP 200 and the envelope's `code`/`description`."""

    def __init__(
        self,
        code: int,
        description: str,
        properties: dict[str, Any] | None = None,
        result: str | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.properties = properties or {}
        self.result = result


class BadRequest(Exception):
    """Malformed JSON, a missing body or an unknown enum value: HTTP 400 in Spring's shape."""


class Unauthorized(Exception):
    """Missing or wrong secret: HTTP 401 with an empty body (protocol.md §5.11)."""

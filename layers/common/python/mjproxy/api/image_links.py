"""Stable image links (MJ_IMAGE_URL_MODE=stable): `/mj/image/<id>/<file>?sig=…` answers 302 to a
fresh presigned URL, so an imageUrl stored by a relay keeps working for the task's lifetime
although every presigned URL expires (clients.md §B.6). A grid's quadrants are stored here, on
their first read, rather than by the worker at finish (images.quadrants_on_read)."""

from __future__ import annotations

from typing import Any

from .. import images
from .http import Request, response, spring_error

# Browsers and relays may cache the redirect, but not beyond a presigned URL's own lifetime.
REDIRECT_MAX_AGE = 300


def redirect(request: Request) -> dict[str, Any]:
    params = request.path_params
    key = images.stable_key(params.get("id", ""), params.get("file", ""), request.query.get("sig"))
    if key is None:
        return spring_error(404, "Not Found", request.path)
    try:
        images.ensure_quadrant(key)
    except Exception as exc:  # the grid itself is gone (expired, deleted): as S3 would say
        if not images.absent(exc):
            raise
        return spring_error(404, "Not Found", request.path)
    return response(
        302, None, {"Location": images.presign(key), "Cache-Control": f"max-age={REDIRECT_MAX_AGE}"}
    )

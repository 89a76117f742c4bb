"""Images fetched from client-supplied links (describe `link`, video/edit/face-swap image URLs)
with the callbacks' SSRF guard: http(s) only, the resolved address checked (no private, loopback
or metadata ranges unless MJ_LINK_ALLOW_PRIVATE=true; metadata never) and pinned for the
connection, no redirects followed, at most MJ_MAX_IMAGE_BYTES read, and the bytes must be an image.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from . import images
from .config import settings

LINK_RE = re.compile(r"^https?://.+", re.I)  # trueai's check (SubmitController, describe)
TIMEOUT_SECONDS = 8.0  # an API Lambda has 15 s in all
USER_AGENT = "mjproxy-link-fetch/1"


class LinkError(ValueError):
    """The link cannot be used; the message says why (it becomes the client's description)."""


def valid_link(value: str | None) -> bool:
    return bool(value) and bool(LINK_RE.match(value.strip()))


def fetch_image(
    url: str, resolver: Callable[[str, int], list[str]] | None = None
) -> images.DataUrl:
    """Download the image behind `url` (see the module docstring for what is refused)."""
    # The notifier's guard, imported on use: it pulls in powertools' batch utilities, which the
    # API functions otherwise never load (cold start, tests/unit/test_lazy_imports.py).
    from .notifier import Refused, check_target, pinned_connection, resolve

    s = settings()
    limit = s.max_image_bytes
    try:
        target = check_target(url, s.link_allow_private, resolver or resolve)
    except Refused as exc:
        raise LinkError(str(exc)) from exc
    except OSError as exc:
        raise LinkError(f"cannot resolve: {exc}") from exc
    conn = pinned_connection(target, TIMEOUT_SECONDS)
    try:
        conn.request("GET", target.path, headers={"User-Agent": USER_AGENT, "Accept": "image/*"})
        response = conn.getresponse()
        if response.status != 200:
            raise LinkError(f"HTTP {response.status}")
        declared = response.getheader("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise LinkError(f"larger than {limit} bytes")
        data = response.read(limit + 1)
    except OSError as exc:
        raise LinkError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        conn.close()
    if len(data) > limit:
        raise LinkError(f"larger than {limit} bytes")
    ext = images.sniff(data)
    if ext is None:
        raise LinkError("not an image")
    return images.DataUrl(mime=images.EXT_MIME[ext], data=data)

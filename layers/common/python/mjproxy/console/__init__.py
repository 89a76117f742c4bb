"""The built-in web console: static files shipped in the layer, served at GET /console."""

from __future__ import annotations

from pathlib import Path
from typing import Any

STATIC = Path(__file__).with_name("static")
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Everything the page needs ships with it; images come from presigned S3 URLs (another origin).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data: blob: http: https:; form-action 'none'; base-uri 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
BASE_MARKER = "%CONSOLE_BASE%"


def console_base(event: dict[str, Any]) -> str:
    """The console's own URL path, stage included (`/prod/console/` on API Gateway), so the
    page's relative links work behind any stage or base-path mapping."""
    ctx = event.get("requestContext") or {}
    path = str(ctx.get("path") or event.get("path") or "/console")
    head = path[: path.rfind("/console")] if "/console" in path else ""
    return f"{head}/console/"


def serve(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """GET /console (the page) and GET /console/{file} (its script and style sheet)."""
    name = ((event.get("pathParameters") or {}).get("file")) or "index.html"
    path = STATIC / name
    kind = TYPES.get(path.suffix)
    # Only the files shipped in static/ are served: no sub-paths, no dot-files.
    if kind is None or "/" in name or name.startswith(".") or not path.is_file():
        return {
            "statusCode": 404,
            "headers": {"Content-Type": "text/plain; charset=utf-8", **SECURITY_HEADERS},
            "body": "not found",
            "isBase64Encoded": False,
        }
    body = path.read_text(encoding="utf-8")
    if name == "index.html":
        body = body.replace(BASE_MARKER, console_base(event))
    return {
        "statusCode": 200,
        "headers": {"Content-Type": kind, **SECURITY_HEADERS},
        "body": body,
        "isBase64Encoded": False,
    }

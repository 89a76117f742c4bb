"""API Gateway (REST, proxy integration) plumbing shared by every endpoint function.

`endpoint(fn)` turns `fn(request) -> body` into a `lambda_handler`: it authenticates, parses,
maps errors to the protocol's responses and serializes with the one wire serializer.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .. import images, wire
from ..aws import gc_paused
from ..domain import codes
from ..observability import lazy_lambda_context, logger
from . import auth, sources
from .errors import BadRequest, ProtocolError, Unauthorized

if TYPE_CHECKING:
    from .body import Body

_MODE_PREFIX = re.compile(r"^/mj-(fast|relax|turbo)(?=/)")
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Content-Type,mj-api-secret,Authorization",
    "Access-Control-Allow-Methods": "GET,POST,OPTIONS",
    # A browser polling fetch with mj-api-secret preflights every request without this (~9 of
    # 30 requests per web-UI task, each a billed API Gateway request). 600 s: template.yaml's
    # CorsMaxAgeSeconds default, which the gateway answers with on AWS.
    "Access-Control-Max-Age": "600",
}
JSON_TYPE = "application/json;charset=UTF-8"
# Deeper JSON is no request any endpoint takes (bodies are flat objects with lists of strings);
# it is refused before anything walks it recursively (docs/limits.md).
MAX_JSON_DEPTH = 32


def check_json(value: Any) -> None:
    """BadRequest if `value` nests deeper than MAX_JSON_DEPTH or holds a string that is not
    valid Unicode (a lone surrogate from a `\\ud800` escape cannot be stored or sent)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise BadRequest("JSON string is not valid Unicode") from exc
            continue
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise BadRequest(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
            children = list(item.items()) if isinstance(item, dict) else item
            for child in children:
                if isinstance(child, tuple):  # a (key, value) pair of an object
                    stack.append((child[0], depth + 1))
                    stack.append((child[1], depth + 1))
                else:
                    stack.append((child, depth + 1))


class Request:
    def __init__(self, event: dict[str, Any]) -> None:
        self.event = event

    @property
    def method(self) -> str:
        return str(self.event.get("httpMethod") or "GET").upper()

    @property
    def path(self) -> str:
        return str(self.event.get("path") or "/")

    @cached_property
    def headers(self) -> dict[str, str]:
        """Header names are case-insensitive (API Gateway may lower-case them)."""
        merged: dict[str, str] = {}
        for name, values in (self.event.get("multiValueHeaders") or {}).items():
            if values:
                merged[name.lower()] = values[-1]
        for name, value in (self.event.get("headers") or {}).items():
            if value is not None:
                merged[name.lower()] = value
        return merged

    @property
    def source_ip(self) -> str | None:
        """The caller's address as API Gateway saw it (payload format 1.0)."""
        identity = (self.event.get("requestContext") or {}).get("identity") or {}
        return identity.get("sourceIp")

    @property
    def query(self) -> dict[str, str]:
        return dict(self.event.get("queryStringParameters") or {})

    @property
    def path_params(self) -> dict[str, str]:
        return dict(self.event.get("pathParameters") or {})

    @property
    def mode(self) -> str | None:
        """Speed mode chosen by a `/mj-fast`, `/mj-relax` or `/mj-turbo` path prefix."""
        m = _MODE_PREFIX.match(self.path)
        return m.group(1).upper() if m else None

    @property
    def base_url(self) -> str | None:
        """How the client reached us: `https://<api-id>.execute-api…` on AWS (the HTTP API's
        `$default` stage has no path; a named stage adds `/<stage>`; none behind a custom
        domain), the CloudFront host through the optional distribution, `http://<Host>`
        locally."""
        public = self.headers.get("x-mj-public-host")
        if public:
            # Set by the optional CloudFront distribution (template PublicHostFunction): the
            # host clients use. A client sending it itself only changes its own links.
            return f"https://{public}"
        ctx = self.event.get("requestContext") or {}
        domain = ctx.get("domainName")
        if domain:
            stage = ctx.get("stage")
            named = stage and stage != "$default"
            suffix = f"/{stage}" if named and domain.endswith(".amazonaws.com") else ""
            return f"https://{domain}{suffix}"
        host = self.headers.get("host")
        return f"http://{host}" if host else None

    @cached_property
    def body_text(self) -> str | None:
        body = self.event.get("body")
        if body is None:
            return None
        if self.event.get("isBase64Encoded"):
            try:
                return base64.b64decode(body).decode("utf-8")
            except (ValueError, UnicodeDecodeError) as exc:
                raise BadRequest("request body is not UTF-8 text") from exc
        return body

    def json(self) -> Any:
        text = self.body_text
        if text is None or not text.strip():
            raise BadRequest("Required request body is missing")
        try:
            data = json.loads(text)
        except RecursionError as exc:  # nesting past the parser's own limit
            raise BadRequest(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from exc
        except ValueError as exc:
            raise BadRequest(f"JSON parse error: {exc}") from exc
        check_json(data)
        return data

    def model(self, cls: type[Body]) -> Any:
        """Parse the JSON body into `cls`. Type errors (an unknown enum string, a list where a
        string belongs) are HTTP 400 like the original's Jackson errors; missing or blank values
        pass through so the endpoint can answer with its code-4 description."""
        data = self.json()
        if not isinstance(data, dict):
            raise BadRequest("JSON body must be an object")
        # Imported here: fetch, lists and the image links never parse a body.
        from .body import BodyError

        try:
            parsed = cls.parse(data)
        except BodyError as exc:
            raise BadRequest(str(exc)) from exc
        too_long = getattr(parsed, "too_long", None)
        problem = too_long() if callable(too_long) else None
        if problem:
            raise ProtocolError(codes.VALIDATION_ERROR, problem)
        return parsed


def response(
    status: int, body: str | None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    out_headers = {**CORS_HEADERS, **(headers or {})}
    if body is not None:
        out_headers.setdefault("Content-Type", JSON_TYPE)
    return {
        "statusCode": status,
        "headers": out_headers,
        "body": body or "",
        "isBase64Encoded": False,
    }


def json_response(value: Any, status: int = 200) -> dict[str, Any]:
    return response(status, wire.dumps(value))


def spring_error(status: int, error: str, path: str) -> dict[str, Any]:
    """The original (Spring Boot) error JSON for 400/404/500: clients only see the status."""
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
    return json_response(
        {"timestamp": stamp, "status": status, "error": error, "path": path}, status
    )


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
_first = True  # no request answered yet by this process


def endpoint(fn: Callable[[Request], Any], *, authenticated: bool = True) -> Handler:
    """Wrap an endpoint function into a Lambda handler. `fn` returns the body to serialize
    (an envelope dict, a Task dict, a list, or None for the JSON `null`), or a ready response
    dict (with `statusCode`)."""

    @lazy_lambda_context
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        global _first
        if _first:
            # A fresh process's first request mostly builds what it keeps (settings, clients,
            # caches), so cyclic collections during it find little: ~5-10 ms of a cold start.
            _first = False
            with gc_paused():
                return handle(event)
        return handle(event)

    def handle(event: dict[str, Any]) -> dict[str, Any]:
        request = Request(event)
        if not sources.admitted(request.source_ip):
            # What the REST API's resource policy refused at the gateway; before auth and
            # before anything is read, preflights included.
            return spring_error(403, "Forbidden", request.path)
        if request.method == "OPTIONS":
            return response(200, None)
        if not request.path.startswith("/mj/") and request.mode is None:
            # `/{mode}/mj/...` routes exist only for the three speed prefixes.
            return spring_error(404, "Not Found", request.path)
        # "" = a request without a known base (only events without a host): no stable links.
        with images.request_scope(request.base_url or ""):
            return respond(request)

    def respond(request: Request) -> dict[str, Any]:
        try:
            if authenticated:
                auth.check(request)
            result = fn(request)
        except Unauthorized:
            return response(401, None)
        except BadRequest as exc:
            logger.info("bad request", extra={"reason": str(exc), "path": request.path})
            return spring_error(400, "Bad Request", request.path)
        except ProtocolError as exc:
            return json_response(
                wire.envelope(exc.code, exc.description, exc.result, exc.properties)
            )
        except Exception:
            logger.exception("unhandled error", extra={"path": request.path})
            return spring_error(500, "Internal Server Error", request.path)
        if isinstance(result, dict) and "statusCode" in result:
            return result
        return json_response(result)

    return lambda_handler

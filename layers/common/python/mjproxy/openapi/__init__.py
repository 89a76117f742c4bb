"""The OpenAPI 3 document of the whole HTTP API, served at GET /mj/openapi.json. It lists every
route of template.yaml (tests/unit/test_openapi.py checks both directions), each base `/mj/...`
route also under the `/{mode}` speed prefixes."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from .. import wire

ENVELOPE = {"$ref": "#/components/schemas/Envelope"}
TASK = {"$ref": "#/components/schemas/Task"}
TASKS = {"type": "array", "items": TASK}
IMAGE = {"type": "string", "description": "data URL (data:image/png;base64,...)"}
ACCOUNT_FILTER = {"$ref": "#/components/schemas/AccountFilter"}
BOT_TYPE = {"type": "string", "enum": ["MID_JOURNEY", "NIJI_JOURNEY"]}
_COMMON = {"notifyHook": {"type": "string"}, "state": {"type": "string"}}


def _body(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {**props, **_COMMON}}


# (method, path, summary, request body schema or None, 200 answer schema or None for non-JSON)
OPERATIONS: tuple[tuple[str, str, str, dict | None, dict | None], ...] = (
    ("post", "/mj/submit/imagine", "Imagine: a 2x2 grid from a prompt",
     _body(prompt={"type": "string"}, base64Array={"type": "array", "items": IMAGE},
           base64=IMAGE, botType=BOT_TYPE, accountFilter=ACCOUNT_FILTER), ENVELOPE),
    ("post", "/mj/submit/change", "U/V/R of a finished grid",
     _body(taskId={"type": "string"}, index={"type": "integer", "minimum": 1, "maximum": 4},
           action={"type": "string", "enum": ["UPSCALE", "VARIATION", "REROLL"]}), ENVELOPE),
    ("post", "/mj/submit/simple-change", "U/V/R as text: \"<taskId> U1\"",
     _body(content={"type": "string"}), ENVELOPE),
    ("post", "/mj/submit/action", "Press a button of a finished task by its customId (code 21 "
     "Waiting for window confirm + a MODAL task when a window must be confirmed)",
     _body(taskId={"type": "string"}, customId={"type": "string"},
           enableRemix={"type": "boolean"}), ENVELOPE),
    ("post", "/mj/submit/modal", "Confirm a MODAL task (Custom Zoom, Vary (Region), remix)",
     _body(taskId={"type": "string"}, prompt={"type": "string"},
           maskBase64={"type": "string"}), ENVELOPE),
    ("post", "/mj/submit/describe", "Four prompts for an image (base64 or link)",
     _body(base64=IMAGE, link={"type": "string", "format": "uri"}, botType=BOT_TYPE,
           accountFilter=ACCOUNT_FILTER), ENVELOPE),
    ("post", "/mj/submit/blend", "Blend 2-5 images",
     _body(base64Array={"type": "array", "items": IMAGE, "minItems": 2, "maxItems": 5},
           dimensions={"type": "string", "enum": ["PORTRAIT", "SQUARE", "LANDSCAPE"]},
           botType=BOT_TYPE, accountFilter=ACCOUNT_FILTER), ENVELOPE),
    ("post", "/mj/submit/shorten", "SHORTEN: five shorter prompts",
     _body(prompt={"type": "string"}, botType=BOT_TYPE, accountFilter=ACCOUNT_FILTER), ENVELOPE),
    ("post", "/mj/submit/upload-discord-images", "Store images; result is an array of links",
     _body(base64Array={"type": "array", "items": IMAGE}, accountFilter=ACCOUNT_FILTER),
     {"$ref": "#/components/schemas/UploadEnvelope"}),
    ("post", "/mj/submit/video", "VIDEO: an MP4 from an image (videoUrl, videoUrls[{url}])",
     _body(prompt={"type": "string"}, image={"type": "string"}, endImage={"type": "string"},
           motion={"type": "string", "enum": ["low", "high"]}, loop={"type": "boolean"},
           action={"type": "string", "enum": ["extend"]}, taskId={"type": "string"},
           index={"type": "integer"}, botType=BOT_TYPE, accountFilter=ACCOUNT_FILTER), ENVELOPE),
    ("post", "/mj/submit/edits", "EDIT: change an image by a prompt (optional mask)",
     _body(prompt={"type": "string"}, image={"type": "string"}, maskBase64=IMAGE,
           accountFilter=ACCOUNT_FILTER), ENVELOPE),
    ("post", "/mj/submit/edit", "Alias of /mj/submit/edits",
     _body(prompt={"type": "string"}, image={"type": "string"}, maskBase64=IMAGE,
           accountFilter=ACCOUNT_FILTER), ENVELOPE),
    ("post", "/mj/submit/retexture", "RETEXTURE: new colours and surface, same structure",
     _body(prompt={"type": "string"}, image={"type": "string"}, accountFilter=ACCOUNT_FILTER),
     ENVELOPE),
    ("post", "/mj/insight-face/swap", "Face swap: a SWAP_FACE task on an openai instance, else code 4 服务不支持",
     _body(sourceBase64=IMAGE, sourceUrl={"type": "string"}, targetBase64=IMAGE,
           targetUrl={"type": "string"}, accountFilter=ACCOUNT_FILTER), ENVELOPE),
    ("get", "/mj/task/{id}/fetch", "One task, or null", None, TASK),
    ("post", "/mj/task/{id}/cancel", "Cancel a waiting or running task (status CANCEL)", None,
     ENVELOPE),
    ("get", "/mj/task/{id}/image-seed", "The seed of a finished image task", None, ENVELOPE),
    ("get", "/mj/task/list", "Tasks, newest first (pageSize, cursor; X-Next-Cursor)", None, TASKS),
    ("post", "/mj/task/list-by-condition", "Tasks by id",
     {"type": "object", "properties": {"ids": {"type": "array", "items": {}}}}, TASKS),
    ("post", "/mj/task/list-by-ids", "Alias of list-by-condition",
     {"type": "object", "properties": {"ids": {"type": "array", "items": {}}}}, TASKS),
    ("get", "/mj/task/queue", "Waiting or running tasks, oldest first", None, TASKS),
    ("get", "/mj/account/list", "The instances (no secrets)", None,
     {"type": "array", "items": {"type": "object"}}),
    ("get", "/mj/account/{id}/fetch", "One instance", None, {"type": "object"}),
    ("post", "/mj/account/{id}/enable", "Put an instance disabled at run time back in service",
     None, ENVELOPE),
    ("get", "/mj/image/{id}/{file}", "Stable image link: 302 to a presigned URL", None, None),
    ("get", "/mj/openapi.json", "This document", None, {"type": "object"}),
)  # fmt: skip
# Routes outside /mj (not mirrored under the speed prefixes).
EXTRA_OPERATIONS: tuple[tuple[str, str, str], ...] = (
    ("get", "/console", "The built-in web console"),
    ("get", "/console/{file}", "Web console assets"),
)

_TASK_PROPS = {
    name: {"type": ["string", "null"]}
    for name in ("id", "action", "status", "prompt", "promptEn", "description", "state",
                 "imageUrl", "progress", "failReason", "botType", "parentId", "seed", "mode",
                 "videoUrl")
}  # fmt: skip
for _name in ("submitTime", "startTime", "finishTime"):
    _TASK_PROPS[_name] = {"type": ["integer", "null"], "description": "epoch ms"}
_TASK_PROPS["status"]["enum"] = [
    "NOT_START", "SUBMITTED", "IN_PROGRESS", "FAILURE", "SUCCESS", "CANCEL", None,
]  # fmt: skip
_TASK_PROPS["properties"] = {"type": "object"}
_TASK_PROPS["buttons"] = {"type": "array", "items": {"type": "object"}}
_URLS = {
    "type": ["array", "null"],
    "items": {"type": "object", "properties": {"url": {"type": "string"}}},
}
_TASK_PROPS["imageUrls"] = _URLS
_TASK_PROPS["videoUrls"] = _URLS


def _operation(method: str, path: str, summary: str, body: dict | None, answer: dict | None):
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in ("id", "file", "mode")
        if "{" + name + "}" in path
    ]
    for p in params:
        if p["name"] == "mode":
            p["schema"]["enum"] = ["mj-fast", "mj-relax", "mj-turbo"]
    op: dict[str, Any] = {"summary": summary, "responses": {}}
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if answer is None:
        op["responses"]["302"] = {"description": "redirect to the image"}
    else:
        op["responses"]["200"] = {
            "description": "OK (business errors too: see `code`)",
            "content": {"application/json": {"schema": answer}},
        }
    return op


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, body, answer in OPERATIONS:
        for p in (path, "/{mode}" + path):
            paths.setdefault(p, {})[method] = _operation(method, p, summary, body, answer)
    for method, path, summary in EXTRA_OPERATIONS:
        paths.setdefault(path, {})[method] = _operation(method, path, summary, None, {})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mjproxy — Midjourney-Proxy-compatible API",
            "version": "1",
            "description": "Submit answers are HTTP 200 with an envelope whose `code` says what "
            "happened (1 ok, 21/22 accepted, 3 no instance or task, 4 validation, 9 system, "
            "23 queue full, 24 banned word). `/{mode}` = mj-fast | mj-relax | mj-turbo.",
        },
        "components": {
            "securitySchemes": {
                "mjApiSecret": {"type": "apiKey", "in": "header", "name": "mj-api-secret"}
            },
            "schemas": {
                "Envelope": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "integer"},
                        "description": {"type": "string"},
                        "result": {"type": ["string", "null"]},
                        "properties": {"type": "object"},
                    },
                },
                "UploadEnvelope": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "integer"},
                        "description": {"type": "string"},
                        "result": {"type": ["array", "null"], "items": {"type": "string"}},
                        "properties": {"type": "object"},
                    },
                },
                "Task": {"type": "object", "properties": _TASK_PROPS},
                "AccountFilter": {
                    "type": "object",
                    "properties": {
                        "instanceId": {"type": "string"},
                        "modes": {
                            "type": "array",
                            "items": {"type": "string", "enum": ["FAST", "RELAX", "TURBO"]},
                        },
                        "remix": {"type": "boolean"},
                    },
                },
            },
        },
        "security": [{"mjApiSecret": []}],
        "paths": paths,
    }


def document_json() -> str:
    return wire.dumps(document())

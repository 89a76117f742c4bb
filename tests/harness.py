"""Test harness shared by the integration tier (moto in-process) and usable by any test:
real handlers from template.yaml invoked with API Gateway proxy events, and a drain loop that
delivers SQS messages to the functions bound to each queue, as Lambda would."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from mjproxy.local.provision import function_environment, provision
from mjproxy.local.runner import api_event, invoke, load_handler, sqs_event
from mjproxy.local.template import Function, Template, route_for

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


@dataclass
class Harness:
    template: Template
    functions: dict[str, tuple[Function, Any]] = field(default_factory=dict)

    @classmethod
    def create(cls, monkeypatch: Any, extra_env: dict[str, str] | None = None) -> Harness:
        """Inside an active mock_aws(): provision the template and load every handler."""
        template = Template(ROOT / "template.yaml")
        provision(template, visibility_timeout=0)
        import os

        env = function_environment(template, {**os.environ, **(extra_env or {})})
        for k, v in {**env, **(extra_env or {})}.items():
            monkeypatch.setenv(k, v)
        reset_caches()
        h = cls(template)
        for fn in template.functions():
            h.functions[fn.name] = (fn, load_handler(fn))
        return h

    # ---- HTTP ---------------------------------------------------------------------------
    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Response:
        raw = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
        data = raw.encode() if isinstance(raw, str) else (raw or b"")
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        found = route_for([fn for fn, _ in self.functions.values()], method, path)
        # The HTTP API's $default route (template NotFoundFunction) answers what no route does.
        assert found is not None, "template.yaml lost its $default route"
        route, fn, params = found
        handler = self.functions[fn.name][1]
        out = invoke(fn, handler, api_event(route, method, path, hdrs, data, params))
        return Response(out["statusCode"], out.get("headers") or {}, out.get("body") or "")

    def post(self, path: str, body: Any = None, **kw: Any) -> Response:
        return self.request("POST", path, body, **kw)

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    # ---- SQS ----------------------------------------------------------------------------
    def queue_bindings(self) -> list[tuple[str, str, Function, Any]]:
        out = []
        for fn, handler in self.functions.values():
            for logical, _batch in fn.queues:
                out.append(
                    (self.template.physical[logical], self.template.arns[logical], fn, handler)
                )
        return out

    def deliver_once(self, crash: Any = None) -> int:
        """Receive one round from every queue and invoke its function; returns messages seen.
        `crash(fn_name, records)` may raise to simulate a Lambda crash (nothing deleted)."""
        sqs = boto3.client("sqs")
        seen = 0
        for url, arn, fn, handler in self.queue_bindings():
            out = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            messages = out.get("Messages", [])
            if not messages:
                continue
            seen += len(messages)
            records = sqs_event(messages, arn)["Records"]
            try:
                if crash is not None:
                    crash(fn.name, records)
                result = invoke(fn, handler, {"Records": records}) or {}
            except _Crash:
                continue
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            for m in messages:
                if m["MessageId"] not in failed:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return seen

    def drain(self, rounds: int = 200, crash: Any = None) -> int:
        """Deliver until every queue is empty (visibility timeout 0: failures come back at once)."""
        return drain_rounds(lambda: self.deliver_once(crash), rounds)


def drain_rounds(deliver_once: Any, rounds: int) -> int:
    """Call `deliver_once()` until a round delivers nothing; returns the messages delivered."""
    total = 0
    for _ in range(rounds):
        n = deliver_once()
        total += n
        if n == 0:
            return total
    raise AssertionError(f"queues still busy after {rounds} rounds")


class _Crash(Exception):
    """Raised by a `crash` hook: the invocation dies, SQS keeps the messages."""


Crash = _Crash


def reset_caches() -> None:
    from mjproxy import config

    config.reset()

"""A callback receiver on 127.0.0.1 for tests: records every POST and answers with scripted
status codes (200 once the script is used up)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(
        self,
        statuses: list[int] | None = None,
        answer: Callable[[dict, list[Received]], int | None] | None = None,
    ) -> None:
        """`statuses` answer the first requests in turn; `answer(body, received_so_far)` may
        pick the status for any request (None = fall through to the script, then 200)."""
        self.statuses = list(statuses or [])
        self.answer = answer
        self.received: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    status = None
                    if receiver.answer is not None:
                        status = receiver.answer(json.loads(body), list(receiver.received))
                    if status is None:
                        status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.received.append(
                        Received(self.path, {k: v for k, v in self.headers.items()}, body, status)
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def tasks(self) -> list[dict]:
        """Bodies of the requests that were answered 2xx (the callbacks that arrived)."""
        return [r.json() for r in self.received if 200 <= r.answered < 300]

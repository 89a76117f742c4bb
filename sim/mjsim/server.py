"""Serving the simulator: over HTTP on 127.0.0.1 (standalone, the local mode), or in-process as a
transport for the proxy's Discord client (tests with sockets disabled)."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .core import Simulator

log = logging.getLogger("mjsim")


def transport_for(sim: Simulator) -> Any:
    """A `mjproxy.providers.midjourney.http.Transport` answering from `sim` without sockets.
    Any other host fails like an unreachable one."""
    from mjproxy.providers.midjourney.http import HttpResponse

    host = urlsplit(sim.base_url).netloc

    def send(
        method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float
    ) -> HttpResponse:
        if urlsplit(url).netloc != host:
            raise ConnectionRefusedError(f"simulator does not serve {urlsplit(url).netloc}")
        resp = sim.handle(method, url, headers, body)
        return HttpResponse(resp.status, resp.body, dict(resp.headers))

    return send


class SimServer:
    def __init__(self, sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = sim
        self.httpd = ThreadingHTTPServer((host, port), self._handler())
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sim = self.sim

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                url = sim.base_url + self.path
                resp = sim.handle(self.command, url, dict(self.headers.items()), body)
                self.send_response(resp.status)
                for k, v in resp.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(resp.body)))
                self.end_headers()
                if resp.body:
                    self.wfile.write(resp.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, fmt: str, *args: Any) -> None:
                log.debug(fmt, *args)

        return Handler

    def start(self) -> SimServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Ticker:
    """Standalone mode: jobs must advance even while nobody calls (a client only polls fetch),
    so a background thread catches the simulator up with real time."""

    def __init__(self, sim: Simulator, every: float = 0.2) -> None:
        self.sim = sim
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.sim.advance(0)

    def start(self) -> Ticker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

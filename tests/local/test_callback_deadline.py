"""A callback attempt has a total deadline (issue 15 item 5): a receiver that drips its answer
one byte at a time never lets a single socket read time out, yet the attempt ends at the
deadline. Real sockets on 127.0.0.1 (a drip server in a thread)."""

from __future__ import annotations

import socket
import threading

import pytest

from mjproxy.notifier import Target, post

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class DripServer:
    """Reads the request, then sends `ANSWER` one byte every `gap` seconds (each gap far
    below the client's timeout), so only a deadline on the whole attempt can stop it."""

    def __init__(self, gap: float) -> None:
        self.gap = gap
        self.stop = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.recv(65536)
            for i in range(len(ANSWER)):
                if self.stop.wait(self.gap):
                    return
                try:
                    conn.sendall(ANSWER[i : i + 1])
                except OSError:
                    return  # the client hung up: what the deadline is for

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture
def drip():
    server = DripServer(gap=0.2)  # the whole answer takes ~12 s
    yield server
    server.close()


def test_a_dripping_receiver_cannot_hold_an_attempt_past_its_deadline(drip):
    target = Target("http", "127.0.0.1", drip.port, "/hook", "127.0.0.1")
    # Each byte arrives within 0.2 s, so a per-read timeout of 1 s alone would wait for the
    # full answer and return 200; the attempt's deadline ends it first.
    with pytest.raises(TimeoutError, match="no answer within 1 s"):
        post(target, b"{}", {"Content-Type": "application/json"}, timeout=1.0)


def test_a_prompt_receiver_is_answered_normally():
    server = DripServer(gap=0.0)
    try:
        target = Target("http", "127.0.0.1", server.port, "/hook", "127.0.0.1")
        assert post(target, b"{}", {}, timeout=5.0) == 200
    finally:
        server.close()

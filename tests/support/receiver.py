"""A webhook receiver on 127.0.0.1 (a free port) for callback tests: it answers each POST with the next
scripted status (then 500 while `failing`, else 200) and keeps every request it got.

While `hold` is clear a request is counted as arrived and then waits (up to 60 s) for it,
so a test can kill the sender while its attempt is in flight."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int


class Receiver:
    """The server's state: the statuses still to answer and what arrived, with each answer given."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.received: list[Received] = []
        self.arrived = 0
        self.failing = False
        self.hold = threading.Event()
        self.hold.set()
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            self.arrived += 1
        self.hold.wait(60)
        with self.lock:
            status = self.statuses.pop(0) if self.statuses else (500 if self.failing else 200)
            self.received.append(Received(path, headers, body, status))
            return status

    def accepted(self) -> list[Received]:
        with self.lock:
            return [item for item in self.received if 200 <= item.answered < 300]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.answer(self.path, dict(self.headers.items()), body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
            pass

    return Handler


@contextmanager
def receiving(statuses: list[int] | None = None) -> Iterator[Receiver]:
    """A running receiver, shut down on exit."""
    receiver = Receiver(statuses or [])
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.hold.set()
        server.shutdown()
        server.server_close()
        thread.join(5)

"""Free local ports, so nothing the benchmarks start ever collides with a server in use."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on now, on 127.0.0.1 (the OS picks it, so never a fixed 6379)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])

"""Counting round trips to a real Redis: a connection that counts what it sends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from redis import ConnectionPool, Redis
from redis.connection import Connection


class CountingConnection(Connection):
    """A real connection that counts its sends: one per command or per pipeline, so one per round trip."""

    sends = 0

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        type(self).sends += 1
        super().send_packed_command(command, check_health)


@contextmanager
def counting_client(url: str) -> Iterator[Redis]:
    """A client on `url` whose round trips `CountingConnection.sends` counts (reset to 0 here)."""
    pool = ConnectionPool.from_url(url, connection_class=CountingConnection)
    client = Redis(connection_pool=pool)
    client.ping()  # the connection's handshake is not what a test counts
    CountingConnection.sends = 0
    try:
        yield client
    finally:
        pool.disconnect()

"""A Lua script called over one connection held for it, its command packed by hiredis.

redis-py's `Script.__call__` takes a connection from the pool and gives it back, packs
every argument in Python and goes through its retry and callback layers on each call: for
a script called hundreds of times a second with dozens of arguments (the worker's take
and end steps) that was a fair share of a job's CPU. Here the script's connection is
taken once and kept while it works (a connection that fails goes back to the pool,
closed), the command is packed by hiredis's C packer (as redis-py packs it: str as
UTF-8, numbers as their repr), and a Redis that no longer knows the script (a restart,
SCRIPT FLUSH) gets it loaded and the call sent again. A held connection that broke
meanwhile (Redis restarted, the connection was killed) is replaced and the call sent
once more, as redis-py's own retry would. One caller at a time.
"""

from __future__ import annotations

import threading
from typing import Any

from hiredis import pack_command
from redis import Redis
from redis.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError


class HeldScript:
    """`script(keys, args)`, as `Redis.register_script(text)(keys, args)` answers it."""

    def __init__(self, client: Redis, text: str) -> None:
        self._pool = client.connection_pool
        self._text = text
        self._sha = client.register_script(text).sha
        self._connection: AbstractConnection | None = None
        self._lock = threading.Lock()

    def __call__(self, keys: list[Any], args: list[Any]) -> Any:
        with self._lock:
            command = ("EVALSHA", self._sha, len(keys), *keys, *args)
            try:
                return self._send(command)
            except (RedisConnectionError, RedisTimeoutError):
                return self._send(command)  # on a new connection from the pool

    def _send(self, command: tuple[Any, ...]) -> Any:
        connection = self._connection or self._pool.get_connection()
        self._connection = None
        try:
            packed = _packed(connection, command)
            try:
                connection.send_packed_command(packed)
                reply = connection.read_response()
            except NoScriptError:
                connection.send_command("SCRIPT", "LOAD", self._text)
                connection.read_response()
                connection.send_packed_command(packed)
                reply = connection.read_response()
        except BaseException:
            connection.disconnect()
            self._pool.release(connection)
            raise
        self._connection = connection
        return reply


def _packed(connection: AbstractConnection, command: tuple[Any, ...]) -> list[bytes]:
    """RESP for `command` by hiredis, without redis-py's per-argument pass in Python; a type
    hiredis refuses takes redis-py's way."""
    try:
        return [pack_command(command)]
    except TypeError:
        return connection.pack_command(*command)  # type: ignore[no-any-return]

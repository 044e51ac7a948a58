"""Commands sent on the asyncio client in one event-loop turn share one round trip, each still its own command.

A submission is one Lua call, yet redis-py's asyncio client spends as much CPU around it
as on everything else a submission does: a pooled connection taken and given back under
a condition and a timeout, a send, a read. Under load many requests reach their write in
the same loop turn; here their commands are queued, and a task sends all of them on one
connection in one write, then reads their replies in order. Nothing waits for company: the
task runs at the next turn, whatever has gathered by then.

Each command stays a command of its own (a pipeline without MULTI), so each is atomic alone,
and an error reply (NOSCRIPT, WRONGTYPE) fails only its caller. A connection or timeout
error fails every command of the trip not yet answered, as it would have failed each alone.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

import hiredis
from redis.asyncio import Redis as AsyncRedis
from redis.connection import HiredisRespSerializer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

Call = tuple[bytes, asyncio.Future[Any]]  # a packed command and its caller's reply
SERIALIZER = HiredisRespSerializer()  # redis-py's sync packer: converts bytearrays, refuses bools and None


class SharedTrips:
    """The commands gathered for the next trip on one asyncio client, and the task that sends them."""

    def __init__(self, connection: AsyncRedis) -> None:
        self.pool = connection.connection_pool
        self.gathered: list[Call] = []
        self.trips: set[asyncio.Task[None]] = set()  # held: the loop keeps only weak references to tasks

    async def execute(self, *args: Any) -> Any:
        """The reply to `args`, sent with whatever else is gathered by the next loop turn; raises its error reply."""
        packed = _packed(args)  # a command no packer takes is refused here, to its caller alone
        loop = asyncio.get_running_loop()
        reply = loop.create_future()
        self.gathered.append((packed, reply))
        if len(self.gathered) == 1:
            trip = loop.create_task(self._trip())
            self.trips.add(trip)
            trip.add_done_callback(self.trips.discard)
        return await reply

    async def _trip(self) -> None:
        calls, self.gathered = self.gathered, []
        answered = 0
        try:
            link = await self.pool.get_connection()
        except BaseException as error:
            _fail(calls, error)
            if isinstance(error, Exception):
                return  # each caller has it
            raise
        try:
            await link.send_packed_command(b"".join(packed for packed, _ in calls))
            for _, reply in calls:
                try:
                    _settle(reply, await link.read_response())
                except ResponseError as error:  # this command's error reply: the others stand
                    _settle(reply, error=error)
                answered += 1
        except BaseException as error:
            await link.disconnect()  # replies may be left unread on it
            _fail(calls[answered:], error)
            if not isinstance(error, Exception):
                raise
        finally:
            await self.pool.release(link)


def _packed(args: tuple[Any, ...]) -> bytes:
    """RESP for one command (a one-word name: no "CONFIG GET"), as redis-py's sync client packs it."""
    try:
        return hiredis.pack_command(args)  # type: ignore[no-any-return]
    except TypeError:
        return b"".join(SERIALIZER.pack(*args))  # a bytearray packed, else DataError


def _settle(reply: asyncio.Future[Any], answer: Any = None, error: BaseException | None = None) -> None:
    if reply.done():  # its caller was cancelled meanwhile
        return
    if error is not None:
        reply.set_exception(error)
    else:
        reply.set_result(answer)


def _fail(calls: list[Call], error: BaseException) -> None:
    """Every caller of `calls` gets `error`; a cancelled trip (shutdown) answers them as a lost connection."""
    failure = error if isinstance(error, Exception) else RedisConnectionError("the round trip was cancelled")
    for _, reply in calls:
        _settle(reply, error=failure)


_shared: weakref.WeakKeyDictionary[AsyncRedis, SharedTrips] = weakref.WeakKeyDictionary()


def shared_trips(connection: AsyncRedis) -> SharedTrips:
    """The one SharedTrips of `connection`, made at its first use."""
    trips = _shared.get(connection)
    if trips is None:
        trips = _shared[connection] = SharedTrips(connection)
    return trips

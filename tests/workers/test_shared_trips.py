"""Commands of one event-loop turn share a round trip on the asyncio client, each answered (or failed) alone."""

from __future__ import annotations

import asyncio
from typing import Any

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError, ResponseError

from bench.harness.ports import free_port
from tests.support.async_client import on_async_client
from workers.core.settings import Settings
from workers.core.shared_trips import shared_trips


def test_commands_sent_at_once_share_one_connection_and_get_their_own_replies(redis: Redis, settings: Settings) -> None:
    before = redis.info("stats")["total_connections_received"]

    async def many(client: AsyncRedis) -> list[Any]:
        trips = shared_trips(client)
        return list(await asyncio.gather(*(trips.execute("INCR", f"n{i % 3}") for i in range(30))))

    replies = on_async_client(settings, many)
    assert sorted(replies) == sorted([n for _ in range(3) for n in range(1, 11)])
    assert redis.info("stats")["total_connections_received"] - before == 1
    assert [redis.get(f"n{i}") for i in range(3)] == [b"10", b"10", b"10"]


def test_an_error_reply_fails_only_its_own_command(redis: Redis, settings: Settings) -> None:
    async def mixed(client: AsyncRedis) -> list[Any]:
        trips = shared_trips(client)
        calls = [trips.execute("SET", "s", "v"), trips.execute("LPUSH", "s", "x"), trips.execute("GET", "s")]
        return list(await asyncio.gather(*calls, return_exceptions=True))

    stored, refused, read = on_async_client(settings, mixed)
    assert stored == b"OK"
    assert isinstance(refused, ResponseError) and "WRONGTYPE" in str(refused)
    assert read == b"v"


def test_a_trip_that_cannot_connect_fails_every_command_in_it(settings: Settings) -> None:
    nowhere = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})

    async def doomed(client: AsyncRedis) -> list[Any]:
        trips = shared_trips(client)
        return list(await asyncio.gather(*(trips.execute("PING") for _ in range(3)), return_exceptions=True))

    assert all(isinstance(reply, RedisConnectionError) for reply in on_async_client(nowhere, doomed))


def test_a_value_no_packer_takes_is_refused_to_its_caller_alone(redis: Redis, settings: Settings) -> None:
    async def odd(client: AsyncRedis) -> list[Any]:
        trips = shared_trips(client)
        calls = [trips.execute("SET", "a", "1"), trips.execute("SET", "b", True), trips.execute("SET", "c", b"3")]
        return list(await asyncio.gather(*calls, return_exceptions=True))

    first, refused, last = on_async_client(settings, odd)
    assert (first, last) == (b"OK", b"OK")
    assert isinstance(refused, DataError)
    assert redis.mget("a", "b", "c") == [b"1", None, b"3"]

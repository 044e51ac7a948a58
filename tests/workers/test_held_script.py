"""A script on a held connection answers as redis-py's registered one does, after a flush or a lost connection too."""

from __future__ import annotations

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from bench.harness.ports import free_port
from bench.harness.redis import RedisServer
from workers.core.held_script import HeldScript

ECHO = "redis.call('SET', KEYS[1], ARGV[1]); return {KEYS[1], ARGV[1], tonumber(ARGV[2]) + 1}"


def test_the_answer_is_redis_pys(redis: Redis) -> None:
    held = HeldScript(redis, ECHO)
    assert held(["k"], ["v", 41]) == redis.register_script(ECHO)(keys=["k"], args=["v", 41])
    assert held(["k"], ["é", 1.5]) == [b"k", "é".encode(), 2]


def test_a_flushed_script_is_loaded_again(redis: Redis) -> None:
    held = HeldScript(redis, ECHO)
    held(["k"], ["one", 1])
    redis.script_flush()
    assert held(["k"], ["two", 1]) == [b"k", b"two", 2]
    assert redis.get("k") == b"two"


def test_a_lost_connection_is_replaced(redis: Redis) -> None:
    held = HeldScript(redis, ECHO)
    held(["k"], ["one", 1])
    redis.client_kill_filter(_type="normal", skipme=True)
    assert held(["k"], ["two", 1]) == [b"k", b"two", 2]


def test_redis_away_raises(redis_server: RedisServer) -> None:
    client = Redis.from_url(redis_server.url, socket_connect_timeout=1)
    held = HeldScript(client, ECHO)
    client.connection_pool.connection_kwargs["port"] = free_port()  # nothing listens there
    client.connection_pool.disconnect()
    with pytest.raises(RedisConnectionError):
        held(["k"], ["one", 1])


def test_a_script_error_is_raised_and_the_connection_kept(redis: Redis) -> None:
    held = HeldScript(redis, "return redis.call('INCR', KEYS[1])")
    redis.set("text", "not a number")
    with pytest.raises(ResponseError):
        held(["text"], [])
    assert held(["n"], []) == 1

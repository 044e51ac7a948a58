"""Clients built from a Sentinel REDIS_URL reach the master, and the new one after a failover, by themselves."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from bench.harness.sentinel import SentinelDeployment
from bench.harness.wait import wait_until
from workers.core.connection import connect, connect_async
from workers.core.settings import Settings


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[SentinelDeployment]:
    with SentinelDeployment(tmp_path) as started:
        yield started


def writes(client: Redis, key: str) -> bool:
    """One write; a ConnectionError (a dead or demoted master) is 'not yet', anything else fails the test."""
    try:
        client.incr(key)
    except RedisConnectionError:
        return False
    return True


async def _async_round_trip(settings: Settings) -> bytes | None:
    client = connect_async(settings, settings.redis_timeout, max_connections=2)
    try:
        await client.set("async", "yes")
        return await client.get("async")
    finally:
        await client.aclose()


def test_sync_and_async_clients_use_the_master(deployment: SentinelDeployment) -> None:
    settings = Settings(redis_url=deployment.url(db=3))
    connect(settings).set("k", "v")
    assert deployment.client(deployment.master.port, db=3).get("k") == b"v"
    assert asyncio.run(_async_round_trip(settings)) == b"yes"


def test_a_client_reaches_the_new_master_after_the_old_one_is_killed(deployment: SentinelDeployment) -> None:
    client = connect(Settings(redis_url=deployment.url()))
    assert writes(client, "before")
    old = deployment.kill_master().port
    new = deployment.wait_for_new_master(old)
    wait_until(lambda: writes(client, "after"), 30, "a write through the same client on the new master")
    assert int(deployment.client(new).get("after") or 0) >= 1


def test_a_demoted_master_answers_a_connection_error_not_readonly(deployment: SentinelDeployment) -> None:
    """SENTINEL FAILOVER keeps the old master running as a replica: pooled connections to it must move."""
    client = connect(Settings(redis_url=deployment.url()))
    assert writes(client, "k")
    old = deployment.master.port
    deployment.sentinels[0].client.execute_command("SENTINEL", "FAILOVER", "rqs-master")
    deployment.wait_for_new_master(old)
    seen: list[type[RedisError]] = []

    def moved() -> bool:
        try:
            client.incr("k")
        except RedisError as error:
            seen.append(type(error))
            return False
        return True

    wait_until(moved, 30, "a write through the same client on the promoted replica")
    assert all(issubclass(kind, RedisConnectionError) for kind in seen), seen


def test_sentinels_that_require_a_password_get_it(tmp_path: Path) -> None:
    with SentinelDeployment(tmp_path, replicas=1, sentinels=1, sentinel_password="sentinel-pw") as deployment:
        with pytest.raises(RedisError):
            connect(Settings(redis_url=deployment.url())).ping()
        settings = Settings(redis_url=deployment.url(), redis_sentinel_password="sentinel-pw")
        assert connect(settings).ping()

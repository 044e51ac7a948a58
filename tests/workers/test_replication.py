"""REDIS_MIN_REPLICAS_ACK: confirmed when replicas have the writes, refused (with a clear reason) when not."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from signal import SIGCONT, SIGSTOP

import pytest

from bench.harness.redis import RedisServer
from bench.harness.sentinel import NODE_ARGS
from bench.harness.wait import wait_until
from workers.core.connection import connect, connect_async
from workers.core.replication import ReplicasNotConfirmed, confirm, confirm_async, confirm_or_warn
from workers.core.settings import Settings


@pytest.fixture(scope="module")
def master_and_replica(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RedisServer, RedisServer]]:
    root: Path = tmp_path_factory.mktemp("replication")
    master = RedisServer(root / "master", extra_args=NODE_ARGS).start()
    replica = RedisServer(root / "replica", extra_args=(*NODE_ARGS, "--replicaof", "127.0.0.1", str(master.port)))
    try:
        replica.start()
        wait_until(lambda: master.client.info("replication").get("connected_slaves") == 1, 20, "the replica")
        yield master, replica
    finally:
        replica.stop()
        master.stop()


def test_one_replica_confirms_a_write(master_and_replica: tuple[RedisServer, RedisServer]) -> None:
    master, replica = master_and_replica
    settings = Settings(redis_url=master.url, redis_min_replicas_ack=1)
    client = connect(settings)
    client.set("accepted", "yes")
    confirm(client, settings)
    assert replica.client.get("accepted") == b"yes"  # the replica has it the moment WAIT answers


def test_more_replicas_than_exist_are_not_confirmed(master_and_replica: tuple[RedisServer, RedisServer]) -> None:
    master, _ = master_and_replica
    settings = Settings(redis_url=master.url, redis_min_replicas_ack=2, redis_min_replicas_ack_timeout=0.2)
    with pytest.raises(ReplicasNotConfirmed, match="may still exist"):
        confirm(connect(settings), settings)
    assert not confirm_or_warn(connect(settings), settings, "a test write")


def test_a_stalled_replica_is_not_confirmed_by_the_async_check(
    master_and_replica: tuple[RedisServer, RedisServer],
) -> None:
    master, replica = master_and_replica
    settings = Settings(redis_url=master.url, redis_min_replicas_ack=1, redis_min_replicas_ack_timeout=0.2)

    async def check() -> None:
        client = connect_async(settings, settings.redis_timeout, max_connections=2)
        try:
            await client.set("late", "1")
            await confirm_async(client, settings)
        finally:
            await client.aclose()

    replica.signal(SIGSTOP)
    try:
        with pytest.raises(ReplicasNotConfirmed, match="Idempotency-Key"):
            asyncio.run(check())
    finally:
        replica.signal(SIGCONT)
    asyncio.run(check())  # caught up again


def test_without_the_setting_nothing_is_asked(master_and_replica: tuple[RedisServer, RedisServer]) -> None:
    master, _ = master_and_replica
    settings = Settings(redis_url=master.url)
    client = connect(settings)
    before = client.info("commandstats").get("cmdstat_wait", {}).get("calls", 0)
    confirm(client, settings)
    assert client.info("commandstats").get("cmdstat_wait", {}).get("calls", 0) == before

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bench.harness.ports import free_port
from bench.harness.redis import RedisServer
from bench.harness.wait import poll_until
from tests.support.tls_redis import TlsRedisServer
from workers.core.connection import connect, connect_async
from workers.core.settings import Settings


def test_redis_url(redis_server: RedisServer) -> None:
    assert connect(Settings(redis_url=redis_server.url)).ping()


def answers(client: Redis) -> bool:
    try:
        return client.ping() is True
    except RedisConnectionError:
        return False


def test_unix_socket(tmp_path: Path) -> None:
    sock = tmp_path / "redis.sock"
    process = subprocess.Popen(
        ["redis-server", "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        client = connect(Settings(redis_url=f"unix://{sock}"))
        assert poll_until(lambda: answers(client), timeout=5, what="the unix socket redis")
    finally:
        process.terminate()
        process.wait()


def test_unreachable_redis_fails_fast() -> None:
    client = connect(Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    with pytest.raises(RedisConnectionError):
        client.ping()


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsRedisServer]:
    server = TlsRedisServer(tmp_path_factory.mktemp("tls-redis"))
    try:
        yield server.start()
    finally:
        server.stop()


def test_rediss_without_verification_connects_to_a_self_signed_server(tls_redis: TlsRedisServer) -> None:
    assert connect(Settings(redis_url=tls_redis.url, redis_tls_verify=False)).ping()


def test_rediss_with_verification_refuses_a_self_signed_server(tls_redis: TlsRedisServer) -> None:
    """The default: the certificate is checked, so an unknown one is an SSL error, not a connection."""
    with pytest.raises(RedisConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        connect(Settings(redis_url=tls_redis.url, redis_tls_verify=True)).ping()


async def _async_ping(settings: Settings) -> bool:
    client = connect_async(settings, socket_timeout=settings.redis_timeout, max_connections=1)
    try:
        return bool(await client.ping())
    finally:
        await client.aclose()


def test_the_asyncio_client_reads_the_same_url(redis_server: RedisServer) -> None:
    assert asyncio.run(_async_ping(Settings(redis_url=redis_server.url)))


def test_the_asyncio_client_accepts_a_self_signed_server_like_the_sync_one(tls_redis: TlsRedisServer) -> None:
    assert asyncio.run(_async_ping(Settings(redis_url=tls_redis.url, redis_tls_verify=False)))


def test_the_asyncio_client_verifies_certificates_like_the_sync_one(tls_redis: TlsRedisServer) -> None:
    with pytest.raises(RedisConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        asyncio.run(_async_ping(Settings(redis_url=tls_redis.url, redis_tls_verify=True)))


def test_the_asyncio_client_fails_fast_too() -> None:
    with pytest.raises(RedisConnectionError):
        asyncio.run(_async_ping(Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0")))


@pytest.mark.parametrize(
    "url", ["redis://:se/cret@127.0.0.1:1/0", "redis://:secret@[::1/0", "redis://h/0?db=x&password=secret"]
)
def test_a_url_that_does_not_parse_is_named_masked(url: str) -> None:
    with pytest.raises(ValueError) as refused:
        connect(Settings(redis_url=url))
    assert "se" not in str(refused.value).replace("REDIS_URL is not a valid Redis URL", "")

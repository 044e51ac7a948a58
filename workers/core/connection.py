"""The one place Redis clients are built, for every process: sync, and asyncio for the web's waits.

A Sentinel `REDIS_URL` (workers/core/sentinel_url.py) gives clients from `Sentinel.master_for`:
each new connection asks the sentinels where the master is, a connection error or a
READONLY answer (a demoted master) drops the connection, and when the master's address
changes the idle connections to the old one are closed. So after a failover the next
command reaches the new master, in every process, without a restart.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from redis import Redis
from redis.asyncio import BlockingConnectionPool as AsyncBlockingPool
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.asyncio.sentinel import SentinelConnectionPool as AsyncSentinelPool
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from workers.core.redact import mask_url
from workers.core.sentinel_url import SentinelUrl, SentinelUrlError, is_sentinel_url, parse_sentinel_url
from workers.core.settings import Settings


@contextmanager
def masked_url_errors(url: str) -> Iterator[None]:
    """A URL that does not parse is named masked: the parser's own message quotes parts of it (a password's)."""
    try:
        yield
    except SentinelUrlError:
        raise  # its message already names what is wrong without the password
    except ValueError:
        raise ValueError(f"REDIS_URL is not a valid Redis URL: {mask_url(url)}") from None


def client_options(settings: Settings, socket_timeout: float | None = None) -> dict[str, Any]:
    """Options both kinds of client share (TLS, timeouts), so they cannot drift apart.

    Short timeouts, so a request that meets a dead or paused Redis fails fast (the API
    turns that into a 503 within 2 s) instead of hanging. `socket_timeout` is raised
    only for deliberately blocking reads. Retries are added by each builder (their
    classes differ) and are always none.
    """
    timeout = socket_timeout if socket_timeout is not None else settings.redis_timeout
    options: dict[str, Any] = {
        "socket_connect_timeout": settings.redis_timeout,
        "socket_timeout": timeout,
        "health_check_interval": 30,
    }
    tls = settings.redis_url.startswith(("rediss://", "rediss+sentinel://"))
    if tls and not settings.redis_tls_verify:
        options["ssl_cert_reqs"] = ssl.CERT_NONE
        options["ssl_check_hostname"] = False
    return options


def sentinel_url(settings: Settings) -> SentinelUrl | None:
    """The parsed Sentinel `REDIS_URL`, or None for a plain one; a bad Sentinel URL stops the start."""
    return parse_sentinel_url(settings.redis_url) if is_sentinel_url(settings.redis_url) else None


def sentinel_options(settings: Settings) -> dict[str, Any]:
    """How to talk to the sentinels themselves: plain TCP, short timeouts, their own password."""
    return {
        "socket_connect_timeout": settings.redis_timeout,
        "socket_timeout": settings.redis_timeout,
        "password": secret.get_secret_value() if (secret := settings.redis_sentinel_password) else None,
    }


def master_options(url: SentinelUrl) -> dict[str, Any]:
    """What the master's connections need from the URL (db, credentials, TLS)."""
    options: dict[str, Any] = {"db": url.db, "username": url.username, "password": url.password}
    if url.tls:
        options["ssl"] = True
    return options


def connect(settings: Settings, socket_timeout: float | None = None) -> Redis:
    """A client for `REDIS_URL` (redis://, rediss://, unix:// or Sentinel), without automatic retries."""
    url = sentinel_url(settings)
    if url is not None:
        sentinels = Sentinel(
            list(url.sentinels), sentinel_kwargs={**sentinel_options(settings), "retry": Retry(NoBackoff(), 0)}
        )
        return sentinels.master_for(
            url.service_name,
            redis_class=Redis,
            retry=Retry(NoBackoff(), 0),
            **master_options(url),
            **client_options(settings, socket_timeout),
        )
    with masked_url_errors(settings.redis_url):
        return Redis.from_url(
            settings.redis_url, retry=Retry(NoBackoff(), 0), **client_options(settings, socket_timeout)
        )


def connect_async(settings: Settings, socket_timeout: float, max_connections: int) -> AsyncRedis:
    """An asyncio client for `REDIS_URL`, for waits that must not hold a thread.

    At most `max_connections` at once: one more caller waits `REDIS_TIMEOUT` for a free
    connection, then gets a ConnectionError (a 503), so many waiters cannot exhaust
    Redis' own client limit.
    """
    url = sentinel_url(settings)
    if url is not None:
        options = {**sentinel_options(settings), "retry": AsyncRetry(NoBackoff(), 0)}
        sentinels = AsyncSentinel(list(url.sentinels), sentinel_kwargs=options)
        return sentinels.master_for(
            url.service_name,
            redis_class=AsyncRedis,
            connection_pool_class=BlockingSentinelPool,
            max_connections=max_connections,
            timeout=settings.redis_timeout,
            retry=AsyncRetry(NoBackoff(), 0),
            **master_options(url),
            **client_options(settings, socket_timeout),
        )
    with masked_url_errors(settings.redis_url):
        pool = AsyncBlockingPool.from_url(
            settings.redis_url,
            max_connections=max_connections,
            timeout=settings.redis_timeout,
            retry=AsyncRetry(NoBackoff(), 0),
            **client_options(settings, socket_timeout),
        )
    return AsyncRedis.from_pool(pool)


class BlockingSentinelPool(AsyncSentinelPool, AsyncBlockingPool):
    """Sentinel's master lookup with the blocking pool's bound: the 65th waiter waits, then gets a 503."""

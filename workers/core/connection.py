"""The one place Redis clients are built, for every process: sync, and asyncio for the web's waits."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from redis import Redis
from redis.asyncio import BlockingConnectionPool as AsyncBlockingPool
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from workers.core.redact import mask_url
from workers.core.settings import Settings


@contextmanager
def masked_url_errors(url: str) -> Iterator[None]:
    """A URL that does not parse is named masked: the parser's own message quotes parts of it (a password's)."""
    try:
        yield
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
    if settings.redis_url.startswith("rediss://") and not settings.redis_tls_verify:
        options["ssl_cert_reqs"] = ssl.CERT_NONE
        options["ssl_check_hostname"] = False
    return options


def connect(settings: Settings, socket_timeout: float | None = None) -> Redis:
    """A client for `REDIS_URL` (redis://, rediss:// or unix://), without automatic retries."""
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
    with masked_url_errors(settings.redis_url):
        pool = AsyncBlockingPool.from_url(
            settings.redis_url,
            max_connections=max_connections,
            timeout=settings.redis_timeout,
            retry=AsyncRetry(NoBackoff(), 0),
            **client_options(settings, socket_timeout),
        )
    return AsyncRedis.from_pool(pool)

"""The one place a Redis client is built, for every process."""

from __future__ import annotations

import ssl
from typing import Any

from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from workers.core.settings import Settings


def connect(settings: Settings, socket_timeout: float | None = None) -> Redis:
    """Build a client for `REDIS_URL` (redis://, rediss:// or unix://).

    Short timeouts and no automatic retries, so a request that meets a dead or
    paused Redis fails fast (the API turns that into a 503 within 2 s) instead of
    hanging. `socket_timeout` is raised only for deliberately blocking reads.
    """
    timeout = socket_timeout if socket_timeout is not None else settings.redis_timeout
    options: dict[str, Any] = {
        "socket_connect_timeout": settings.redis_timeout,
        "socket_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
        "health_check_interval": 30,
    }
    if settings.redis_url.startswith("rediss://") and not settings.redis_tls_verify:
        options["ssl_cert_reqs"] = ssl.CERT_NONE
        options["ssl_check_hostname"] = False
    return Redis.from_url(settings.redis_url, **options)

"""`REDIS_MIN_REPLICAS_ACK`: an acceptance counts only once N replicas have it (Redis `WAIT`).

`WAIT` waits for the replication offset of the connection it is sent on. A pooled client
cannot promise that the write just made used the same connection, so each check writes
one tiny marker and sends `WAIT` right behind it on one connection (one pipeline): the
replication stream is ordered, so replicas that have the marker have every write the
master completed before it, the acceptance's included.
"""

from __future__ import annotations

import logging

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError

from workers.core.keys import PREFIX
from workers.core.settings import Settings

log = logging.getLogger(__name__)
MARKER = f"{PREFIX}replication:ack"  # a counter nobody reads; each check bumps it to have an offset to wait for
NOT_CONFIRMED = (
    "the write was made on the Redis master but {replicas} replica(s) did not confirm it within {timeout:g} s "
    "(REDIS_MIN_REPLICAS_ACK); it may still exist, or be lost if the master fails now. Retrying is safe: "
    "with the same Idempotency-Key a submission answers the existing job instead of making a second one"
)


class ReplicasNotConfirmed(Exception):
    """Fewer replicas than REDIS_MIN_REPLICAS_ACK confirmed a write in time (or the check itself failed)."""


def required(settings: Settings) -> bool:
    return settings.redis_min_replicas_ack > 0


def not_confirmed(settings: Settings) -> ReplicasNotConfirmed:
    detail = NOT_CONFIRMED.format(
        replicas=settings.redis_min_replicas_ack, timeout=settings.redis_min_replicas_ack_timeout
    )
    return ReplicasNotConfirmed(detail)


def confirm(connection: Redis, settings: Settings) -> None:
    """Return once REDIS_MIN_REPLICAS_ACK replicas have every write made so far; ReplicasNotConfirmed if not."""
    if not required(settings):
        return
    try:
        with connection.pipeline(transaction=False) as pipe:
            pipe.incr(MARKER)
            pipe.wait(settings.redis_min_replicas_ack, _milliseconds(settings))
            _, acknowledged = pipe.execute()
    except RedisError as error:
        raise not_confirmed(settings) from error
    _check(int(acknowledged), settings)


async def confirm_async(connection: AsyncRedis, settings: Settings) -> None:
    """`confirm` on the event loop, so a web request waiting for replicas holds no thread."""
    if not required(settings):
        return
    try:
        async with connection.pipeline(transaction=False) as pipe:
            pipe.incr(MARKER)
            pipe.wait(settings.redis_min_replicas_ack, _milliseconds(settings))
            _, acknowledged = await pipe.execute()
    except RedisError as error:
        raise not_confirmed(settings) from error
    _check(int(acknowledged), settings)


def confirm_or_warn(connection: Redis, settings: Settings, what: str) -> bool:
    """For a process's own writes (SCHEDULES_FILE, a fire step): log when replicas lag, never stop."""
    try:
        confirm(connection, settings)
    except ReplicasNotConfirmed as error:
        log.warning("%s: %s", what, error)
        return False
    return True


def _milliseconds(settings: Settings) -> int:
    return max(1, round(settings.redis_min_replicas_ack_timeout * 1000))


def _check(acknowledged: int, settings: Settings) -> None:
    if acknowledged < settings.redis_min_replicas_ack:
        raise not_confirmed(settings)

"""The scheduler process's start-up checks, against real Redis."""

import logging

import pytest
from redis import Redis

from workers.core import keys
from workers.core.settings import Settings
from workers.rq_seam.scheduler import LOCK_TTL_MS, ServiceScheduler
from workers.scheduler.checks import MANY_SCHEDULES, warn_if_metrics_too_many


def test_warns_when_per_schedule_metrics_would_be_too_many(
    redis: Redis, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    redis.sadd(keys.SCHEDULE_NAMES, *(f"s{n}" for n in range(MANY_SCHEDULES)))
    with caplog.at_level(logging.WARNING, logger="workers.scheduler.checks"):
        warn_if_metrics_too_many(redis, settings)
        assert caplog.records == []  # exactly MANY_SCHEDULES: fine
        redis.sadd(keys.SCHEDULE_NAMES, "one-more")
        warn_if_metrics_too_many(redis, settings.model_copy(update={"schedule_metrics": "combined"}))
        assert caplog.records == []
        warn_if_metrics_too_many(redis, settings)
    assert "SCHEDULE_METRICS=combined" in caplog.text


def lock_state(redis: Redis) -> tuple[bytes | None, int]:
    """The lock's owner token and remaining milliseconds."""
    return redis.get(keys.SCHEDULER_LOCK), redis.pttl(keys.SCHEDULER_LOCK)


def test_a_second_scheduler_cannot_take_a_held_lock(redis: Redis, settings: Settings) -> None:
    first, second = ServiceScheduler(redis, settings), ServiceScheduler(redis, settings)
    assert first.acquire_lock()
    assert not second.acquire_lock()
    assert lock_state(redis)[0] == first.token.encode()


def test_the_holder_renews_and_releases_its_lock(redis: Redis, settings: Settings) -> None:
    holder = ServiceScheduler(redis, settings)
    holder.acquire_lock()
    redis.pexpire(keys.SCHEDULER_LOCK, 100)
    assert holder.acquire_lock()  # a renewal, back to the full TTL
    assert lock_state(redis)[1] > 100
    holder.remove_lock()
    assert lock_state(redis) == (None, -2)


def test_a_former_holder_neither_renews_nor_releases_the_new_holders_lock(redis: Redis, settings: Settings) -> None:
    # Given: `former` held the lock, it expired, and `current` took it over; `former` still believes it holds it.
    former, current = ServiceScheduler(redis, settings), ServiceScheduler(redis, settings)
    assert former.acquire_lock()
    redis.delete(keys.SCHEDULER_LOCK)  # what the TTL does to a holder that stalled
    assert current.acquire_lock()
    redis.pexpire(keys.SCHEDULER_LOCK, 60_000)  # longer than any renewal sets, so a renewal would show

    # When: the former holder releases (it still believes it holds the lock), then tries to renew.
    former.remove_lock()
    renewed = former.acquire_lock()

    # Then: the lock is untouched, still the current holder's with its TTL.
    token, ttl = lock_state(redis)
    assert not renewed
    assert token == current.token.encode()
    assert ttl > LOCK_TTL_MS

"""The scheduler process's start-up checks, against real Redis."""

import logging

import pytest
from redis import Redis

from workers import keys
from workers.scheduler import MANY_SCHEDULES, warn_if_metrics_too_many
from workers.settings import Settings


def test_warns_when_per_schedule_metrics_would_be_too_many(
    redis: Redis, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    redis.sadd(keys.SCHEDULE_NAMES, *(f"s{n}" for n in range(MANY_SCHEDULES)))
    with caplog.at_level(logging.WARNING, logger="workers.scheduler"):
        warn_if_metrics_too_many(redis, settings)
        assert not caplog.records  # exactly MANY_SCHEDULES: fine
        redis.sadd(keys.SCHEDULE_NAMES, "one-more")
        warn_if_metrics_too_many(redis, settings.model_copy(update={"schedule_metrics": "combined"}))
        assert not caplog.records
        warn_if_metrics_too_many(redis, settings)
    assert "SCHEDULE_METRICS=combined" in caplog.text

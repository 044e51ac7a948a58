"""The start-up line masks Redis credentials and counts the tasks it loaded."""

from __future__ import annotations

from workers.core.banner import banner
from workers.core.settings import Settings
from workers.tasks.registry import registry


def test_the_banner_masks_redis_credentials() -> None:
    settings = Settings(redis_url="rediss://user:s3cret-pw@redis.example:6380/0")
    assert "s3cret-pw" not in banner("worker", "queues default", settings)


def test_the_banner_counts_the_registered_tasks() -> None:
    assert f"; {len(registry.all())} tasks from " in banner("worker", "queues default", Settings())

"""JobWaits: long-polls on one watching task, woken by a result, a cancel, or their deadline."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bench.harness.ports import free_port
from workers.core.connection import connect_async
from workers.core.settings import Settings
from workers.jobs import submit as jobs
from workers.jobs.wait import JobWaits

LONG = 60.0  # a waiter's deadline, far beyond what a wake-up needs
JOIN = 30.0  # a woken waiter has returned by then; one left at its deadline has not


async def wait(settings: Settings, job_id: str, seconds: float) -> None:
    waits = JobWaits(connect_async(settings, socket_timeout=5, max_connections=2))
    try:
        await waits.wait(job_id, seconds)
    finally:
        await waits.close()


def waiting(settings: Settings, job_id: str) -> threading.Thread:
    """A waiter on its own event loop, in a thread, so the test can move the job meanwhile."""
    thread = threading.Thread(target=asyncio.run, args=(wait(settings, job_id, LONG),), daemon=True)
    thread.start()
    return thread


def submit(redis: Redis, settings: Settings) -> str:
    return jobs.submit(redis, settings, jobs.JobSpec(task="tests.echo", args=[1]), None).job.id


def woken_by(redis: Redis, settings: Settings, move: Callable[[str], Any]) -> bool:
    job_id = submit(redis, settings)
    waiter = waiting(settings, job_id)
    move(job_id)
    waiter.join(JOIN)
    return not waiter.is_alive()


def test_a_waiter_wakes_when_its_job_runs(redis: Redis, settings: Settings, run_worker: Any) -> None:
    assert woken_by(redis, settings, lambda job_id: run_worker())


def test_a_waiter_wakes_when_its_job_is_canceled(redis: Redis, settings: Settings) -> None:
    assert woken_by(redis, settings, lambda job_id: jobs.cancel(redis, job_id))


def test_an_unknown_job_ends_the_wait(settings: Settings) -> None:
    waiter = waiting(settings, "no-such-job")
    waiter.join(JOIN)
    assert not waiter.is_alive()


def test_a_pending_job_is_answered_at_the_deadline(redis: Redis, settings: Settings) -> None:
    job_id = submit(redis, settings)
    asyncio.run(wait(settings, job_id, 0.2))
    assert jobs.fetch(redis, job_id).get_status().value == "queued"


def test_redis_gone_is_raised_to_the_waiter() -> None:
    with pytest.raises(RedisConnectionError):
        asyncio.run(wait(Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0"), "any", 5))

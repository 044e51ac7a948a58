"""The asyncio submit path: the same checks, plan and writer as the sync one, concurrent requests included."""

from __future__ import annotations

import asyncio

import pytest
from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from rq.job import JobStatus

from tests.support.async_client import on_async_client
from workers.core.errors import InvalidJobError
from workers.core.settings import Settings
from workers.jobs import submit as jobs
from workers.jobs.spec import JobSpec
from workers.jobs.submit_async import AsyncSubmission, submit_async, submit_many_async


def test_fifty_concurrent_identical_submissions_make_one_job(redis: Redis, settings: Settings) -> None:
    async def herd(client: AsyncRedis) -> list[AsyncSubmission]:
        spec = lambda: JobSpec(task="tests.echo", args=[1])  # noqa: E731 - one fresh spec per request
        return list(await asyncio.gather(*(submit_async(client, settings, spec(), "herd") for _ in range(50))))

    submissions = on_async_client(settings, herd)
    created = [s.written.id for s in submissions if s.written is not None]
    assert len(created) == 1
    assert {s.replay_of for s in submissions if s.written is None} == set(created)
    assert redis.lrange("rq:queue:default", 0, -1) == [created[0].encode()]


def test_a_batch_reads_its_dependencies_as_the_sync_path_does(redis: Redis, settings: Settings) -> None:
    parent = jobs.submit(redis, settings, JobSpec(task="tests.echo")).job
    specs = [JobSpec(task="tests.echo", depends_on=[parent.id]), JobSpec(task="tests.echo", queue="low")]
    written = on_async_client(settings, lambda client: submit_many_async(client, settings, specs))
    assert [jobs.fetch(redis, w.id).get_status() for w in written] == [JobStatus.DEFERRED, JobStatus.QUEUED]
    assert redis.smembers(parent.dependents_key) == {written[0].id.encode()}


def test_a_dependency_that_does_not_exist_is_refused_and_nothing_written(redis: Redis, settings: Settings) -> None:
    specs = [JobSpec(task="tests.echo"), JobSpec(task="tests.echo", depends_on=["gone"])]
    with pytest.raises(InvalidJobError, match="gone"):
        on_async_client(settings, lambda client: submit_many_async(client, settings, specs))
    assert redis.keys("rq:job:*") == []

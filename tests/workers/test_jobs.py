"""Enqueue options and the state rules of cancel and requeue."""

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis import Redis
from rq.job import JobStatus

from workers.core.errors import InvalidJobError, JobNotFoundError, JobStateError, TaskNotFoundError
from workers.core.settings import Settings
from workers.jobs import submit as jobs
from workers.jobs.submit import JobSpec


def submit(redis: Redis, settings: Settings, **fields: Any) -> jobs.TaskJob:
    return jobs.submit(redis, settings, JobSpec(**fields)).job


def test_defaults_come_from_task_then_settings(redis: Redis, settings: Settings) -> None:
    job = submit(redis, settings, task="tests.flaky", args=["x", 0])
    assert job.origin == "default" and job.timeout == settings.job_timeout
    assert job.retries_left == 3 and job.retry_intervals == [1, 1, 1]
    assert job.description == 'tests.flaky("x", 0)'


def test_unknown_task_and_bad_args(redis: Redis, settings: Settings) -> None:
    with pytest.raises(TaskNotFoundError):
        submit(redis, settings, task="os.remove")
    with pytest.raises(InvalidJobError):
        submit(redis, settings, task="tests.echo", args=[float("nan")])
    with pytest.raises(InvalidJobError):
        submit(redis, settings, task="tests.echo", args=[1], delay=1, at=datetime.now(UTC))
    with pytest.raises(InvalidJobError):
        submit(redis, settings, task="tests.echo", args=[1], depends_on=["nope"])
    assert redis.dbsize() == 0


def test_delay_and_at_schedule(redis: Redis, settings: Settings) -> None:
    delayed = submit(redis, settings, task="tests.echo", args=[1], delay=60)
    at = submit(redis, settings, task="tests.echo", args=[1], at=datetime.now(UTC) + timedelta(hours=1))
    past = submit(redis, settings, task="tests.echo", args=[1], at=datetime.now(UTC) - timedelta(hours=1))
    assert delayed.get_status() == JobStatus.SCHEDULED
    assert at.get_status() == JobStatus.SCHEDULED
    assert past.get_status() == JobStatus.QUEUED


def test_dependency_defers_until_parent_finishes(redis: Redis, settings: Settings, run_worker: Any) -> None:
    parent = submit(redis, settings, task="tests.echo", args=[1])
    child = submit(redis, settings, task="tests.echo", args=[2], depends_on=[parent.id])
    assert child.get_status() == JobStatus.DEFERRED
    run_worker()
    assert child.get_status() == JobStatus.FINISHED


def test_idempotency_key_returns_first_job(redis: Redis, settings: Settings) -> None:
    first = jobs.submit(redis, settings, JobSpec(task="tests.echo", args=[1]), "key-1")
    again = jobs.submit(redis, settings, JobSpec(task="tests.echo", args=[2]), "key-1")
    other = jobs.submit(redis, settings, JobSpec(task="tests.echo", args=[3]), "key-2")
    assert first.created and not again.created and other.created
    assert again.job.id == first.job.id != other.job.id


def test_batch_is_all_or_nothing(redis: Redis, settings: Settings) -> None:
    specs = [JobSpec(task="tests.echo", args=[1]), JobSpec(task="nope")]
    with pytest.raises(TaskNotFoundError):
        jobs.submit_many(redis, settings, specs)
    assert redis.dbsize() == 0
    assert len(jobs.submit_many(redis, settings, specs[:1] * 3)) == 3


def test_cancel_and_requeue_rules(redis: Redis, settings: Settings, run_worker: Any) -> None:
    job = submit(redis, settings, task="tests.echo", args=[1], delay=60)
    jobs.cancel(redis, job.id)
    assert job.get_status() == JobStatus.CANCELED
    with pytest.raises(JobStateError):
        jobs.cancel(redis, job.id)
    jobs.requeue(redis, job.id)
    assert job.get_status() == JobStatus.QUEUED
    with pytest.raises(JobStateError):
        jobs.requeue(redis, job.id)
    run_worker()
    assert job.get_status() == JobStatus.FINISHED
    with pytest.raises(JobNotFoundError):
        jobs.fetch(redis, "missing")


def test_idempotency_key_of_a_request_still_in_flight(redis: Redis, settings: Settings) -> None:
    from workers.core.keys import idempotency_key
    from workers.jobs.submit import IDEMPOTENCY_TTL

    key = idempotency_key(hashlib.sha256(b"in-flight").hexdigest())
    redis.set(key, "job-not-stored-yet", ex=IDEMPOTENCY_TTL)
    with pytest.raises(JobStateError):  # 409: the first request may still be enqueuing
        jobs.submit(redis, settings, JobSpec(task="tests.echo", args=[1]), "in-flight")
    redis.expire(key, IDEMPOTENCY_TTL - 60)  # that request died without storing its job
    taken_over = jobs.submit(redis, settings, JobSpec(task="tests.echo", args=[1]), "in-flight")
    assert taken_over.created and redis.get(key).decode() == taken_over.job.id

"""Enqueue options and the state rules of cancel and requeue."""

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from redis import Redis
from redis.exceptions import ResponseError
from rq.job import JobStatus

from workers.core.errors import InvalidJobError, JobNotFoundError, JobStateError, TaskNotFoundError
from workers.core.settings import Settings
from workers.jobs import submit as jobs
from workers.jobs.submit import JobSpec
from workers.tasks.registry import registry


def submit(redis: Redis, settings: Settings, **fields: Any) -> jobs.TaskJob:
    return jobs.submit(redis, settings, JobSpec(**fields)).job


def test_defaults_come_from_task_then_settings(redis: Redis, settings: Settings) -> None:
    job = submit(redis, settings, task="tests.flaky", args=["x", 0])
    assert job.origin == "default"
    assert job.timeout == settings.job_timeout
    assert job.retries_left == 3
    assert job.retry_intervals == [1, 1, 1]
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
    assert first.created
    assert not again.created
    assert other.created
    assert again.job.id == first.job.id != other.job.id


def test_batch_is_all_or_nothing(redis: Redis, settings: Settings) -> None:
    specs = [JobSpec(task="tests.echo", args=[1]), JobSpec(task="nope")]
    with pytest.raises(TaskNotFoundError):
        jobs.submit_many(redis, settings, specs)
    assert redis.dbsize() == 0
    assert len(jobs.submit_many(redis, settings, specs[:1] * 3)) == 3


def test_cancel_and_requeue_rules(redis: Redis, settings: Settings, run_worker: Any) -> None:
    # a pending job: cancel it once, not twice
    job = submit(redis, settings, task="tests.echo", args=[1], delay=60)
    jobs.cancel(redis, job.id)
    assert job.get_status() == JobStatus.CANCELED
    with pytest.raises(JobStateError):
        jobs.cancel(redis, job.id)

    # a canceled job: requeue it once, not twice
    jobs.requeue(redis, job.id)
    assert job.get_status() == JobStatus.QUEUED
    with pytest.raises(JobStateError):
        jobs.requeue(redis, job.id)

    # the requeued job runs
    run_worker()
    assert job.get_status() == JobStatus.FINISHED

    # an unknown id
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
    assert taken_over.created
    assert redis.get(key).decode() == taken_over.job.id


def test_a_batch_that_fails_after_a_dependent_item_writes_nothing(redis: Redis, settings: Settings) -> None:
    parent = submit(redis, settings, task="tests.echo", args=[1])
    before = sorted(redis.scan_iter("rq:job:*"))
    specs = [JobSpec(task="tests.echo", depends_on=[parent.id]), JobSpec(task="tests.echo", queue="default:x")]
    with pytest.raises(InvalidJobError, match=r"jobs\[1\]"):
        jobs.submit_many(redis, settings, specs)
    assert sorted(redis.scan_iter("rq:job:*")) == before


def test_a_batch_with_dependencies_is_written_whole(redis: Redis, settings: Settings, run_worker: Any) -> None:
    # given: one parent still queued, one finished
    waiting = submit(redis, settings, task="tests.echo", args=[1])
    done = submit(redis, settings, task="tests.echo", args=[2], queue="low")
    run_worker(("low",))

    # when
    batch = jobs.submit_many(
        redis,
        settings,
        [
            JobSpec(task="tests.echo", args=[3], depends_on=[waiting.id]),
            JobSpec(task="tests.echo", args=[4], depends_on=[done.id]),
        ],
    )

    # then
    assert [job.get_status() for job in batch] == [JobStatus.DEFERRED, JobStatus.QUEUED]
    run_worker()
    assert batch[0].get_status() == JobStatus.FINISHED


def test_a_repeated_dependency_is_one(redis: Redis, settings: Settings) -> None:
    parent = submit(redis, settings, task="tests.echo", args=[1])
    child = submit(redis, settings, task="tests.echo", depends_on=[parent.id, parent.id])
    assert child.get_status() == JobStatus.DEFERRED
    assert redis.smembers(child.dependencies_key) == {parent.id.encode()}


@pytest.mark.parametrize("at", [datetime.max.replace(tzinfo=timezone(timedelta(hours=-14)))])
def test_an_unrepresentable_at_is_refused_before_the_idempotency_key(redis: Redis, settings: Settings, at) -> None:
    with pytest.raises(InvalidJobError, match="at"):
        jobs.submit(redis, settings, JobSpec(task="tests.echo", at=at), "key")
    assert redis.dbsize() == 0


def test_whatever_fails_mid_batch_nothing_is_written(redis: Redis, settings: Settings) -> None:
    """One transaction, not only validation first: an item failing inside the enqueue (a queue
    name validate never saw) leaves no job of the batch, not even the dependent one before it."""
    parent = submit(redis, settings, task="tests.echo", args=[1])
    before = sorted(redis.scan_iter("rq:job:*"))
    echo = registry.get("tests.echo")
    items = [
        (JobSpec(task="tests.echo", depends_on=[parent.id]), echo),
        (JobSpec(task="tests.echo", queue="a b"), echo),
    ]
    with pytest.raises(InvalidJobError):
        jobs._enqueue_all(redis, settings, items)
    assert sorted(redis.scan_iter("rq:job:*")) == before


@pytest.mark.parametrize("depends", [False, True])
def test_a_batch_is_all_or_nothing_when_redis_refuses_a_write_in_the_middle(
    redis: Redis, settings: Settings, depends: bool
) -> None:
    """Redis itself fails the middle item (a key of the wrong type): MULTI/EXEC would keep the others."""
    parent = [submit(redis, settings, task="tests.echo").id] if depends else []
    before = sorted(redis.scan_iter("rq:job:*"))
    redis.set("rq:queue:low", "not a list")
    specs = [
        JobSpec(task="tests.echo", depends_on=parent),
        JobSpec(task="tests.echo", queue="low"),
        JobSpec(task="tests.echo"),
    ]
    with pytest.raises(ResponseError):
        jobs.submit_many(redis, settings, specs)
    assert sorted(redis.scan_iter("rq:job:*")) == before


@pytest.mark.parametrize("timing", [{"delay": 60}, {"at": datetime.now(UTC) + timedelta(hours=1)}])
def test_a_delayed_job_keeps_its_timeout(redis: Redis, settings: Settings, timing: dict[str, Any]) -> None:
    job = submit(redis, settings, task="tests.echo", timeout=42, **timing)
    assert jobs.fetch(redis, job.id).timeout == 42

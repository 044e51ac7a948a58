"""Late-result protection: a run whose job was handed on meanwhile records no end (workers/rq_seam/owned_end.py)."""

from __future__ import annotations

from typing import Any

import pytest
from redis import Redis
from redis.exceptions import WatchError
from rq import Retry
from rq.job import JobStatus

from workers.rq_seam.job import TaskJob
from workers.rq_seam.owned_end import OwnedEnds
from workers.rq_seam.queue import get_queue


def enqueue(redis: Redis, task: str, args: list[Any], retry: int = 0) -> TaskJob:
    queue = get_queue("default", redis)
    options: dict[str, Any] = {"retry": Retry(max=retry)} if retry else {}
    return queue.enqueue_call("workers.runner.run_task", args=[task, args, {}], **options)  # type: ignore[no-any-return]


def results(redis: Redis, job: TaskJob) -> int:
    return len(TaskJob.fetch(job.id, connection=redis).results())


def test_a_run_that_still_owns_its_job_records_its_end(redis: Redis, run_worker: Any) -> None:
    job = enqueue(redis, "tests.echo", ["mine"])
    run_worker()
    assert job.get_status() == JobStatus.FINISHED
    assert results(redis, job) == 1
    assert job.id in get_queue("default", redis).finished_job_registry


def test_a_late_success_is_dropped(redis: Redis, run_worker: Any, caplog: pytest.LogCaptureFixture) -> None:
    job = enqueue(redis, "tests.handed_on", ["ok"])
    run_worker()
    assert f"late end of run {job.id}:" in caplog.text
    assert job.get_status() == JobStatus.STARTED  # as the run left it: whoever took it over writes its end
    assert results(redis, job) == 0
    assert job.id not in get_queue("default", redis).finished_job_registry


def test_a_late_failure_is_dropped(redis: Redis, run_worker: Any) -> None:
    job = enqueue(redis, "tests.handed_on", ["fail"])
    run_worker()
    assert job.get_status() == JobStatus.STARTED
    assert results(redis, job) == 0
    assert job.id not in get_queue("default", redis).failed_job_registry


def test_a_late_failure_spends_no_retry_and_does_not_run_again(redis: Redis, run_worker: Any) -> None:
    job = enqueue(redis, "tests.handed_on", ["fail"], retry=1)
    run_worker()
    fetched = TaskJob.fetch(job.id, connection=redis)
    assert fetched.get_status() == JobStatus.STARTED
    assert fetched.retries_left == 1
    assert len(get_queue("default", redis)) == 0
    assert fetched.id not in get_queue("default", redis).scheduled_job_registry


def test_a_success_end_reads_the_dependents_with_its_watch(redis: Redis, run_worker: Any) -> None:
    """RQ's read of the dependents rides on the WATCH round trip; a dependent is still enqueued and run."""
    queue = get_queue("default", redis)
    parent = enqueue(redis, "tests.echo", ["parent"])
    child = queue.enqueue_call("workers.runner.run_task", args=["tests.echo", ["child"], {}], depends_on=parent)
    assert child.get_status() == JobStatus.DEFERRED
    run_worker()
    assert parent.get_status() == JobStatus.FINISHED
    assert TaskJob.fetch(child.id, connection=redis).get_status() == JobStatus.FINISHED


def reads(redis: Redis) -> int:
    """Redis's count of reads from clients: one per round trip (this INFO's own included)."""
    return int(redis.info("stats")["total_reads_processed"])


def test_the_dependents_read_after_the_watch_costs_no_round_trip(redis: Redis) -> None:
    connection = Redis(connection_pool=redis.connection_pool)
    ends = OwnedEnds(connection)
    redis.sadd("deps", "a", "b")
    redis.zadd("started", {"job:run": 1})
    with ends.owned_by("job", "started", "job:run", "deps"), connection.pipeline() as pipeline:
        pipeline.watch("deps")
        before = reads(redis)
        members = pipeline.smembers("deps")
        assert reads(redis) - before == 1  # only the INFO itself
        assert {m.decode() if isinstance(m, bytes) else m for m in members} == {"a", "b"}
        again = pipeline.smembers("deps")  # a second read is Redis's, as before
        assert reads(redis) - before == 3
        assert again == members
        pipeline.multi()
        pipeline.sadd("deps", "c")
        pipeline.execute()
    assert redis.scard("deps") == 3


def test_a_change_to_the_dependents_after_the_prefetch_aborts_the_end(redis: Redis) -> None:
    """The read rides after the WATCH, so a dependent added meanwhile fails the EXEC (RQ then rebuilds it)."""
    connection = Redis(connection_pool=redis.connection_pool)
    ends = OwnedEnds(connection)
    redis.zadd("started", {"job:run": 1})
    with ends.owned_by("job", "started", "job:run", "deps"), connection.pipeline() as pipeline:
        pipeline.watch("deps")
        assert pipeline.smembers("deps") == set()
        redis.sadd("deps", "late")
        pipeline.multi()
        pipeline.set("ended", 1)
        with pytest.raises(WatchError):
            pipeline.execute()
    assert redis.get("ended") is None

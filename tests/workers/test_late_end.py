"""Late-result protection: a run whose job was handed on meanwhile records no end (workers/rq_seam/owned_end.py)."""

from __future__ import annotations

from typing import Any

import pytest
from redis import Redis
from rq import Retry
from rq.job import JobStatus

from workers.rq_seam.job import TaskJob
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

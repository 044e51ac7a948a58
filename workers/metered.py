"""A SimpleWorker that counts, times and logs every job run, inside the pipelines RQ already executes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from redis.client import Pipeline
from redis.exceptions import RedisError
from rq import Retry, SimpleWorker
from rq.exceptions import AbandonedJobError
from rq.job import Job
from rq.queue import Queue

from workers.metrics import ABANDONED, FAILED, FINISHED, RETRIED, STOPPED, JobRun, record_job_run
from workers.registry import registry
from workers.serialization import TaskJob

log = logging.getLogger(__name__)
UNREGISTERED = "unregistered"  # one label for every job naming no registered task, so no one can grow the series


class MeteredWorker(SimpleWorker):
    """Records each run's outcome and timings (workers/metrics.py) and logs its start and end.

    RQ commits the end of a run in one pipeline and calls `increment_successful_job_count`
    or `increment_failed_job_count` on it on every path (success, failure, retry, stop).
    The metrics ride on that pipeline: no extra round trip, and they land atomically with
    the job's new status. The `handle_job_*` overrides only note the outcome first, because
    RQ forgets why a run failed (a stop request, retries left) before it increments.
    """

    _ending: JobRun | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.push_exc_handler(count_abandoned)

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        super().prepare_job_execution(job, remove_from_intermediate_queue)
        task = task_label(job)
        log.info(
            "job %s started: %s on %s",
            job.id,
            task,
            job.origin,
            extra={"job_id": job.id, "task": task, "queue": job.origin},
        )

    def handle_job_success(self, job: Job, queue: Queue, *args: Any, **kwargs: Any) -> None:
        with self._run_ending(job, FINISHED):
            super().handle_job_success(job, queue, *args, **kwargs)

    def handle_job_failure(self, job: Job, queue: Queue, *args: Any, **kwargs: Any) -> None:
        with self._run_ending(job, self.failure_outcome(job)):
            super().handle_job_failure(job, queue, *args, **kwargs)

    def handle_job_retry(self, job: Job, queue: Queue, retry: Retry, *args: Any, **kwargs: Any) -> None:
        """A task that returned `rq.Retry`: failed once its attempts are spent, as RQ decides."""
        exhausted = bool(job.number_of_retries and job.number_of_retries >= retry.max)
        with self._run_ending(job, FAILED if exhausted else RETRIED):
            super().handle_job_retry(job, queue, retry, *args, **kwargs)

    def failure_outcome(self, job: Job) -> str:
        """Why this run failed; read before RQ clears its stop flag and spends a retry."""
        if self._stopped_job_id == job.id:
            return STOPPED
        return RETRIED if job.should_retry else FAILED

    def increment_successful_job_count(self, pipeline: Pipeline | None = None) -> None:
        super().increment_successful_job_count(pipeline)
        self._record(pipeline)

    def increment_failed_job_count(self, pipeline: Pipeline | None = None) -> None:
        super().increment_failed_job_count(pipeline)
        self._record(pipeline)

    def _record(self, pipeline: Pipeline | None) -> None:
        # RQ may rebuild the success transaction after a WatchError; each build records once.
        if pipeline is not None and self._ending is not None:
            record_job_run(pipeline, self._ending)

    @contextmanager
    def _run_ending(self, job: Job, outcome: str) -> Iterator[None]:
        run = job_run(job, outcome)
        self._ending = run
        try:
            yield
        finally:
            self._ending = None
        log_end(job, run)


def count_abandoned(job: Job, exc_type: type[BaseException] | None, *exc: Any) -> bool:
    """Count and log a run whose worker died, when RQ's cleanup (in any live worker) finds it.

    The cleanup calls a worker's exception handlers with `AbandonedJobError`; the
    count is its own write, as no pipeline of RQ's is at hand there. Returns True:
    the other handlers still run.
    """
    if exc_type is None or not issubclass(exc_type, AbandonedJobError):
        return True
    run = job_run(job, ABANDONED)
    try:
        with job.connection.pipeline() as pipe:
            record_job_run(pipe, run)
            pipe.execute()
    except RedisError as error:  # the cleanup itself must go on
        log.warning("abandoned job %s not counted: %s", job.id, error)
    log_end(job, run)
    return True


def task_label(job: Job) -> str:
    name = job.task_name if isinstance(job, TaskJob) else None
    return name if name is not None and name in registry else UNREGISTERED


def job_run(job: Job, outcome: str) -> JobRun:
    """The run's labels and timings: wait = started_at - enqueued_at, run time = ended_at - started_at."""
    return JobRun(
        task=task_label(job),
        queue=job.origin,
        outcome=outcome,
        wait=_seconds(job.enqueued_at, job.started_at),
        duration=_seconds(job.started_at, job.ended_at),
    )


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start is not None and end is not None else None


def log_end(job: Job, run: JobRun) -> None:
    duration = run.duration if run.duration is not None else 0.0
    log.info(
        "job %s %s after %.3fs: %s on %s",
        job.id,
        run.outcome,
        duration,
        run.task,
        run.queue,
        extra={
            "job_id": job.id,
            "task": run.task,
            "queue": run.queue,
            "status": run.outcome,
            "duration": run.duration,
            "wait": run.wait,
        },
    )

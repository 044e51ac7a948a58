"""Counting, timing and logging every job run, inside the pipelines RQ already executes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from redis.client import Pipeline
from redis.exceptions import RedisError
from rq import Retry
from rq.exceptions import AbandonedJobError
from rq.job import Job

from workers.core.logs import log_soon
from workers.observability.events import add_job_end
from workers.observability.metrics import (
    ABANDONED,
    FAILED,
    INTERRUPTED,
    RETRIED,
    STOPPED,
    JobRun,
    record_job_run,
)
from workers.rq_seam.job import TaskJob
from workers.tasks.registry import registry

log = logging.getLogger(__name__)
UNREGISTERED = "unregistered"  # one label for every job naming no registered task, so no one can grow the series


class JobMeter:
    """Records each run's outcome and timings (observability/metrics.py) and logs its start and end.

    RQ commits the end of a run in one pipeline and increments the worker's success or
    failure count on it on every path (success, failure, retry, stop). The metrics ride
    on that pipeline: no extra round trip, and they land atomically with the job's new
    status. The worker notes the outcome first (`ending`), because RQ forgets why a run
    failed (a stop request, retries left) before it increments. Each job ends in its own
    thread, so the outcome being recorded is per thread.
    """

    def __init__(self) -> None:
        self._here = threading.local()

    def started(self, job: Job) -> None:
        task = task_label(job)
        log_soon(
            log,
            logging.INFO,
            "job %s started: %s on %s",
            job.id,
            task,
            job.origin,
            extra={"job_id": job.id, "task": task, "queue": job.origin},
        )

    @contextmanager
    def ending(self, job: Job, outcome: str) -> Iterator[None]:
        """Around RQ's handling of a run's end: what `record` writes, then one log line."""
        run = job_run(job, outcome)
        self._here.ending = (job.id, run)
        try:
            yield
        finally:
            self._here.ending = None
        log_end(job, run)

    def record(self, pipeline: Pipeline | None) -> None:
        # RQ may rebuild the success transaction after a WatchError; each build records once.
        ending = getattr(self._here, "ending", None)
        if pipeline is not None and ending is not None:
            job_id, run = ending
            record_job_run(pipeline, run)
            add_job_end(pipeline, job_id, run.task, run.queue, run.outcome, run.duration)


def failure_outcome(job: Job, stopped: bool, interrupted: bool) -> str:
    """Why a run failed; read before RQ clears its stop flag and spends a retry."""
    if interrupted:
        return INTERRUPTED  # cut short by shutdown and put back: not a failure
    if stopped:
        return STOPPED
    return RETRIED if job.should_retry else FAILED


def retry_outcome(job: Job, retry: Retry) -> str:
    """A task that returned `rq.Retry`: failed once its attempts are spent, as RQ decides."""
    exhausted = bool(job.number_of_retries and job.number_of_retries >= retry.max)
    return FAILED if exhausted else RETRIED


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
            add_job_end(pipe, job.id, run.task, run.queue, run.outcome, run.duration)
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
    log_soon(
        log,
        logging.INFO,
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

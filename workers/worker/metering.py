"""Counting, timing and logging every job run: its end event with its end, its metrics once per beat."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from redis import Redis
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
    job_run_steps,
    record_job_run,
)
from workers.observability.tally import Tally
from workers.rq_seam.job import TaskJob
from workers.tasks.registry import registry

log = logging.getLogger(__name__)
UNREGISTERED = "unregistered"  # one label for every job naming no registered task, so no one can grow the series


class JobMeter:
    """Records each run's outcome and timings (observability/metrics.py) and logs its start and end.

    RQ commits the end of a run in one pipeline and increments the worker's success or
    failure count on it on every path (success, failure, retry, stop); the fast success
    end (workers/rq_seam/fast_end.py) builds the same writes. The run's end event
    (observability/events.py) rides on that pipeline, so it lands with the job's new
    status. The run's metrics do not: once the end is committed (`committed`) they are
    added to the worker's tally (observability/tally.py), which the worker's beat writes
    once a second, so a run costs no metric commands of its own. The worker notes the
    outcome first (`ending`), because RQ forgets why a run failed (a stop request,
    retries left) before it increments. Each job ends in its own thread, so the outcome
    being recorded is per thread.
    """

    def __init__(self) -> None:
        self._here = threading.local()
        self.tally = Tally()

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
            self._here.built = None
        log_end(job, run)

    def record(self, pipeline: Pipeline | None) -> None:
        """Queue the run's end event on the end's pipeline; its metrics wait for `committed`."""
        # RQ may rebuild the success transaction after a WatchError, and a fast end found not
        # to be one falls back to RQ's: each build records, the one committed counts.
        ending = getattr(self._here, "ending", None)
        if pipeline is not None and ending is not None:
            job_id, run = ending
            self._here.built = (run, pipeline)
            add_job_end(pipeline, job_id, run.task, run.queue, run.outcome, run.duration)

    def committed(self, pipeline: object | None = None) -> None:
        """The end this thread built on `pipeline` (None: the last one built) was written: its run counts, once.

        Other transactions of RQ's in the end (its read of the dependents) are not the end."""
        built = getattr(self._here, "built", None)
        if built is not None and (pipeline is None or pipeline is built[1]):
            self._here.built = None
            self.tally.add(job_run_steps(built[0]))

    def flush(self, connection: Redis) -> None:
        """Write the tally's last counts (the worker's teardown), so a clean stop loses none."""
        try:
            self.tally.flush(connection)
        except RedisError as error:
            log.warning("metrics of the last runs not written: %s", error)


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
    count and the end event are their own write, at once (such runs are rare), as no
    pipeline of RQ's is at hand there. Returns True: the other handlers still run.
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

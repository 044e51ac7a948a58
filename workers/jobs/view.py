"""What a job looks like to API users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rq.job import JobStatus
from rq.results import Result

from workers.callbacks.state import JobCallback, callback_of
from workers.jobs.submit import ENDED
from workers.rq_seam.job import TaskJob
from workers.rq_seam.queue import get_queue
from workers.tasks.progress import MESSAGE_MAX, PROGRESS, PROGRESS_MESSAGE, checked_fraction


@dataclass
class JobError:
    type: str
    message: str
    traceback: str


@dataclass
class JobInfo:
    id: str
    task: str | None
    args: list[Any]
    kwargs: dict[str, Any]
    queue: str
    status: str
    result: Any
    error: JobError | None
    enqueued_at: datetime | None
    scheduled_for: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    attempts: int
    retries_left: int | None
    worker: str | None
    schedule: str | None
    submitted_by: str | None
    progress: float | None
    progress_message: str | None
    callback: JobCallback | None


def describe(job: TaskJob) -> JobInfo:
    """Read a job's public view (one extra round trip for its latest result when it ran)."""
    status = job.get_status(refresh=False) or JobStatus.QUEUED
    latest = job.latest_result() if status in ENDED else None
    args = job.args if job.task_name else []
    return JobInfo(
        id=job.id,
        task=job.task_name,
        args=list(args[1]) if len(args) > 1 else [],
        kwargs=dict(args[2]) if len(args) > 2 else {},
        queue=job.origin,
        status=status.value,
        result=latest.return_value if latest and latest.type == Result.Type.SUCCESSFUL else None,
        error=_error(latest),
        enqueued_at=job.enqueued_at,
        scheduled_for=_scheduled_for(job, status),
        started_at=job.started_at,
        ended_at=job.ended_at,
        attempts=_attempts(job, status),
        retries_left=job.retries_left,
        worker=job.worker_name or None,
        schedule=job.meta.get("schedule"),
        submitted_by=_text(job.meta.get("submitted_by")),
        progress=_progress(job.meta.get(PROGRESS)),
        progress_message=_progress_message(job.meta.get(PROGRESS_MESSAGE)),
        callback=callback_of(job.connection, job.id, job.meta),
    )


def _text(value: Any) -> str | None:
    """A string stored in meta, or None (a job written by hand may hold anything there)."""
    return value if isinstance(value, str) else None


def _progress(value: Any) -> float | None:
    """The stored progress if it is a fraction in [0, 1], else None: meta written by hand is not trusted."""
    try:
        return checked_fraction(value)
    except (TypeError, ValueError):
        return None


def _progress_message(value: Any) -> str | None:
    text = _text(value)
    return text[:MESSAGE_MAX] if text is not None else None


def _error(result: Result | None) -> JobError | None:
    if result is None or result.type == Result.Type.SUCCESSFUL or not result.exc_string:
        return None
    lines = [line for line in result.exc_string.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "Error"
    kind, _, message = last.partition(": ")
    return JobError(type=kind.strip(), message=message.strip(), traceback=result.exc_string)


def _scheduled_for(job: TaskJob, status: JobStatus) -> datetime | None:
    if status != JobStatus.SCHEDULED:
        return None
    try:
        return get_queue(job.origin, job.connection).scheduled_job_registry.get_scheduled_time(job)
    except Exception:  # noqa: BLE001 - moved to its queue between the two reads
        return None


def _attempts(job: TaskJob, status: JobStatus) -> int:
    """Runs so far: each retry counted once, plus the current or last run."""
    left = job.retries_left if job.retries_left is not None else 0
    retries = max(0, int(job.meta.get("retry_max", 0)) - left) + (job.number_of_retries or 0)
    ran = status in (JobStatus.STARTED, JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED)
    return retries + (1 if ran else 0)

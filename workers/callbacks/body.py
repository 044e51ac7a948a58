"""The body a callback sends: the job as GET /jobs/{id} shows it, as JSON bytes."""

from __future__ import annotations

from pydantic import TypeAdapter
from redis import Redis

from workers.core.errors import JobNotFoundError
from workers.jobs.submit import fetch
from workers.jobs.view import JobInfo, describe
from workers.rq_seam.job import TaskJob

_JOB = TypeAdapter(JobInfo)


def job_body(connection: Redis, job_id: str) -> bytes | None:
    """The job's public view as JSON (the API's field names and time format), or None once it is gone."""
    try:
        job = fetch(connection, job_id)
    except JobNotFoundError:
        return None
    return _JOB.dump_json(describe(job))


def job_status(connection: Redis, job_id: str) -> str | None:
    """The job's status as stored now, or None once it is gone."""
    status = connection.hget(TaskJob.key_for(job_id), "status")
    return status.decode() if isinstance(status, bytes) else None

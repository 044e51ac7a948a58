"""The API's job answers, built from RQ jobs by the one view of a job (workers/jobs/view.py)."""

from __future__ import annotations

from service.schemas import JobAccepted, JobOut
from workers.jobs import submit as jobs
from workers.jobs.submit_async import FirstJob
from workers.jobs.view import describe
from workers.jobs.writer import JobWrite


def accepted(job: jobs.TaskJob) -> JobAccepted:
    return JobAccepted.model_validate(describe(job), from_attributes=True)


def job_out(job: jobs.TaskJob) -> JobOut:
    return JobOut.model_validate(describe(job), from_attributes=True)


def accepted_write(write: JobWrite | FirstJob) -> JobAccepted:
    """The answer for a job this request wrote (from the writer's plan: no read back), or a replay's first job."""
    return JobAccepted(
        id=write.id,
        status=write.status.value,
        task=write.task,
        queue=write.queue,
        enqueued_at=write.enqueued_at,
        scheduled_for=write.scheduled_for,
    )

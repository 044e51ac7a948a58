"""Submit jobs on the asyncio client: the web's path, with no thread-pool hop per request.

The same checks, plan and writer as `submit.py`; only the sending differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import WatchError
from rq.job import JobStatus
from rq.registry import ScheduledJobRegistry

from workers.core.errors import JobNotFoundError
from workers.core.settings import Settings
from workers.jobs import writer
from workers.jobs.planning import dependency_ids, guard_for, plan_all, unfinished_of
from workers.jobs.spec import JobSpec
from workers.jobs.submit import check_callbacks, checked, checked_all
from workers.jobs.writer import Guard, JobWrite
from workers.rq_seam.job import TaskJob
from workers.tasks.registry import Task


@dataclass(frozen=True)
class FirstJob:
    """What an idempotent replay answers about the job its key names."""

    id: str
    status: JobStatus
    task: str | None
    queue: str
    enqueued_at: datetime | None
    scheduled_for: datetime | None


@dataclass(frozen=True)
class AsyncSubmission:
    """The job this call wrote, or (an idempotent replay) the id of the job its key already names."""

    written: JobWrite | None
    replay_of: str | None = None


async def submit_async(
    connection: AsyncRedis, settings: Settings, spec: JobSpec, idempotency: str | None = None
) -> AsyncSubmission:
    """`submit.submit` on the asyncio client; a replay answers the first job's id."""
    task = checked(spec)
    check_callbacks(settings, [spec])
    guard = guard_for(spec, idempotency) if idempotency is not None else None
    written, existing = await _write_all(connection, settings, [(spec, task)], guard)
    if existing is not None:
        return AsyncSubmission(None, existing)
    return AsyncSubmission(written[0])


async def first_job(connection: AsyncRedis, job_id: str) -> FirstJob:
    """The job a replay names, read on the asyncio client (its hash; its due time when scheduled)."""
    raw = await connection.hgetall(TaskJob.key_for(job_id))
    if not raw:
        raise JobNotFoundError(f"no job {job_id!r}")
    job = TaskJob(job_id, connection=connection)  # type: ignore[arg-type] # only read from memory, never for I/O
    job.restore(raw)
    status = job.get_status(refresh=False) or JobStatus.QUEUED
    due = None
    if status == JobStatus.SCHEDULED:
        score = await connection.zscore(ScheduledJobRegistry.key_template.format(job.origin), job_id)
        due = datetime.fromtimestamp(score, UTC) if score is not None else None
    return FirstJob(job_id, status, job.task_name, job.origin, job.enqueued_at, due)


async def submit_many_async(connection: AsyncRedis, settings: Settings, specs: list[JobSpec]) -> list[JobWrite]:
    """`submit.submit_many` on the asyncio client: all of them or none."""
    items = checked_all(specs)
    check_callbacks(settings, specs, batch=True)
    written, _ = await _write_all(connection, settings, items)
    return written


async def _write_all(
    connection: AsyncRedis, settings: Settings, items: list[tuple[JobSpec, Task]], guard: Guard | None = None
) -> tuple[list[JobWrite], str | None]:
    """Plan and write every job in one call; dependencies read under WATCH, as in `submit._write_all`."""
    depended_on = dependency_ids(items)
    if not depended_on:
        written = plan_all(settings, items, set())
        return written, await writer.send_async(connection, written, guard)
    keys = [TaskJob.key_for(job_id) for job_id in depended_on]
    async with connection.pipeline() as pipe:
        while True:
            try:
                await pipe.watch(*keys)
                statuses = [await pipe.hget(key, "status") for key in keys]
                written = plan_all(settings, items, unfinished_of(depended_on, statuses))
                pipe.multi()
                writer.queue_on(pipe, written, guard)
                return written, writer.existing((await pipe.execute())[0])
            except WatchError:
                continue

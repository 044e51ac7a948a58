"""Submit and manage jobs: every RQ enqueue, cancel and requeue goes through here."""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import WatchError
from rq import Retry
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import JobStatus
from rq.utils import parse_timeout

from workers.core.datetimes import check_representable
from workers.core.errors import InvalidJobError, JobNotFoundError, JobStateError, TaskNotFoundError
from workers.core.json_values import check_json_value
from workers.core.keys import check_queue_name, idempotency_key
from workers.core.settings import Settings
from workers.jobs import writer
from workers.jobs.spec import JobSpec
from workers.jobs.writer import Guard, JobOptions, JobWrite
from workers.rq_seam.job import SERIALIZER, TaskJob
from workers.rq_seam.queue import get_queue
from workers.tasks.registry import RetryPolicy, Task, registry

__all__ = ["JobSpec", "Submission", "TaskJob", "cancel", "fetch", "requeue", "submit", "submit_many", "validate"]

IDEMPOTENCY_TTL = 24 * 3600
ENDED = {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.STOPPED}


@dataclass
class Submission:
    """A job and whether this call created it (False: an idempotent replay)."""

    job: TaskJob
    created: bool


def submit(connection: Redis, settings: Settings, spec: JobSpec, idempotency: str | None = None) -> Submission:
    """Validate and enqueue one job; with an idempotency key, a replay returns the first job.

    The key and the job are written in one atomic call, so of any number of concurrent
    requests with one key exactly one writes a job and the others answer it.
    """
    task = validate(connection, spec)
    if idempotency is None:
        return Submission(_enqueue_all(connection, settings, [(spec, task)])[0], created=True)
    spec.job_id = spec.job_id or str(uuid.uuid4())
    guard = Guard(idempotency_key(hashlib.sha256(idempotency.encode()).hexdigest()), spec.job_id, IDEMPOTENCY_TTL)
    written, existing = _write_all(connection, settings, [(spec, task)], guard)
    if existing is not None:
        return Submission(fetch(connection, existing), created=False)
    return Submission(written[0].job(connection), created=True)


def submit_many(connection: Redis, settings: Settings, specs: list[JobSpec]) -> list[TaskJob]:
    """Validate every spec before enqueuing any, so one bad item creates nothing."""
    tasks = []
    for index, spec in enumerate(specs):
        try:
            tasks.append(validate(connection, spec))
        except (InvalidJobError, TaskNotFoundError) as error:
            raise type(error)(f"jobs[{index}]: {error}") from None
    return _enqueue_all(connection, settings, list(zip(specs, tasks, strict=True)))


def _enqueue_all(connection: Redis, settings: Settings, items: list[tuple[JobSpec, Task]]) -> list[TaskJob]:
    """Enqueue every job in one atomic write: all of them or none, whatever their options."""
    written, _ = _write_all(connection, settings, items)
    return [write.job(connection) for write in written]


def _write_all(
    connection: Redis, settings: Settings, items: list[tuple[JobSpec, Task]], guard: Guard | None = None
) -> tuple[list[JobWrite], str | None]:
    """Plan and write every job (and `guard`'s key); the id the key already names, if it does.

    Dependencies are read under WATCH, as rq does: if one changes before EXEC (it
    finished, or was deleted) the whole batch is planned again on what is then true.
    """
    dependency_ids = list(dict.fromkeys(job_id for spec, _ in items for job_id in spec.depends_on))
    if not dependency_ids:
        written = [plan(settings, spec, task, waits=False) for spec, task in items]
        return written, writer.send(connection, written, guard)
    with connection.pipeline() as pipe:
        while True:
            try:
                unfinished = _unfinished(pipe, dependency_ids)
                written = [
                    plan(settings, spec, task, bool(unfinished.intersection(spec.depends_on))) for spec, task in items
                ]
                pipe.multi()
                pipe.execute_command(*writer.command(written, guard))
                return written, writer.existing(pipe.execute()[0])
            except WatchError:
                continue


def _unfinished(pipe: Pipeline, job_ids: list[str]) -> set[str]:
    """The ids among `job_ids` not finished yet, read under WATCH; one gone since `validate` is refused."""
    if not job_ids:
        return set()
    keys = [TaskJob.key_for(job_id) for job_id in job_ids]
    pipe.watch(*keys)
    statuses = [pipe.hget(key, "status") for key in keys]
    if None in statuses:
        raise InvalidJobError("depends_on names a job that does not exist")
    return {job_id for job_id, status in zip(job_ids, statuses, strict=True) if status != b"finished"}


def validate(connection: Redis, spec: JobSpec) -> Task:
    """Refuse what can never run or could not be read back: unknown task, odd values, bad timing or dependencies."""
    task = registry.get(spec.task)
    try:
        _check_values(spec)
    except ValueError as error:
        raise InvalidJobError(str(error)) from None
    if spec.delay is not None and spec.at is not None:
        raise InvalidJobError("give either delay or at, not both")
    if spec.depends_on and (spec.delay is not None or spec.at is not None):
        raise InvalidJobError("depends_on cannot be combined with delay or at")
    if spec.depends_on:
        keys = [TaskJob.key_for(job_id) for job_id in spec.depends_on]
        if connection.exists(*keys) != len(keys):
            raise InvalidJobError("depends_on names a job that does not exist")
    return task


def _check_values(spec: JobSpec) -> None:
    """ValueError naming the field for a value no reader could take back (see workers.core.json_values)."""
    check_json_value(spec.args, "args")
    check_json_value(spec.kwargs, "kwargs")
    check_json_value(spec.meta, "meta")
    if spec.queue is not None:
        check_queue_name(spec.queue)
    if spec.delay is not None and not math.isfinite(spec.delay):
        raise ValueError("delay must be a finite number of seconds")
    if spec.at is not None:
        check_representable(spec.at, "at")


def plan(settings: Settings, spec: JobSpec, task: Task, waits: bool) -> JobWrite:
    """The write for one validated job; `waits`: one of its dependencies has not finished yet."""
    options = _options(settings, spec, task)
    due = _due_time(spec)
    if due is not None:
        return writer.scheduled(options, due)
    if waits:
        return writer.deferred(options, spec.depends_on)
    return writer.enqueued(options)  # every dependency has finished (read under WATCH): nothing to wait for


def _options(settings: Settings, spec: JobSpec, task: Task) -> JobOptions:
    """Every option of the job, the spec's first, then the task's, then the service's."""
    retry = spec.retry or task.retry or RetryPolicy(max=settings.job_retry)
    meta = {**spec.meta, "task": task.name, "retry_max": retry.max}
    if spec.submitted_by is not None:
        meta["submitted_by"] = spec.submitted_by
    try:
        queue = check_queue_name(spec.queue or task.queue or settings.default_queue)
    except ValueError as error:
        raise InvalidJobError(str(error)) from None
    return JobOptions(
        job_id=spec.job_id or str(uuid.uuid4()),
        queue=queue,
        task=task.name,
        args=spec.args,
        kwargs=spec.kwargs,
        description=_description(task.name, spec),
        meta=meta,
        timeout=parse_timeout(spec.timeout or task.timeout or settings.job_timeout),  # as rq reads it: "1h" too
        result_ttl=parse_timeout(spec.result_ttl if spec.result_ttl is not None else settings.result_ttl),
        failure_ttl=parse_timeout(settings.failure_ttl),
        retry_max=retry.max,
        retry_intervals=Retry(max=retry.max, interval=list(retry.backoff)).intervals if retry.max else [],
        at_front=spec.at_front,
    )


def enqueue_in_transaction(pipeline: Pipeline, settings: Settings, spec: JobSpec) -> JobWrite:
    """Add an immediate job to a MULTI the caller executes (the scheduler's atomic fire step)."""
    written = plan(settings, spec, registry.get(spec.task), waits=False)
    writer.queue_on(pipeline, [written])
    return written


def _due_time(spec: JobSpec) -> datetime | None:
    if spec.delay is not None and spec.delay > 0:
        return datetime.now(UTC) + timedelta(seconds=spec.delay)
    if spec.at is not None and spec.at > datetime.now(UTC):
        return spec.at
    return None


def _description(name: str, spec: JobSpec) -> str:
    parts = [json.dumps(a) for a in spec.args] + [f"{k}={json.dumps(v)}" for k, v in spec.kwargs.items()]
    text = f"{name}({', '.join(parts)})"
    return text if len(text) <= 200 else text[:197] + "..."


def fetch(connection: Redis, job_id: str) -> TaskJob:
    """A job by id, or `JobNotFoundError`."""
    try:
        return TaskJob.fetch(job_id, connection=connection, serializer=SERIALIZER)
    except (NoSuchJobError, ValueError):
        raise JobNotFoundError(f"no job {job_id!r}") from None


def cancel(connection: Redis, job_id: str) -> TaskJob:
    """Cancel a pending job, or ask the worker running it to stop it."""
    job = fetch(connection, job_id)
    status = job.get_status()
    if status in ENDED or status is None:
        raise JobStateError(f"job {job_id} has already ended ({_status_name(status)})")
    if status == JobStatus.STARTED:
        send_stop_job_command(connection, job.id, serializer=SERIALIZER)
        return job
    job.cancel()
    return job


def requeue(connection: Redis, job_id: str) -> TaskJob:
    """Queue a failed, stopped or canceled job again under the same id."""
    job = fetch(connection, job_id)
    status = job.get_status()
    if status not in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
        raise JobStateError(
            f"only failed, stopped or canceled jobs can be requeued; job {job_id} is {_status_name(status)}"
        )
    queue = get_queue(job.origin, connection)
    for job_registry in (queue.failed_job_registry, queue.canceled_job_registry):
        try:
            return job_registry.requeue(job)  # type: ignore[no-any-return]
        except InvalidJobOperation:
            continue
    raise JobStateError(f"job {job_id} is not in a registry it can be requeued from")


def _status_name(status: JobStatus | None) -> str:
    return status.value if status is not None else "expired"

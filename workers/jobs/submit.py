"""Submit and manage jobs: every RQ enqueue, cancel and requeue goes through here."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from redis import Redis
from redis.client import Pipeline
from rq import Retry
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import JobStatus

from workers.core.errors import InvalidJobError, JobNotFoundError, JobStateError, TaskNotFoundError
from workers.core.keys import idempotency_key
from workers.core.settings import Settings
from workers.rq_seam.job import SERIALIZER, TaskJob
from workers.rq_seam.queue import get_queue
from workers.runner import RUNNER_PATH
from workers.tasks.registry import RetryPolicy, Task, registry

IDEMPOTENCY_TTL = 24 * 3600
IN_FLIGHT_SECONDS = 10  # a key younger than this whose job is not stored yet: its request may still be running
ENDED = {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.STOPPED}


@dataclass
class JobSpec:
    """What a caller asks to run; options left None take the task's, then the service's defaults."""

    task: str
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    queue: str | None = None
    delay: float | None = None
    at: datetime | None = None
    timeout: int | None = None
    retry: RetryPolicy | None = None
    result_ttl: int | None = None
    depends_on: list[str] = field(default_factory=list)
    at_front: bool = False
    job_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Submission:
    """A job and whether this call created it (False: an idempotent replay)."""

    job: TaskJob
    created: bool


def submit(connection: Redis, settings: Settings, spec: JobSpec, idempotency: str | None = None) -> Submission:
    """Validate and enqueue one job; with an idempotency key, a replay returns the first job."""
    task = validate(connection, spec)
    if idempotency is None:
        return Submission(_enqueue_all(connection, settings, [(spec, task)])[0], created=True)
    key = idempotency_key(hashlib.sha256(idempotency.encode()).hexdigest())
    job_id = spec.job_id or str(uuid.uuid4())
    if not connection.set(key, job_id, nx=True, ex=IDEMPOTENCY_TTL):
        replay = _replay(connection, key)
        if replay is not None:
            return replay
        connection.set(key, job_id, ex=IDEMPOTENCY_TTL)  # the first try never got its job stored
    spec.job_id = job_id
    # If this enqueue fails (Redis gone mid-request) the key stays: a retry with it finds the
    # job if it was created after all, and otherwise takes the key over (above).
    return Submission(_enqueue_all(connection, settings, [(spec, task)])[0], created=True)


def _replay(connection: Redis, key: str) -> Submission | None:
    """The job a key already names; None when the request that took the key never stored its job."""
    existing = connection.get(key)
    if existing is None:
        return None
    try:
        return Submission(fetch(connection, existing.decode()), created=False)
    except JobNotFoundError:
        if connection.ttl(key) > IDEMPOTENCY_TTL - IN_FLIGHT_SECONDS:
            raise JobStateError("a request with this Idempotency-Key is still in progress; retry shortly") from None
        return None


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
    """Enqueue in one MULTI (one round trip, all or nothing) unless a job has dependencies.

    RQ checks dependencies under WATCH in a transaction of its own, so those go one by one.
    """
    if any(spec.depends_on for spec, _ in items):
        return [_enqueue(connection, settings, spec, task) for spec, task in items]
    with connection.pipeline() as pipe:
        pipe.multi()
        jobs = [_enqueue(connection, settings, spec, task, pipeline=pipe) for spec, task in items]
        pipe.execute()
    return jobs


def validate(connection: Redis, spec: JobSpec) -> Task:
    """Refuse what can never run: unknown task, non-JSON args, bad timing or dependencies."""
    task = registry.get(spec.task)
    try:
        json.dumps([spec.args, spec.kwargs, spec.meta], allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidJobError(f"args and kwargs must be JSON values: {error}") from None
    if spec.delay is not None and spec.at is not None:
        raise InvalidJobError("give either delay or at, not both")
    if spec.depends_on and (spec.delay is not None or spec.at is not None):
        raise InvalidJobError("depends_on cannot be combined with delay or at")
    if spec.depends_on:
        keys = [TaskJob.key_for(job_id) for job_id in spec.depends_on]
        if connection.exists(*keys) != len(set(keys)):
            raise InvalidJobError("depends_on names a job that does not exist")
    return task


def _enqueue(
    connection: Redis, settings: Settings, spec: JobSpec, task: Task, pipeline: Pipeline | None = None
) -> TaskJob:
    queue = get_queue(spec.queue or task.queue or settings.default_queue, connection)
    retry = spec.retry or task.retry or RetryPolicy(max=settings.job_retry)
    options: dict[str, Any] = {
        "args": [task.name, spec.args, spec.kwargs],
        "timeout": spec.timeout or task.timeout or settings.job_timeout,
        "result_ttl": spec.result_ttl if spec.result_ttl is not None else settings.result_ttl,
        "failure_ttl": settings.failure_ttl,
        "description": _description(task.name, spec),
        "job_id": spec.job_id,
        "meta": {**spec.meta, "task": task.name, "retry_max": retry.max},
        "retry": Retry(max=retry.max, interval=list(retry.backoff)) if retry.max else None,
    }
    due = _due_time(spec)
    if due is not None:
        job = queue.enqueue_at(due, RUNNER_PATH, at_front=spec.at_front, pipeline=pipeline, **options)
    else:
        job = queue.enqueue_call(
            RUNNER_PATH, depends_on=spec.depends_on or None, at_front=spec.at_front, pipeline=pipeline, **options
        )
    return job  # type: ignore[no-any-return]


def enqueue_in_transaction(connection: Redis, pipeline: Pipeline, settings: Settings, spec: JobSpec) -> TaskJob:
    """Add an immediate job to a MULTI the caller executes (the scheduler's atomic fire step)."""
    return _enqueue(connection, settings, spec, registry.get(spec.task), pipeline=pipeline)


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

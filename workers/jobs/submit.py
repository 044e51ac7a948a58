"""Submit and manage jobs: every RQ enqueue, cancel and requeue goes through here."""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import WatchError
from rq import Queue, Retry
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import JobStatus

from workers.core.datetimes import check_representable
from workers.core.errors import InvalidJobError, JobNotFoundError, JobStateError, TaskNotFoundError
from workers.core.json_values import check_json_value
from workers.core.keys import check_queue_name, idempotency_key
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

    def __post_init__(self) -> None:
        self.depends_on = list(dict.fromkeys(self.depends_on))  # a repeated id is one dependency


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
    """Enqueue every job in one MULTI/EXEC: all of them or none, whatever their options.

    Dependencies are read under WATCH, as rq does: if one changes before EXEC (it
    finished, or was deleted) the whole batch is tried again on what is then true.
    """
    dependency_ids = list(dict.fromkeys(job_id for spec, _ in items for job_id in spec.depends_on))
    with connection.pipeline() as pipe:
        while True:
            try:
                unfinished = _unfinished(pipe, dependency_ids)
                pipe.multi()
                jobs = [
                    _enqueue(
                        connection, settings, spec, task, pipe, waits=bool(unfinished.intersection(spec.depends_on))
                    )
                    for spec, task in items
                ]
                pipe.execute()
                return jobs
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


def _enqueue(
    connection: Redis, settings: Settings, spec: JobSpec, task: Task, pipeline: Pipeline, waits: bool = False
) -> TaskJob:
    """Add one job to `pipeline` (in MULTI); `waits`: a dependency has not finished yet."""
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
        return queue.enqueue_at(due, RUNNER_PATH, at_front=spec.at_front, pipeline=pipeline, **options)  # type: ignore[no-any-return]
    if waits:
        return _defer(queue, queue.create_job(RUNNER_PATH, depends_on=spec.depends_on, **options), spec, pipeline)
    # Every dependency has finished (read under WATCH): nothing to wait for.
    return queue.enqueue_call(RUNNER_PATH, at_front=spec.at_front, pipeline=pipeline, **options)  # type: ignore[no-any-return]


def _defer(queue: Queue, job: TaskJob, spec: JobSpec, pipeline: Pipeline) -> TaskJob:
    """What rq's `setup_dependencies` writes for a job that must wait, but in our MULTI.

    rq's own version WATCHes inside the call, which a MULTI already begun cannot do.
    """
    job.enqueue_at_front = spec.at_front
    job.set_status(JobStatus.DEFERRED, pipeline=pipeline)
    job.register_dependency(pipeline=pipeline)
    job.save(pipeline=pipeline)
    job.cleanup(ttl=job.ttl, pipeline=pipeline)
    pipeline.sadd(queue.redis_queues_keys, queue.key)
    return job


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

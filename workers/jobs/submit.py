"""Submit and manage jobs: every RQ enqueue, cancel and requeue goes through here."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import WatchError
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import JobStatus

from workers.callbacks.ending import queue_for
from workers.callbacks.hosts import check_url
from workers.core.datetimes import check_representable
from workers.core.errors import InvalidJobError, JobNotFoundError, JobStateError, TaskNotFoundError
from workers.core.json_values import check_json_value
from workers.core.keys import check_queue_name
from workers.core.settings import Settings
from workers.jobs import writer
from workers.jobs.planning import IDEMPOTENCY_TTL, dependency_ids, guard_for, plan, plan_all, unfinished_of
from workers.jobs.spec import JobSpec
from workers.jobs.writer import Guard, JobWrite
from workers.observability.events import add_job_end
from workers.rq_seam.job import SERIALIZER, TaskJob
from workers.rq_seam.queue import get_queue
from workers.tasks.arguments import check_arguments
from workers.tasks.registry import Task, registry

__all__ = [
    "IDEMPOTENCY_TTL",
    "JobSpec",
    "Submission",
    "TaskJob",
    "cancel",
    "cancel_fetched",
    "check_callbacks",
    "fetch",
    "requeue",
    "requeue_fetched",
    "submit",
    "submit_many",
    "validate",
]

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
    check_callbacks(settings, [spec])
    if idempotency is None:
        return Submission(_enqueue_all(connection, settings, [(spec, task)])[0], created=True)
    written, existing = _write_all(connection, settings, [(spec, task)], guard_for(spec, idempotency))
    if existing is not None:
        return Submission(fetch(connection, existing), created=False)
    return Submission(written[0].job(connection), created=True)


def submit_many(connection: Redis, settings: Settings, specs: list[JobSpec]) -> list[TaskJob]:
    """Validate every spec before enqueuing any, so one bad item creates nothing."""
    items = checked_all(specs, lambda spec: validate(connection, spec))
    check_callbacks(settings, specs, batch=True)
    return _enqueue_all(connection, settings, items)


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
    depended_on = dependency_ids(items)
    if not depended_on:
        written = plan_all(settings, items, set())
        return written, writer.send(connection, written, guard)
    keys = [TaskJob.key_for(job_id) for job_id in depended_on]
    with connection.pipeline() as pipe:
        while True:
            try:
                pipe.watch(*keys)
                statuses = [pipe.hget(key, "status") for key in keys]
                written = plan_all(settings, items, unfinished_of(depended_on, statuses))
                pipe.multi()
                writer.queue_on(pipe, written, guard)
                return written, writer.existing(pipe.execute()[0])
            except WatchError:
                continue


def validate(connection: Redis, spec: JobSpec) -> Task:
    """Refuse what can never run or could not be read back: unknown task, odd values, bad timing or dependencies."""
    task = checked(spec)
    if spec.depends_on:
        keys = [TaskJob.key_for(job_id) for job_id in spec.depends_on]
        if connection.exists(*keys) != len(keys):
            raise InvalidJobError("depends_on names a job that does not exist")
    return task


def checked(spec: JobSpec) -> Task:
    """`validate` without Redis: dependencies are then checked under the write's WATCH."""
    task = registry.get(spec.task)
    try:
        _check_values(spec)
    except ValueError as error:
        raise InvalidJobError(str(error)) from None
    if spec.delay is not None and spec.at is not None:
        raise InvalidJobError("give either delay or at, not both")
    if spec.depends_on and (spec.delay is not None or spec.at is not None):
        raise InvalidJobError("depends_on cannot be combined with delay or at")
    check_arguments(task, spec.args, spec.kwargs)
    return task


def checked_all(specs: list[JobSpec], check: Callable[[JobSpec], Task] = checked) -> list[tuple[JobSpec, Task]]:
    """Every spec checked before any is written, so one bad item creates nothing; the error names its index."""
    tasks = []
    for index, spec in enumerate(specs):
        try:
            tasks.append(check(spec))
        except (InvalidJobError, TaskNotFoundError) as error:
            raise type(error)(f"jobs[{index}]: {error}") from None
    return list(zip(specs, tasks, strict=True))


def check_callbacks(settings: Settings, specs: list[JobSpec], batch: bool = False) -> None:
    """Refuse a callback_url whose host CALLBACK_HOSTS does not list (all of them, when it is empty)."""
    urls = [(index, spec.callback_url) for index, spec in enumerate(specs) if spec.callback_url is not None]
    allowed = settings.allowed_callback_hosts if urls else frozenset()  # parsed only when a URL needs it
    for index, url in urls:
        try:
            check_url(url, allowed)
        except InvalidJobError as error:
            raise InvalidJobError(f"jobs[{index}]: {error}" if batch else str(error)) from None


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


def enqueue_in_transaction(pipeline: Pipeline, settings: Settings, spec: JobSpec) -> JobWrite:
    """Add an immediate job to a MULTI the caller executes (the scheduler's atomic fire step)."""
    written = plan(settings, spec, registry.get(spec.task), waits=False)
    writer.queue_on(pipeline, [written])
    return written


def fetch(connection: Redis, job_id: str) -> TaskJob:
    """A job by id, or `JobNotFoundError`."""
    try:
        return TaskJob.fetch(job_id, connection=connection, serializer=SERIALIZER)
    except (NoSuchJobError, ValueError):
        raise JobNotFoundError(f"no job {job_id!r}") from None


def cancel(connection: Redis, job_id: str) -> TaskJob:
    """Cancel a pending job, or ask the worker running it to stop it."""
    job = fetch(connection, job_id)
    cancel_fetched(connection, job)
    return job


def cancel_fetched(connection: Redis, job: TaskJob, pipeline: Pipeline | None = None) -> None:
    """Cancel `job` (already read), or ask its worker to stop it: every cancel, one or in bulk, goes here.

    With `pipeline`, the cancel's writes join it and the caller executes it (a bulk cancel
    does a chunk of jobs per round trip); its status is then the one read with the chunk.
    A stop request is sent at once: a worker acts on it, not on a write.
    """
    status = job.get_status(refresh=pipeline is None)
    if status in ENDED or status is None:
        raise JobStateError(f"job {job.id} has already ended ({_status_name(status)})")
    if status == JobStatus.STARTED:
        send_stop_job_command(connection, job.id, serializer=SERIALIZER)
        return
    if job.has_rate_limit:  # rq frees a rate-limit slot only on its own pipeline: ours goes first
        with connection.pipeline() as own:  # (the callback's deliverer waits for the final status)
            _canceled(own, job)
            own.execute()
        job.cancel()
        return
    writes = pipeline if pipeline is not None else connection.pipeline()
    job.cancel(pipeline=writes)
    _canceled(writes, job)
    if pipeline is None:
        with writes:
            writes.execute()


def _canceled(pipeline: Pipeline, job: TaskJob) -> None:
    """What else a cancel records, on the cancel's own pipeline: every cancel, one or in bulk, passes here."""
    add_job_end(pipeline, job.id, job.task_name or "", job.origin, "canceled")  # for `GET /jobs/events`
    queue_for(pipeline, job, JobStatus.CANCELED.value)  # its completion webhook, if it has one


def requeue(connection: Redis, job_id: str) -> TaskJob:
    """Queue a failed, stopped or canceled job again under the same id."""
    return requeue_fetched(connection, fetch(connection, job_id))


def requeue_fetched(connection: Redis, job: TaskJob, refresh: bool = True) -> TaskJob:
    """Queue `job` (already read) again: every requeue, one or in bulk, goes here.

    `refresh=False` trusts the status read with the job (a bulk requeue's chunk); the
    registry's own check (its ZREM) still refuses a job that moved meanwhile.
    """
    status = job.get_status(refresh=refresh)
    if status not in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
        raise JobStateError(
            f"only failed, stopped or canceled jobs can be requeued; job {job.id} is {_status_name(status)}"
        )
    queue = get_queue(job.origin, connection)
    registries = [queue.failed_job_registry, queue.canceled_job_registry]
    if status == JobStatus.CANCELED:
        registries.reverse()  # its likely home first: each try is a round trip
    for job_registry in registries:
        try:
            return job_registry.requeue(job)  # type: ignore[no-any-return]
        except InvalidJobOperation:
            continue
    raise JobStateError(f"job {job.id} is not in a registry it can be requeued from")


def _status_name(status: JobStatus | None) -> str:
    return status.value if status is not None else "expired"

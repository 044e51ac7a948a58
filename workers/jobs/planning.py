"""From a checked request to the job writer's plan: every default applied, timing and dependencies decided."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from rq import Retry
from rq.utils import parse_timeout

from workers.callbacks.state import CALLBACK_URL
from workers.core.errors import InvalidJobError
from workers.core.keys import check_queue_name, idempotency_key
from workers.core.settings import Settings
from workers.jobs import writer
from workers.jobs.spec import JobSpec
from workers.jobs.writer import Guard, JobOptions, JobWrite
from workers.tasks.registry import RetryPolicy, Task

IDEMPOTENCY_TTL = 24 * 3600


def guard_for(spec: JobSpec, idempotency: str) -> Guard:
    """The idempotency key of a request, naming the job id it will write (fixed on `spec` here)."""
    spec.job_id = spec.job_id or str(uuid.uuid4())
    return Guard(idempotency_key(hashlib.sha256(idempotency.encode()).hexdigest()), spec.job_id, IDEMPOTENCY_TTL)


def dependency_ids(items: list[tuple[JobSpec, Task]]) -> list[str]:
    return list(dict.fromkeys(job_id for spec, _ in items for job_id in spec.depends_on))


def unfinished_of(job_ids: list[str], statuses: Sequence[bytes | None]) -> set[str]:
    """The ids among `job_ids` not finished yet, by their statuses read under WATCH; a gone one is refused."""
    for job_id, status in zip(job_ids, statuses, strict=True):
        if status is None:
            raise InvalidJobError(f"depends_on names a job that does not exist: {job_id}")
    return {job_id for job_id, status in zip(job_ids, statuses, strict=True) if status != b"finished"}


def plan_all(settings: Settings, items: list[tuple[JobSpec, Task]], unfinished: set[str]) -> list[JobWrite]:
    return [plan(settings, spec, task, bool(unfinished.intersection(spec.depends_on))) for spec, task in items]


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
    if spec.callback_url is not None:
        meta[CALLBACK_URL] = spec.callback_url
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

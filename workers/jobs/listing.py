"""Read-only views across queues: job listings, queue counts and workers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from redis import Redis
from rq import Queue, Worker
from rq.utils import utcparse
from rq.worker import WorkerStatus

from workers.jobs.search import JobFilter
from workers.rq_seam.job import SERIALIZER, TaskJob
from workers.rq_seam.queue import get_queue, known_queues

WORKER_STATES = tuple(state.value for state in WorkerStatus)  # what /metrics counts workers by
STATUS_ORDER = ("queued", "started", "scheduled", "deferred", "failed", "finished", "canceled")
SCAN_CHUNK = 500  # jobs read per round trip while a filter scans
EVERY_JOB = JobFilter()


@dataclass
class Source:
    """One place job ids live: a queue list or a registry."""

    count: Callable[[], int]
    ids: Callable[[int, int], list[str]]  # (start, stop) -> ids


@dataclass
class JobPage:
    jobs: list[TaskJob]
    total: int


def _sources(queue: Queue, status: str) -> Source:
    if status == "queued":
        return Source(lambda: queue.count, lambda start, stop: queue.get_job_ids(start, stop - start))
    registry = {
        "started": queue.started_job_registry,
        "scheduled": queue.scheduled_job_registry,
        "deferred": queue.deferred_job_registry,
        "failed": queue.failed_job_registry,
        "finished": queue.finished_job_registry,
        "canceled": queue.canceled_job_registry,
    }[status]
    return Source(registry.get_job_count, lambda start, stop: registry.get_job_ids(start, stop - 1))


def list_jobs(
    connection: Redis,
    configured: list[str],
    queue: str | None,
    status: str | None,
    page: tuple[int, int],
    narrowed: JobFilter = EVERY_JOB,
) -> JobPage:
    """A page (`limit`, `offset`) of jobs, by queue then status; `stopped` jobs live among the failed ones."""
    limit, offset = page
    queues = [get_queue(queue, connection)] if queue else known_queues(connection, configured)
    registry_status = "failed" if status == "stopped" else status
    statuses = (registry_status,) if registry_status else STATUS_ORDER
    sources = [_sources(q, s) for q in queues for s in statuses]
    if status in ("failed", "stopped") or not narrowed.is_empty():
        matching = _scan(connection, sources, status, narrowed)
        return JobPage(matching[offset : offset + limit], len(matching))
    counts = [source.count() for source in sources]
    ids = []
    start = offset
    for source, count in zip(sources, counts, strict=True):
        if start < count and len(ids) < limit:
            ids += source.ids(start, min(count, start + limit - len(ids)))
        start = max(0, start - count)
    return JobPage(_fetch(connection, ids), sum(counts))


def _scan(connection: Redis, sources: list[Source], status: str | None, narrowed: JobFilter) -> list[TaskJob]:
    """Every job of `sources` that matches: the count of a filtered set needs all of it."""
    wanted = {status} if status else None
    return [job for chunk in _matching_chunks(connection, sources, wanted, narrowed) for job in chunk]


def _matching_chunks(
    connection: Redis, sources: list[Source], wanted: set[str] | None, narrowed: JobFilter
) -> Iterator[list[TaskJob]]:
    """The matching jobs of `sources`, a chunk of reads at a time (one round trip each).

    The ids are taken first, so acting on a chunk (a cancel takes a job off its queue) does
    not shift the ones still to read.
    """
    ids = [job_id for source in sources for job_id in source.ids(0, source.count() + 1)]
    for start in range(0, len(ids), SCAN_CHUNK):
        jobs = _fetch(connection, ids[start : start + SCAN_CHUNK])
        yield [
            job
            for job in jobs
            if (wanted is None or job.get_status(refresh=False).value in wanted) and narrowed.matches(job)
        ]


def find_jobs(
    connection: Redis,
    configured: list[str],
    queue: str | None,
    statuses: tuple[str, ...],
    narrowed: JobFilter = EVERY_JOB,
) -> Iterator[list[TaskJob]]:
    """Every job in `statuses` that matches, by queue then status, in chunks: what a bulk action acts on.

    The same search as `list_jobs`, read lazily, so a caller that stops early reads no further.
    """
    queues = [get_queue(queue, connection)] if queue else known_queues(connection, configured)
    registries = dict.fromkeys("failed" if status == "stopped" else status for status in statuses)
    for registry_status in registries:  # `stopped` jobs live among the failed ones: one read serves both
        sources = [_sources(q, registry_status) for q in queues]
        yield from _matching_chunks(connection, sources, set(statuses), narrowed)


def _fetch(connection: Redis, ids: list[str]) -> list[TaskJob]:
    jobs = TaskJob.fetch_many(ids, connection=connection, serializer=SERIALIZER)
    return [job for job in jobs if job is not None]


@dataclass
class QueueStats:
    name: str
    queued: int
    started: int
    scheduled: int
    deferred: int
    finished: int
    failed: int
    canceled: int
    workers: int


def queue_stats(connection: Redis, configured: list[str]) -> list[QueueStats]:
    """Counts per queue and status, and how many workers listen on each."""
    workers = all_workers(connection)
    stats = []
    for queue in known_queues(connection, configured):
        counts = {s: _sources(queue, s).count() for s in STATUS_ORDER}
        listening = sum(1 for w in workers if queue.name in w.queue_names())
        stats.append(QueueStats(name=queue.name, workers=listening, **counts))
    return stats


def head_job_ages(connection: Redis, queue_names: list[str], now: datetime) -> dict[str, float]:
    """Seconds the job at the head of each queue has waited (0 when empty), in two round trips.

    The head is the oldest queued job unless one was put `at_front`; being exact would mean
    reading every job on the queue.
    """
    with connection.pipeline(transaction=False) as pipeline:
        for name in queue_names:
            pipeline.lindex(get_queue(name, connection).key, 0)
        heads = dict(zip(queue_names, pipeline.execute(), strict=True))
    waiting = {name: head.decode() for name, head in heads.items() if head is not None}
    with connection.pipeline(transaction=False) as pipeline:
        for job_id in waiting.values():
            pipeline.hget(TaskJob.key_for(job_id), "enqueued_at")
        stamps = dict(zip(waiting, pipeline.execute() if waiting else [], strict=True))
    return {name: _age(stamps.get(name), now) for name in queue_names}


def _age(stamp: bytes | None, now: datetime) -> float:
    return max(0.0, (now - utcparse(stamp.decode())).total_seconds()) if stamp else 0.0


def all_workers(connection: Redis) -> list[Worker]:
    return Worker.all(connection=connection, job_class=TaskJob)  # type: ignore[no-any-return]


@dataclass
class WorkerInfo:
    name: str
    state: str
    queues: list[str]
    current_job: str | None  # the first of current_jobs, kept for clients of one job per worker
    current_jobs: list[str]  # every job the worker is running, oldest first
    successful_jobs: int
    failed_jobs: int
    birth: datetime | None
    last_heartbeat: datetime | None


def worker_infos(connection: Redis) -> list[WorkerInfo]:
    return [_worker_info(worker) for worker in all_workers(connection)]


def _worker_info(worker: Worker) -> WorkerInfo:
    executions = sorted(worker.get_current_executions(), key=lambda execution: execution.created_at)
    current_jobs = [execution.job_id for execution in executions]
    return WorkerInfo(
        name=worker.name,
        state=str(getattr(worker.get_state(), "value", worker.get_state())),
        queues=worker.queue_names(),
        current_job=current_jobs[0] if current_jobs else None,
        current_jobs=current_jobs,
        successful_jobs=worker.successful_job_count,
        failed_jobs=worker.failed_job_count,
        birth=worker.birth_date,
        last_heartbeat=worker.last_heartbeat,
    )

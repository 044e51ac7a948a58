"""Bulk cancel and requeue: the jobs a search finds, each through the one-job function.

The search is `listing.find_jobs` (the one `GET /jobs` filters with), read a chunk of
jobs per round trip; each job is then canceled by `submit.cancel_fetched` or requeued by
`submit.requeue_fetched`, the functions `DELETE /jobs/{id}` and `POST /jobs/{id}/requeue`
use, so whatever hangs on those applies to a bulk action too. A chunk's cancels share one
MULTI/EXEC. A job that changed state between the search and its turn is skipped, not counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis
from rq.exceptions import InvalidJobOperation

from workers.core.errors import JobStateError
from workers.jobs.listing import find_jobs
from workers.jobs.search import JobFilter
from workers.jobs.submit import cancel_fetched, requeue_fetched
from workers.rq_seam.job import TaskJob

CANCELABLE = ("queued", "scheduled", "deferred", "started")
REQUEUEABLE = ("failed", "stopped", "canceled")
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class Where:
    """Which jobs: a queue (None: every queue), the statuses, and the search filter."""

    queue: str | None
    statuses: tuple[str, ...]
    narrowed: JobFilter


@dataclass(frozen=True)
class BulkResult:
    count: int  # jobs acted on
    more: bool  # more jobs matched than `limit`; run it again for the next ones


def bulk_cancel(connection: Redis, configured: list[str], where: Where, limit: int) -> BulkResult:
    """Cancel (or stop, if started) up to `limit` matching jobs; a chunk's cancels in one round trip."""

    def chunk(jobs: list[TaskJob]) -> int:
        done = 0
        with connection.pipeline() as pipeline:
            for job in jobs:
                try:
                    cancel_fetched(connection, job, pipeline)
                except (JobStateError, InvalidJobOperation):
                    continue
                done += 1
            pipeline.execute()
        return done

    return _each_chunk(connection, configured, where, limit, chunk)


def bulk_requeue(connection: Redis, configured: list[str], where: Where, limit: int) -> BulkResult:
    """Queue up to `limit` matching failed, stopped or canceled jobs again, under their ids."""

    def chunk(jobs: list[TaskJob]) -> int:
        done = 0
        for job in jobs:
            try:
                requeue_fetched(connection, job, refresh=False)
            except JobStateError:
                continue
            done += 1
        return done

    return _each_chunk(connection, configured, where, limit, chunk)


def _each_chunk(
    connection: Redis, configured: list[str], where: Where, limit: int, act: Callable[[list[TaskJob]], int]
) -> BulkResult:
    count = 0
    for jobs in find_jobs(connection, configured, where.queue, where.statuses, where.narrowed):
        if not jobs:
            continue
        room = limit - count
        if room <= 0:
            return BulkResult(count, more=True)
        count += act(jobs[:room])
        if len(jobs) > room:
            return BulkResult(count, more=True)
    return BulkResult(count, more=False)

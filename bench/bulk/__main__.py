"""`python -m bench.bulk [--jobs N]`: seconds to cancel, then requeue, N jobs of one task.

Each figure is measured twice on a private Redis, side by side: the bulk action
(`workers.jobs.bulk`, what `POST /jobs/cancel` and `/jobs/requeue` run) and the baseline,
the same jobs one at a time through `submit.cancel` / `submit.requeue` (what N calls of
`DELETE /jobs/{id}` or `POST /jobs/{id}/requeue` run, without HTTP). HTTP is left out of
both, so the ratio is the chunked search and pipelines against one job per call.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median
from typing import Any

from redis import ConnectionPool, Redis
from redis.connection import Connection

from bench.harness.redis import RedisServer
from workers.core.settings import Settings
from workers.jobs import submit
from workers.jobs.bulk import MAX_LIMIT, Where, bulk_cancel, bulk_requeue
from workers.jobs.search import JobFilter
from workers.jobs.spec import JobSpec
from workers.tasks.registry import load_task_modules

TASK = "examples.noop"
BATCH = 1000


class CountingConnection(Connection):
    """Counts its sends: one per command or per pipeline, so one per round trip (load does not move it)."""

    sends = 0

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        type(self).sends += 1
        super().send_packed_command(command, check_health)


def fill(connection: Redis, settings: Settings, jobs: int) -> list[str]:
    """`jobs` queued jobs of TASK, written a batch at a time."""
    ids: list[str] = []
    for start in range(0, jobs, BATCH):
        specs = [JobSpec(task=TASK) for _ in range(min(BATCH, jobs - start))]
        ids += [job.id for job in submit.submit_many(connection, settings, specs)]
    return ids


def timed(action: Callable[[], object]) -> tuple[float, int]:
    """Seconds and round trips `action` took."""
    CountingConnection.sends = 0
    started = time.perf_counter()
    action()
    return time.perf_counter() - started, CountingConnection.sends


def measure(connection: Redis, settings: Settings, jobs: int) -> dict[str, tuple[float, int]]:
    queues = settings.queues
    by_task = JobFilter(task=TASK)
    figures = {}
    connection.flushdb()
    ids = fill(connection, settings, jobs)
    figures["one at a time: cancel"] = timed(lambda: [submit.cancel(connection, job_id) for job_id in ids])
    figures["one at a time: requeue"] = timed(lambda: [submit.requeue(connection, job_id) for job_id in ids])
    connection.flushdb()
    fill(connection, settings, jobs)
    cancel = Where(None, ("queued",), by_task)
    figures["bulk: cancel"] = timed(lambda: bulk_cancel(connection, queues, cancel, MAX_LIMIT))
    requeue = Where(None, ("canceled",), by_task)
    figures["bulk: requeue"] = timed(lambda: bulk_requeue(connection, queues, requeue, MAX_LIMIT))
    assert connection.llen("rq:queue:default") == jobs, "every job was queued again"
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bulk", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=MAX_LIMIT)
    parser.add_argument("--rounds", type=int, default=3, help="each round runs both side by side; medians shown")
    options = parser.parse_args()
    jobs = options.jobs
    load_task_modules([])
    with tempfile.TemporaryDirectory() as folder, RedisServer(Path(folder)) as server:
        settings = Settings(redis_url=server.url)
        connection = Redis(connection_pool=ConnectionPool.from_url(server.url, connection_class=CountingConnection))
        rounds = [measure(connection, settings, jobs) for _ in range(options.rounds)]
        connection.close()
    figures = {name: (median(r[name][0] for r in rounds), rounds[0][name][1]) for name in rounds[0]}
    times = {name: ", ".join(f"{r[name][0]:.2f}" for r in rounds) for name in rounds[0]}
    print(f"{jobs} jobs of {TASK}, on a private Redis, {options.rounds} rounds; load {os.getloadavg()[0]:.1f}")
    for action in ("cancel", "requeue"):
        (bulk, bulk_trips), (single, single_trips) = figures[f"bulk: {action}"], figures[f"one at a time: {action}"]
        print(
            f"{action:8} bulk {bulk:6.2f} s, {bulk_trips / jobs:4.2f} round trips a job   "
            f"one at a time {single:6.2f} s, {single_trips / jobs:4.2f} a job   "
            f"time ratio {single / bulk:4.1f}x (medians; bulk {times[f'bulk: {action}']} s)"
        )


if __name__ == "__main__":
    main()

"""`python -m bench.bulk [--jobs N]`: seconds to cancel, then requeue, N jobs of one task.

Each figure is measured twice on a private Redis, side by side: the bulk action
(`workers.jobs.bulk`, what `POST /jobs/cancel` and `/jobs/requeue` run) and the baseline,
the same jobs one at a time through `submit.cancel` / `submit.requeue` (what N calls of
`DELETE /jobs/{id}` or `POST /jobs/{id}/requeue` run, without HTTP). HTTP is left out of
both, so the ratio is the chunked search and pipelines against one job per call.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from redis import Redis

from bench.harness.redis import RedisServer
from workers.core.settings import Settings
from workers.jobs import submit
from workers.jobs.bulk import MAX_LIMIT, Where, bulk_cancel, bulk_requeue
from workers.jobs.search import JobFilter
from workers.jobs.spec import JobSpec
from workers.tasks.registry import load_task_modules

TASK = "examples.noop"
BATCH = 1000


def fill(connection: Redis, settings: Settings, jobs: int) -> list[str]:
    """`jobs` queued jobs of TASK, written a batch at a time."""
    ids: list[str] = []
    for start in range(0, jobs, BATCH):
        specs = [JobSpec(task=TASK) for _ in range(min(BATCH, jobs - start))]
        ids += [job.id for job in submit.submit_many(connection, settings, specs)]
    return ids


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def measure(connection: Redis, settings: Settings, jobs: int) -> dict[str, float]:
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
    jobs = parser.parse_args().jobs
    load_task_modules([])
    with tempfile.TemporaryDirectory() as folder, RedisServer(Path(folder)) as server:
        settings = Settings(redis_url=server.url)
        connection = Redis.from_url(server.url)
        figures = measure(connection, settings, jobs)
        connection.close()
    print(f"{jobs} jobs of {TASK}, on a private Redis")
    for action in ("cancel", "requeue"):
        bulk, single = figures[f"bulk: {action}"], figures[f"one at a time: {action}"]
        print(f"{action:8} bulk {bulk:6.2f} s   one at a time {single:6.2f} s   ratio {single / bulk:5.1f}x")


if __name__ == "__main__":
    main()

"""`python -m bench.worker.cpu [JOBS] [--rounds N]`: CPU per job of one ServiceWorker draining no-op jobs.

One process, one private Redis: JOBS no-op jobs (one retry each, submitted as the API
does) are queued, then one burst-mode ServiceWorker drains them in this process; the
CPU time of the process (all its threads) over the drain, divided by JOBS, is the
figure, next to jobs/s and Redis commands and round trips per job. No baseline runs
here: to compare two versions, run this on each checkout in turns (the worker table
in the README says how), since the machine's load moves every figure but the
command counts.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.harness.redis import RedisServer
from bench.worker.drain import build_worker
from bench.worker.fill import QUEUE, fill, registry_keys

CONCURRENCY = 8  # the default WORKER_CONCURRENCY


def drain_once(jobs: int, workdir: Path) -> dict[str, float]:
    with RedisServer(workdir) as redis:
        fill(redis, "service", jobs, "noop")
        worker = build_worker("service", QUEUE, redis.url, CONCURRENCY)
        before = redis.client.info("stats")
        with _stderr_to(workdir / "worker.log"):  # its two lines per job, as a worker writes them
            started, cpu = time.perf_counter(), time.process_time()
            worker.work(burst=True, logging_level="INFO")
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            for handler in logging.getLogger().handlers:  # lines still kept (log_buffer.py) go to the file too
                handler.flush()
        after = redis.client.info("stats")
        finished, failed = (redis.client.zcard(key) for key in registry_keys("service", redis.client))
    if finished != jobs or failed:
        raise RuntimeError(f"{finished} of {jobs} jobs finished, {failed} failed")
    return {
        "jobs_per_s": jobs / seconds,
        "cpu_us_per_job": 1e6 * cpu / jobs,
        "commands_per_job": (after["total_commands_processed"] - before["total_commands_processed"]) / jobs,
        "trips_per_job": (after["total_reads_processed"] - before["total_reads_processed"]) / jobs,
    }


@contextmanager
def _stderr_to(path: Path) -> Iterator[None]:
    saved, target = os.dup(2), os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(target, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(target)
        os.close(saved)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker.cpu", description=__doc__.splitlines()[0])
    parser.add_argument("jobs", type=int, nargs="?", default=4000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    runs = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as workdir:
            runs.append(drain_once(args.jobs, Path(workdir)))
    for name in runs[0]:
        values = [run[name] for run in runs]
        print(f"{name}: median {statistics.median(values):.1f} ({', '.join(f'{v:.1f}' for v in values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m bench.worker.drain KIND QUEUE`: one burst-mode worker that empties QUEUE and exits (`--serve`: stays).

KIND is `service` (our ServiceWorker, JSON jobs), `simple` (rq.SimpleWorker)
or `fork` (rq.Worker, a fork per job), so every contender starts the same way.

The worker is built first, then waits for `go` on stdin: the benchmark starts
its clock at `go`, so interpreter start-up and imports are not counted as work.
"""

from __future__ import annotations

import argparse
import os
import select
import sys

from redis import Redis
from rq import Queue, SimpleWorker, Worker
from rq.worker import BaseWorker

from bench.worker.fill import TASK_MODULES
from workers.core.connection import connect
from workers.core.logs import configure_logging
from workers.core.settings import Settings
from workers.rq_seam.queue import get_queue
from workers.rq_seam.worker import ServiceWorker
from workers.tasks.registry import load_task_modules

KINDS = ("service", "simple", "fork")
GO_TIMEOUT_SECONDS = 60.0
LOG_LEVEL = "INFO"


def build_worker(kind: str, queue_name: str, redis_url: str, concurrency: int | None) -> BaseWorker:
    """The worker the service runs, or raw RQ's with its defaults (pickle, rq.job.Job)."""
    if kind == "service":
        settings = Settings(redis_url=redis_url, log_level=LOG_LEVEL, task_modules=[TASK_MODULES])
        configure_logging(settings.log_level, settings.log_format, buffered=True)  # as `workers.worker.main` does
        load_task_modules(settings.task_modules)
        connection = connect(settings)
        return ServiceWorker(
            [get_queue(queue_name, connection)],
            connection=connection,
            concurrency=concurrency or settings.worker_concurrency,
        )
    raw = Redis.from_url(redis_url)
    worker_class = SimpleWorker if kind == "simple" else Worker
    return worker_class([Queue(queue_name, connection=raw)], connection=raw)


def wait_for_go(timeout: float) -> bool:
    """Say `ready` on stdout and wait (bounded) for `go` on stdin."""
    print("ready", flush=True)
    readable, _, _ = select.select([sys.stdin], [], [], timeout)
    return bool(readable) and sys.stdin.readline().strip() == "go"


def send_output_to(path: str) -> None:
    """From here on, stdout and stderr (RQ logs to stdout) go to the log file, not the handshake pipe."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker.drain", description="Empty QUEUE with one worker.")
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("queue")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--log", required=True, help="file for the worker's output after the handshake")
    parser.add_argument("--concurrency", type=int, help="ours: jobs at once (default WORKER_CONCURRENCY)")
    parser.add_argument("--serve", action="store_true", help="keep serving (not burst mode) until SIGTERM")
    args = parser.parse_args()
    worker = build_worker(args.kind, args.queue, args.redis_url, args.concurrency)
    if not wait_for_go(GO_TIMEOUT_SECONDS):
        return 2
    send_output_to(args.log)
    worker.work(burst=not args.serve, logging_level=LOG_LEVEL)
    return 0


if __name__ == "__main__":
    sys.exit(main())

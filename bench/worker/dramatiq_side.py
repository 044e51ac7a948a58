"""dramatiq's default worker on the benchmark's Redis: filled in a staging namespace, then made live at once.

dramatiq has no pause: its messages are enqueued under STAGING, the workers start on
the live namespace and say they are up (a heartbeat each), and one MULTI renames the
queue's two keys into the live namespace, which starts the clock with the queue full.
"""

from __future__ import annotations

import os

from redis import Redis

from bench.harness.proc_info import descendants, rss_mb
from bench.harness.processes import Process, Processes, child_env
from bench.worker.dramatiq_app import QUEUE

LIVE = "dramatiq"
STAGING = "dramatiq-staging"
PROCESSES, THREADS = 2, 8  # dramatiq's defaults on this 2-core machine
IDLE_POLL_MS = "100"  # dramatiq's idle backoff grows to 1 s by default; shorter, so it wakes when the queue goes live


def fill(url: str, jobs: int, task: str) -> None:
    os.environ["BENCH_REDIS_URL"] = url
    from dramatiq.brokers.redis import RedisBroker

    from bench.worker import dramatiq_app

    actor = {"noop": dramatiq_app.noop, "sleep": dramatiq_app.sleep_50ms}[task]
    staging = RedisBroker(url=url, namespace=STAGING)
    staging.declare_queue(QUEUE)
    for _ in range(jobs):
        staging.enqueue(actor.message())
    staging.client.connection_pool.disconnect()


def start(processes: Processes, url: str, name: str) -> Process:
    argv = ["-m", "dramatiq", "bench.worker.dramatiq_app", "--processes", str(PROCESSES), "--threads", str(THREADS)]
    env = child_env(BENCH_REDIS_URL=url, BENCH_DRAMATIQ_NAMESPACE=LIVE, dramatiq_worker_timeout=IDLE_POLL_MS)
    return processes.python(name, argv, env=env)


def ready(client: Redis) -> bool:
    """Every worker process has fetched once (each leaves a heartbeat)."""
    return int(client.zcard(f"{LIVE}:__heartbeats__")) >= PROCESSES


def go(client: Redis) -> None:
    with client.pipeline() as pipeline:
        pipeline.rename(f"{STAGING}:{QUEUE}", f"{LIVE}:{QUEUE}")
        pipeline.rename(f"{STAGING}:{QUEUE}.msgs", f"{LIVE}:{QUEUE}.msgs")
        pipeline.execute()


def left(client: Redis) -> int:
    """Messages not yet acknowledged (dramatiq deletes a message's data when it acks it)."""
    return int(client.hlen(f"{LIVE}:{QUEUE}.msgs"))


def rss(worker: Process) -> dict[str, float | None]:
    """Resident MB of dramatiq's worker processes (each), and of its whole tree (the supervisor too)."""
    children = [mb for mb in (rss_mb(pid) for pid in descendants(worker.pid)) if mb is not None]
    parent = rss_mb(worker.pid)
    return {
        "rss_mb_per_worker_process": round(max(children), 1) if children else None,
        "rss_mb_tree": round(sum(children) + (parent or 0), 1) if children else None,
    }

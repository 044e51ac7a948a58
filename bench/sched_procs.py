"""Our scheduler and worker as the Procfile runs them, on a chosen Redis db, and waits on their state."""

from __future__ import annotations

import subprocess
import time

from redis import Redis

from bench.procs import ProcessStack, bench_env, wait_until
from workers import keys

Process = subprocess.Popen[bytes]


def db_url(port: int, db: int) -> str:
    return f"redis://127.0.0.1:{port}/{db}"


def start_scheduler(stack: ProcessStack, url: str, name: str) -> Process:
    """`python -m workers.scheduler` (the Procfile's scheduler) on `url`, default settings otherwise."""
    return stack.python(name, ["-m", "workers.scheduler"], env=bench_env(REDIS_URL=url))


def start_worker(stack: ProcessStack, url: str, queue: str, name: str) -> Process:
    """`python -m workers.worker` (the Procfile's worker) on one queue."""
    return stack.python(name, ["-m", "workers.worker"], env=bench_env(REDIS_URL=url, QUEUES=queue))


def lock_holder(connection: Redis) -> int | None:
    """The pid in the scheduler lock ("<pid>:<token>"), or None when nobody holds it."""
    raw = connection.get(keys.SCHEDULER_LOCK)
    return int(raw.split(b":", 1)[0]) if raw else None


def wait_for_lock(connection: Redis, pids: set[int], timeout: float) -> int:
    """Wait (bounded) until one of `pids` holds the lock; returns that pid."""
    holder: list[int] = []

    def held() -> bool:
        pid = lock_holder(connection)
        if pid in pids:
            holder.append(pid)
        return pid in pids

    wait_until(held, timeout, interval=0.01, what="a scheduler to take the lock")
    return holder[-1]


def wait_for_worker(connection: Redis, queue: str, timeout: float) -> None:
    wait_until(lambda: bool(connection.scard(f"rq:workers:{queue}")), timeout, what=f"a worker on {queue}")


def wait_caught_up(connection: Redis, until: float, timeout: float) -> bool:
    """Wait (bounded) until nothing due before `until` is left in the due set; False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        nearest = connection.zrange(keys.SCHEDULES_DUE, 0, 0, withscores=True)
        if not nearest or nearest[0][1] >= until:
            return True
        time.sleep(0.1)
    return False


def wait_queue_empty(connection: Redis, queue: str, timeout: float) -> bool:
    """Wait (bounded) until the worker has taken every job off `queue`; False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if connection.llen(f"rq:queue:{queue}") == 0:
            return True
        time.sleep(0.1)
    return False


def sleep_until(moment: float) -> None:
    """Sleep until wall-clock `moment` (never negative)."""
    time.sleep(max(0.0, moment - time.time()))

"""Our scheduler and worker as the Procfile runs them, on a chosen Redis db, and waits on their state."""

from __future__ import annotations

from redis import Redis

from bench.harness.processes import Process, Processes, child_env
from bench.harness.wait import poll_until, wait_until
from workers.core import keys


def db_url(port: int, db: int) -> str:
    return f"redis://127.0.0.1:{port}/{db}"


def start_scheduler(processes: Processes, url: str, name: str) -> Process:
    """`python -m workers.scheduler` (the Procfile's scheduler) on `url`, default settings otherwise."""
    return processes.python(name, ["-m", "workers.scheduler"], env=child_env(REDIS_URL=url))


def start_worker(processes: Processes, url: str, queue: str, name: str) -> Process:
    """`python -m workers.worker` (the Procfile's worker) on one queue."""
    return processes.python(name, ["-m", "workers.worker"], env=child_env(REDIS_URL=url, QUEUES=queue))


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

    wait_until(held, timeout, "a scheduler to take the lock", interval=0.01)
    return holder[-1]


def wait_for_worker(connection: Redis, queue: str, timeout: float) -> None:
    wait_until(lambda: bool(connection.scard(f"rq:workers:{queue}")), timeout, f"a worker on {queue}")


def wait_caught_up(connection: Redis, until: float, timeout: float) -> bool:
    """Wait (bounded) until nothing due before `until` is left in the due set, and every run released
    ahead is recorded (workers/schedules/herds.py: ledger entries follow the queue pushes); False on timeout."""

    def caught_up() -> bool:
        nearest = connection.zrange(keys.SCHEDULES_DUE, 0, 0, withscores=True)
        return (not nearest or nearest[0][1] >= until) and connection.llen(keys.SCHEDULES_RECORDING) == 0

    return poll_until(caught_up, timeout, "the scheduler to catch up", interval=0.1)


def wait_queue_empty(connection: Redis, queue: str, timeout: float) -> bool:
    """Wait (bounded) until the worker has taken every job off `queue`; False on timeout."""
    return poll_until(lambda: connection.llen(f"rq:queue:{queue}") == 0, timeout, f"{queue} to empty", interval=0.1)

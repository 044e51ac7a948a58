"""Lateness, CPU and memory of our scheduler with N schedules every 60 s, spread over the minute.

Each count runs on its own Redis db with a fresh scheduler (and a worker when
start times are measured). The schedules are written before the scheduler
starts, so the memory figure is the schedules alone; their first due times lie
after the scheduler is up, and only due times inside the window are counted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from redis import Redis

from bench.harness.proc_info import cpu_seconds, per_minute
from bench.harness.processes import Process, Processes
from bench.harness.wait import sleep_until, wait_until
from bench.sched.fill import bulk_upsert, check_same_as_upsert, make_specs
from bench.sched.plan import Scale, SchedPlan
from bench.sched.processes import (
    db_url,
    start_scheduler,
    start_worker,
    wait_caught_up,
    wait_for_lock,
    wait_for_worker,
    wait_queue_empty,
)
from bench.sched.runs import expected_dues, read_runs, window_figures
from workers.schedules.spec import ScheduleSpec

QUEUE = "sched-bench"
DUE_MARGIN = 5.0  # seconds from the last hash written to the first due time: the scheduler starts meanwhile


@dataclass
class Reading:
    """CPU of the scheduler and of redis-server, and Redis memory, at one moment."""

    at: float
    scheduler_cpu: float | None
    redis_cpu: float | None
    memory: int


def run_scale(
    processes: Processes, port: int, db: int, scale: Scale, plan: SchedPlan, redis_pid: int
) -> dict[str, Any]:
    """Fill, start, measure one window, let it catch up, stop, read back, empty the db."""
    connection = Redis.from_url(db_url(port, db), socket_timeout=30)
    try:
        connection.flushdb()
        wait_until(lambda: _lazyfree_done(connection), plan.startup_timeout, what="Redis to free an earlier db")
        specs, filled = _fill(connection, scale, plan)
        result = _measure(processes, connection, port, db, specs, filled["first_due"], scale, plan, redis_pid)
        return {**filled, **result}
    finally:
        # ASYNC: a blocking FLUSHDB of 100,000 schedules stalls Redis for seconds, and with it the
        # drift schedule's scheduler on db 0 (its 1.5 s socket timeout fires).
        connection.flushdb(asynchronous=True)
        connection.close()


def _fill(connection: Redis, scale: Scale, plan: SchedPlan) -> tuple[list[ScheduleSpec], dict[str, Any]]:
    """Write the schedules (start times spread over the last minute); first due times from when the scheduler is up."""
    started = time.time()
    specs = make_specs(f"n{scale.count}", scale.count, plan.interval, started - plan.interval, plan.interval, QUEUE)
    memory_before = _used_memory(connection)
    first_due = bulk_upsert(connection, specs, started, due_delay=DUE_MARGIN)
    seconds = time.time() - started
    memory = _used_memory(connection) - memory_before
    return specs, {
        "schedules": scale.count,
        "interval_s": plan.interval,
        "window_s": scale.window,
        "worker": scale.worker,
        "fill_seconds": round(seconds, 2),
        "first_due": first_due,
        "bulk_write_check": check_same_as_upsert(connection, specs) or "same keys and fields as upsert",
        "redis_bytes_per_schedule": round(memory / scale.count, 1),
    }


def _measure(
    processes: Processes,
    connection: Redis,
    port: int,
    db: int,
    specs: list[ScheduleSpec],
    first_due: float,
    scale: Scale,
    plan: SchedPlan,
    redis_pid: int,
) -> dict[str, Any]:
    url, label = db_url(port, db), f"n{scale.count}"
    worker: Process | None = None
    if scale.worker:
        worker = start_worker(processes, url, QUEUE, f"{label}-worker")
        wait_for_worker(connection, QUEUE, plan.startup_timeout)
    scheduler = start_scheduler(processes, url, f"{label}-scheduler")
    wait_for_lock(connection, {scheduler.pid}, plan.startup_timeout)
    since = max(time.time() + plan.settle_seconds, first_due)
    sleep_until(since)
    first = _read(connection, scheduler.pid, redis_pid)
    sleep_until(since + scale.window)
    last = _read(connection, scheduler.pid, redis_pid)
    caught_up = wait_caught_up(connection, last.at, plan.catch_up_timeout)
    processes.stop(scheduler)
    drained = wait_queue_empty(connection, QUEUE, plan.drain_timeout) if worker else None
    if worker:
        processes.stop(worker)
    runs = read_runs(connection, [s.name for s in specs])
    figures = window_figures(runs, expected_dues(specs, first.at, last.at), first.at, last.at)
    fired = figures["fired"]
    started = [r.started_at for r in runs if r.started_at is not None and first.at <= r.started_at < last.at]
    fires = [r for r in runs if r.enqueued_at is not None and first.at <= r.enqueued_at < last.at]
    return {
        "fires_per_s_in_window": round(len(fires) / (last.at - first.at), 1),
        "fires_per_s_needed": round(len(specs) / plan.interval, 1),
        "worker_jobs_started_per_s": round(len(started) / (last.at - first.at), 1) if worker else None,
        "caught_up_within_timeout": caught_up,
        "queue_drained_within_timeout": drained,
        **figures,
        "scheduler_cpu_s_per_min": per_minute(first.scheduler_cpu, last.scheduler_cpu, last.at - first.at),
        "redis_cpu_s_per_min": per_minute(first.redis_cpu, last.redis_cpu, last.at - first.at),
        "redis_bytes_per_fired_run": round((last.memory - first.memory) / fired, 1) if fired else None,
    }


def _read(connection: Redis, scheduler_pid: int, redis_pid: int) -> Reading:
    return Reading(time.time(), cpu_seconds(scheduler_pid), cpu_seconds(redis_pid), _used_memory(connection))


def _lazyfree_done(connection: Redis) -> bool:
    return int(connection.info("memory").get("lazyfree_pending_objects", 0)) == 0


def _used_memory(connection: Redis) -> int:
    return int(connection.info("memory")["used_memory"])

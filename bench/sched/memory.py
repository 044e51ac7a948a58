"""Steady-state Redis memory of schedules every 60 s: measured bytes per run x runs kept, plus per schedule.

A schedule's runs keep their jobs and results by count (SCHEDULE_RUNS_KEPT), and its
ledger keeps its newest RUNS_KEPT entries, so after enough minutes a schedule's memory
stops growing. This phase reaches that state for `memory_schedules` schedules on its
own db: the scheduler's fire step (in this process, `now` advanced a minute per round)
and a real worker in burst mode finish SCHEDULE_RUNS_KEPT + 2 rounds, so every kept
slot is full and older runs were released. Then it measures with MEMORY USAGE

- a run: its job hash, its results stream, its share of the finished registry;
- a schedule: its hash, due-set and name-set entries, and a full ledger (RUNS_KEPT
  compact entries, measured on one ledger filled to that length);

and extrapolates to 100,000 schedules. `used_memory` per schedule (plus the ledger entries
still to come) is the cross-check: it includes what the MEMORY USAGE sums leave out (the TTL
table, allocator rounding); the steady state reported is the larger of the two.
"""

from __future__ import annotations

import time
from typing import Any

from redis import Redis

from bench.sched.fill import bulk_upsert, make_specs
from bench.sched.plan import SchedPlan
from bench.sched.processes import db_url
from workers.core import keys
from workers.core.settings import Settings
from workers.rq_seam.job import run_keys
from workers.rq_seam.queue import get_queue
from workers.rq_seam.worker import ServiceWorker
from workers.schedules import store
from workers.schedules.firing import fire_due

QUEUE = "sched-memory"
TARGET = 100_000
GOAL_BYTES = 4 * 1024**3
OLD_BYTES_PER_RUN = 7_400  # the README's figure before runs were kept by count (kept a day: 1,440 runs)
SAMPLE = 200


def run_memory(port: int, db: int, plan: SchedPlan) -> dict[str, Any]:
    """Fill, fire and finish rounds until the kept runs are in steady state, measure, empty the db."""
    url = db_url(port, db)
    connection = Redis.from_url(url, socket_timeout=30)
    settings = Settings(redis_url=url)
    try:
        connection.flushdb()
        used_before = _used(connection)
        specs = make_specs("mem", plan.memory_schedules, plan.interval, time.time() - plan.interval, 0.0, QUEUE)
        bulk_upsert(connection, specs, time.time())
        first = connection.zrange(keys.SCHEDULES_DUE, 0, 0, withscores=True)[0][1]
        rounds = settings.schedule_runs_kept + 2
        worker = ServiceWorker([get_queue(QUEUE, connection)], connection=connection)
        for n in range(rounds):
            _fire_all(connection, settings, first + plan.interval * n + 0.001)
            worker.work(burst=True, logging_level="WARNING")  # a line per job would bury the benchmark's output
        names = [spec.name for spec in specs]
        return _figures(connection, settings, names, used_before, rounds)
    finally:
        connection.flushdb(asynchronous=True)
        connection.close()


def _fire_all(connection: Redis, settings: Settings, now: float) -> None:
    while fire_due(connection, settings, now).steps:
        pass


def _figures(connection: Redis, settings: Settings, names: list[str], used_before: int, rounds: int) -> dict[str, Any]:
    kept = settings.schedule_runs_kept
    sample = names[:: max(1, len(names) // SAMPLE)]
    run_bytes = _bytes_per_run(connection, sample)
    schedule_bytes = _bytes_per_schedule(connection, sample)
    ledger_entry = _bytes_per_ledger_entry(connection, names[0])
    full_schedule = schedule_bytes + ledger_entry * store.RUNS_KEPT
    per_schedule = full_schedule + run_bytes * kept
    # used_memory sees what MEMORY USAGE leaves out (the TTL table, allocator rounding); its ledgers are not full yet
    ledger_now = connection.llen(keys.schedule_runs_key(names[0]))
    used_per_schedule = (_used(connection) - used_before) / len(names) + ledger_entry * (store.RUNS_KEPT - ledger_now)
    steady = max(per_schedule, used_per_schedule) * TARGET
    return {
        "schedules": len(names),
        "rounds_fired_and_finished": rounds,
        "runs_kept": kept,
        "bytes_per_run": round(run_bytes, 1),
        "bytes_per_schedule_without_runs": round(schedule_bytes, 1),
        "bytes_per_ledger_entry": round(ledger_entry, 1),
        "ledger_entries_kept": store.RUNS_KEPT,
        "bytes_per_schedule_steady": round(per_schedule, 1),
        "bytes_per_schedule_steady_by_used_memory": round(used_per_schedule, 1),
        "steady_state_bytes_100k": round(steady),
        "steady_state_gib_100k": round(steady / 1024**3, 2),
        "goal_gib": GOAL_BYTES / 1024**3,
        "goal_met": steady < GOAL_BYTES,
        "before_bytes_100k_one_day": OLD_BYTES_PER_RUN * 1_440 * TARGET,
    }


def _bytes_per_run(connection: Redis, names: list[str]) -> float:
    """A kept run's job hash and results stream, and its share of the finished registry."""
    kept = _kept_jobs(connection, names)
    with connection.pipeline(transaction=False) as pipe:
        for job_id in kept:
            job_key, results_key, _ = run_keys(job_id, QUEUE)
            pipe.memory_usage(job_key, samples=0)
            pipe.memory_usage(results_key, samples=0)
        sizes = pipe.execute()
    finished_key = run_keys("", QUEUE)[2][0]
    registry = (connection.memory_usage(finished_key, samples=0) or 0) / max(1, connection.zcard(finished_key))
    return sum(size or 0 for size in sizes) / max(1, len(kept)) + registry


def _kept_jobs(connection: Redis, names: list[str]) -> list[str]:
    with connection.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.hget(keys.schedule_key(name), store.KEPT_FIELD)
        return [job_id for name, raw in zip(names, pipe.execute(), strict=True) for job_id in store.kept_ids(name, raw)]


def _bytes_per_schedule(connection: Redis, names: list[str]) -> float:
    """A schedule's hash and its entries in the due set and the name set (the ledger is counted apart)."""
    with connection.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.memory_usage(keys.schedule_key(name), samples=0)
        sizes = pipe.execute()
    due = (connection.memory_usage(keys.SCHEDULES_DUE, samples=0) or 0) / max(1, connection.zcard(keys.SCHEDULES_DUE))
    named = (connection.memory_usage(keys.SCHEDULE_NAMES, samples=0) or 0) / max(
        1, connection.scard(keys.SCHEDULE_NAMES)
    )
    return sum(size or 0 for size in sizes) / len(names) + due + named


def _bytes_per_ledger_entry(connection: Redis, name: str) -> float:
    """One ledger filled to RUNS_KEPT entries like the fire step writes them, per entry."""
    entries = connection.lrange(keys.schedule_runs_key(name), 0, 0)
    key = keys.schedule_runs_key(f"{name}-full")
    connection.lpush(key, *(entries * store.RUNS_KEPT))
    size = connection.memory_usage(key, samples=0) or 0
    connection.delete(key)
    return size / store.RUNS_KEPT


def _used(connection: Redis) -> int:
    return int(connection.info("memory")["used_memory"])

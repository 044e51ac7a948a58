"""Three scheduler processes; the lock holder is killed with SIGKILL again and again.

Measures duplicate firings (a (schedule, due time) fired twice, or a job id
pushed onto the queue twice) and the failover gap: from the kill until another
process holds the lock, and until the next run is fired at all. The killed
process is replaced at once, so three are always running. With a 1 s interval
and a lock TTL of 3 s, each schedule has a few due times inside every gap: the
catch-up fires the newest and records the rest as missed, by design.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from typing import Any

from redis import Redis

from bench.harness.processes import Process, Processes
from bench.harness.report import summary_ms
from bench.harness.wait import pause, sleep_until
from bench.sched.fill import bulk_upsert, make_specs
from bench.sched.plan import SchedPlan
from bench.sched.processes import db_url, lock_holder, start_scheduler, wait_for_lock
from bench.sched.runs import Run, expected_dues, read_runs, window_figures

QUEUE = "sched-failover"
PROCESSES = 3
INTERVAL = 1.0
END_ALLOWANCE = 2.0  # due times this close to the stop are left out: the holder may not have reached them yet


def run_failover(processes: Processes, port: int, db: int, plan: SchedPlan) -> dict[str, Any]:
    url = db_url(port, db)
    connection = Redis.from_url(url, socket_timeout=30)
    connection.flushdb()
    first_due = time.time() + 6.0
    specs = make_specs("fo", plan.failover_schedules, INTERVAL, first_due, INTERVAL, QUEUE)
    bulk_upsert(connection, specs, time.time())
    schedulers = {p.pid: p for p in (start_scheduler(processes, url, f"failover-{i}") for i in range(PROCESSES))}
    try:
        wait_for_lock(connection, set(schedulers), plan.startup_timeout)
        since = max(time.time(), first_due) + 1.0
        sleep_until(since)
        kills = [_kill_holder(processes, connection, url, schedulers, plan, n) for n in range(plan.failover_kills)]
        pause(plan.failover_hold_seconds)
        until = time.time() - END_ALLOWANCE
    finally:
        for process in schedulers.values():
            processes.stop(process)
    runs = read_runs(connection, [s.name for s in specs])
    figures = window_figures(runs, expected_dues(specs, since, until), since, until)
    queued = Counter(connection.lrange(f"rq:queue:{QUEUE}", 0, -1))
    connection.flushdb(asynchronous=True)
    for kill in kills:
        kill["fire_gap_s"] = _fire_gap(runs, kill["killed_at"])
    return {
        "processes": PROCESSES,
        "schedules": plan.failover_schedules,
        "interval_s": INTERVAL,
        "kills": len(kills),
        "duplicate_runs": figures["duplicates"],
        "job_ids_queued_twice": sum(1 for count in queued.values() if count > 1),
        "due": figures["due"],
        "fired": figures["fired"],
        "missed": figures["missed"],
        "never_recorded": figures["never_recorded"],
        "never_recorded_sample": figures["never_recorded_sample"],
        "window": [since, until],
        "lock_gap": summary_ms([k["lock_gap_s"] for k in kills if k["lock_gap_s"] is not None]),
        "fire_gap": summary_ms([k["fire_gap_s"] for k in kills if k["fire_gap_s"] is not None]),
        "fired_lateness": figures["fired_lateness"],
        "events": kills,
    }


def _kill_holder(
    processes: Processes, connection: Redis, url: str, schedulers: dict[int, Process], plan: SchedPlan, n: int
) -> dict[str, Any]:
    """Let the holder work, SIGKILL it, start a replacement, and time until another holds the lock."""
    pause(plan.failover_hold_seconds)
    holder = lock_holder(connection)
    if holder not in schedulers:
        holder = wait_for_lock(connection, set(schedulers), plan.startup_timeout)
    killed_at = time.time()
    os.kill(holder, signal.SIGKILL)
    victim = schedulers.pop(holder)
    victim.wait(timeout=10)
    processes.stop(victim)
    replacement = start_scheduler(processes, url, f"failover-{PROCESSES + n}")
    schedulers[replacement.pid] = replacement
    try:
        new_holder = wait_for_lock(connection, set(schedulers), plan.startup_timeout)
        lock_gap: float | None = time.time() - killed_at
    except TimeoutError:
        new_holder, lock_gap = None, None
    return {
        "killed_pid": holder,
        "new_holder_pid": new_holder,
        "new_holder_is_replacement": new_holder == replacement.pid,
        "killed_at": killed_at,
        "lock_gap_s": None if lock_gap is None else round(lock_gap, 3),
    }


def _fire_gap(runs: list[Run], killed_at: float) -> float | None:
    """From the kill until the first run fired after it (by any process)."""
    after = [r.enqueued_at for r in runs if r.status == "fired" and r.enqueued_at and r.enqueued_at > killed_at]
    return round(min(after) - killed_at, 3) if after else None

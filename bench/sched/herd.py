"""Many cron schedules on one expression, all due at the same minute boundary (a thundering herd).

Cron users put thousands of schedules on "0 * * * *"; every one of them falls
due at the same instant, so the last fires as late as the scheduler takes to
fire them all. Measured with the Procfile's scheduler on its own Redis db: fired
lateness (job enqueued_at - due) of every run due at the first boundary after
the scheduler is up, and, from outside, when the last of them was on its queue
(the queue's length polled every POLL seconds from the boundary on: the jobs of a
batch reach Redis together, a little after their enqueued_at stamps).
"""

from __future__ import annotations

import math
import time
from typing import Any

from redis import Redis

from bench.harness.proc_info import cpu_seconds
from bench.harness.processes import Processes
from bench.harness.report import summary_ms
from bench.harness.wait import sleep_until
from bench.sched.fill import bulk_upsert
from bench.sched.plan import SchedPlan
from bench.sched.processes import db_url, start_scheduler, wait_caught_up, wait_for_lock
from bench.sched.runs import read_runs
from workers.core import keys
from workers.schedules.spec import ScheduleSpec

EXPRESSION = "* * * * *"
ZONE = "Europe/Berlin"
POLL = 0.002  # seconds between reads of the queue's length after the boundary
QUEUE_KEY = "rq:queue:herd"
DUE_MARGIN = 5.0  # seconds from the last hash written to the earliest boundary counted: the scheduler starts meanwhile


def run_herd(processes: Processes, port: int, db: int, plan: SchedPlan) -> dict[str, Any]:
    """Fill, start a scheduler, wait for the boundary and until everything due then has fired, read back."""
    connection = Redis.from_url(db_url(port, db), socket_timeout=30)
    try:
        connection.flushdb()
        names = [f"herd-{i:06d}" for i in range(plan.herd_schedules)]
        specs = [
            ScheduleSpec(name=n, task="examples.noop", cron=EXPRESSION, timezone=ZONE, queue="herd") for n in names
        ]
        bulk_upsert(connection, specs, time.time(), due_delay=DUE_MARGIN)
        boundary = connection.zrange(keys.SCHEDULES_DUE, 0, 0, withscores=True)[0][1]
        scheduler = start_scheduler(processes, db_url(port, db), "herd-scheduler")
        wait_for_lock(connection, {scheduler.pid}, plan.startup_timeout)
        cpu_before = cpu_seconds(scheduler.pid)
        sleep_until(boundary)
        all_queued = _wait_all_queued(connection, len(specs), boundary, plan.catch_up_timeout)
        cpu_after = cpu_seconds(scheduler.pid)
        caught_up = wait_caught_up(connection, boundary + 1, plan.catch_up_timeout)
        processes.stop(scheduler)
        runs = [r for r in read_runs(connection, names) if math.isclose(r.due, boundary)]
        fired = [r for r in runs if r.status == "fired" and r.enqueued_at is not None]
        return {
            "schedules": len(specs),
            "expression": EXPRESSION,
            "timezone": ZONE,
            "due_at_boundary": len(specs),
            "fired": len(fired),
            "caught_up_within_timeout": caught_up,
            "fired_lateness": summary_ms([r.enqueued_at - r.due for r in fired if r.enqueued_at is not None]),
            "last_queued_after_boundary_ms": None if all_queued is None else round(all_queued * 1000, 1),
            # CPU the scheduler spent on the herd (its process, boundary to all queued): moves less with the
            # machine's load than the wall time above does
            "scheduler_cpu_s": None if cpu_before is None or cpu_after is None else round(cpu_after - cpu_before, 2),
        }
    finally:
        connection.flushdb(asynchronous=True)
        connection.close()


def _wait_all_queued(connection: Redis, count: int, boundary: float, timeout: float) -> float | None:
    """Seconds from the boundary until `count` jobs are on the herd's queue (None: not within `timeout`)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if connection.llen(QUEUE_KEY) >= count:
            return time.time() - boundary
        time.sleep(POLL)
    return None

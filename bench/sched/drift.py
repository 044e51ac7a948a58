"""Our 1 s interval schedule, alive for the whole benchmark on its own Redis db.

1,000 runs of a 1 s schedule take 1,000 s, longer than the other phases, so the
schedule is created first and read last: the other phases run while it fires,
then the full plan waits until it has made `drift_runs` runs. Its drift is
measured over every run, and its lateness over the side-by-side window, when
only the light 1 s baselines share the machine with it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from redis import Redis

from bench.harness.processes import Process, Processes
from bench.harness.wait import pause, wait_until
from bench.sched.plan import SchedPlan
from bench.sched.processes import db_url, start_scheduler, start_worker, wait_for_lock, wait_for_worker
from bench.sched.runs import Run, drift_figures, read_runs, window_figures
from workers.core import keys
from workers.rq_seam.job import TaskJob
from workers.schedules.firing import run_job_id
from workers.schedules.spec import ScheduleSpec
from workers.schedules.store import RUNS_KEPT, upsert

NAME = "drift-1s"
QUEUE = "sched-drift"
INTERVAL = 1.0


@dataclass
class DriftRun:
    """The schedule, its scheduler and worker, and when it started."""

    connection: Redis
    spec: ScheduleSpec
    scheduler: Process
    worker: Process

    @classmethod
    def start(cls, processes: Processes, port: int, db: int, plan: SchedPlan) -> DriftRun:
        """Create the schedule with the project's own `upsert`, then start a worker and a scheduler."""
        connection = Redis.from_url(db_url(port, db), socket_timeout=30)
        connection.flushdb()
        spec = ScheduleSpec(name=NAME, task="examples.noop", interval=INTERVAL, queue=QUEUE)
        spec.start_at = math.ceil(time.time()) + 3.0
        upsert(connection, spec, time.time())
        worker = start_worker(processes, db_url(port, db), QUEUE, "drift-worker")
        wait_for_worker(connection, QUEUE, plan.startup_timeout)
        scheduler = start_scheduler(processes, db_url(port, db), "drift-scheduler")
        wait_for_lock(connection, {scheduler.pid}, plan.startup_timeout)
        return cls(connection, spec, scheduler, worker)

    def runs(self) -> list[Run]:
        return read_runs(self.connection, [NAME])

    def window(self, since: float, until: float) -> dict[str, Any]:
        """Lateness of the runs due in [since, until), read while it keeps running."""
        expected = {(NAME, int(round((self._start() + n * INTERVAL) * 1000))) for n in self._indexes(since, until)}
        return window_figures(self.runs(), expected, since, until)

    def finish(self, processes: Processes, plan: SchedPlan) -> dict[str, Any]:
        """Wait for `plan.drift_runs` runs (bounded), stop it and report drift over every run it recorded."""
        wait_until(
            lambda: self._recorded() >= plan.drift_runs,
            self._seconds_to(plan.drift_runs),
            what="drift runs",
            interval=0.5,
        )
        processes.stop(self.scheduler)
        pause(0.5)  # the last fired job starts
        processes.stop(self.worker)
        runs = self.runs()
        recorded = self._recorded()
        exact = self._fired_at_exact_due_times(recorded)
        first_index = max(0, recorded - len(runs))  # the ledger keeps only the newest RUNS_KEPT entries
        ledger_bytes = self.connection.memory_usage(keys.schedule_runs_key(NAME), samples=0) or 0
        self.connection.flushdb()
        return {
            "interval_s": INTERVAL,
            "runs_made": recorded,
            "runs_fired_at_exact_due_times": exact,
            "ledger_trimmed": len(runs) >= RUNS_KEPT,
            "ledger_bytes_per_entry": round(ledger_bytes / len(runs), 1) if runs else None,
            "ledger_entries_kept": RUNS_KEPT,
            **drift_figures(runs, self._start(), INTERVAL, first_index),
            "start_lateness_all_runs": window_figures(runs, set(), 0.0, float("inf"))["start_lateness"],
            "fired_lateness_all_runs": window_figures(runs, set(), 0.0, float("inf"))["fired_lateness"],
        }

    def _recorded(self) -> int:
        """Runs fired, missed or skipped so far (the ledger keeps only the newest RUNS_KEPT)."""
        state = self.connection.hmget(keys.schedule_key(NAME), "runs_total", "missed_total", "skipped_total")
        return sum(int(v or 0) for v in state)

    def _fired_at_exact_due_times(self, runs: int) -> int:
        """How many of runs 0..runs-1 have a job whose id names due time start + n * INTERVAL exactly.

        A run's job id is derived from the due time it fired for, and jobs outlive the
        ledger's 200 entries, so this checks every run for drift, not only the newest.
        """
        with self.connection.pipeline(transaction=False) as pipe:
            for n in range(runs):
                pipe.exists(TaskJob.key_for(run_job_id(NAME, self._start() + n * INTERVAL)))
            return sum(pipe.execute())

    def _seconds_to(self, runs: int) -> float:
        """Time left until the `runs`-th due time, plus a margin for the last one to be recorded."""
        return max(0.0, self._start() + runs * INTERVAL - time.time()) + 30.0

    def _start(self) -> float:
        return float(self.spec.start_at or 0.0)

    def _indexes(self, since: float, until: float) -> range:
        first = max(0, math.ceil((since - self._start()) / INTERVAL))
        last = math.ceil((until - self._start()) / INTERVAL)
        return range(first, max(first, last))

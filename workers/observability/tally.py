"""A worker process's job-run metrics, summed in memory and written once per beat.

Writing a run's five metric commands with its end cost the worker and Redis a measurable
share of a no-op job's CPU. Instead each run's steps (metrics.job_run_steps: the same
keys, fields and buckets) are added here once its end is committed, and the worker's
beat (workers/worker/heartbeat.py, every second) writes what is pending on the pipeline
it sends anyway: one HINCRBY per (key, field) for counts, one HINCRBYFLOAT for sums.

What a beat could not write stays pending and goes with a later one (after a Redis
outage, with the process's next worker: workers/worker/lifecycle.py); a clean stop
(SIGTERM, burst mode's end) writes the rest in the worker's teardown. So the figures
lag the jobs' ends by up to a beat, and only a process killed outright (kill -9, a
crash of the host) loses counts: at most the last beat's worth, about one second. A
beat whose reply is lost after Redis applied it (the connection cut in between) counts
its amounts twice. A sum is added up in Python before its one HINCRBYFLOAT, so it may
differ from the per-run sums in the last bits.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from redis import Redis
from redis.client import Pipeline

from workers.observability.metrics import Step, queue_steps

Pending = dict[tuple[str, str], int | float]  # (key, field) -> amount, in the order first added


class Tally:
    """Metric steps added by many job threads, taken and written by one (the beat, or the teardown)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: Pending = {}

    def add(self, steps: Iterable[Step]) -> None:
        """Sum `steps` into what is pending; build them before (outside the lock)."""
        with self._lock:
            pending = self._pending
            for key, field, amount in steps:
                slot = (key, field)
                pending[slot] = pending.get(slot, 0) + amount

    def take(self) -> Pending:
        """What is pending, which is now empty."""
        with self._lock:
            taken, self._pending = self._pending, {}
        return taken

    def put_back(self, taken: Pending) -> None:
        """Amounts taken but not written: pending again."""
        if taken:
            self.add((key, field, amount) for (key, field), amount in taken.items())

    def execute(self, pipeline: Pipeline, taken: Pending) -> list[Any]:
        """Execute `pipeline`, whose first commands are `write(pipeline, taken)`; what failed is pending again.

        Returns the replies; raises the first error, as `pipeline.execute()` does.
        """
        try:
            replies = pipeline.execute(raise_on_error=False)
        except BaseException:
            self.put_back(taken)  # not sent; or sent and its answer lost, then counted twice
            raise
        ours = zip(taken.items(), replies[: len(taken)], strict=True)
        self.put_back({slot: amount for (slot, amount), reply in ours if isinstance(reply, Exception)})
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies

    def flush(self, connection: Redis) -> int:
        """Write what is pending in one round trip (the worker's teardown); returns how many fields were written."""
        taken = self.take()
        if taken:
            with connection.pipeline(transaction=False) as pipeline:
                write(pipeline, taken)
                self.execute(pipeline, taken)
        return len(taken)


def write(pipeline: Pipeline, taken: Pending) -> None:
    """Queue the taken amounts on `pipeline`, in their order (`Tally.execute` matches the replies to them)."""
    queue_steps(pipeline, ((key, field, amount) for (key, field), amount in taken.items()))

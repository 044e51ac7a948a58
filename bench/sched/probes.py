"""What the baselines did: probes of plain rq-scheduler's and RQ cron's state, polled from a thread.

Each baseline runs one 1 s interval job of a plain function on its own Redis db. Neither
keeps a run history we can read afterwards with the due time of each run, so a
probe thread polls their state every POLL_SECONDS and notes each run's own due
time as the scheduler saw it just before firing:
- rq-scheduler re-enqueues the same job id every run: the probe pairs each new
  `enqueued_at` of that job with the due score it had in the sorted set before;
- rq cron enqueues a fresh job per run and keeps their ids (rq:cron_job:<name>:jobs);
  its due time is the previous run's enqueue time + interval, which it saves in
  its scheduler hash after each run, where the probe reads it.
"""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from redis import Redis
from rq.cron import get_cron_job_ids
from rq_scheduler import Scheduler

from bench.harness.wait import Stopped, poll_until
from bench.sched import cron_config
from bench.sched.runs import rq_time

POLL_SECONDS = 0.01
RQS_JOBS_KEY = Scheduler.scheduled_jobs_key


@dataclass
class Fire:
    """One baseline run: the due time its scheduler had for it, and when it enqueued it."""

    due: float
    enqueued_at: float


@dataclass
class RqSchedulerProbe:
    """Plain rq-scheduler: one job id, re-enqueued each run, its next due time a sorted-set score."""

    label: str
    client: Redis
    job_id: str
    start_at: float
    fires: list[Fire] = field(default_factory=list)
    unmatched: int = 0
    _last_enqueued: bytes | None = None
    _due_before: float | None = None

    def poll(self) -> None:
        with self.client.pipeline(transaction=False) as pipe:
            score, enqueued = (
                pipe.zscore(RQS_JOBS_KEY, self.job_id).hget(f"rq:job:{self.job_id}", "enqueued_at").execute()
            )
        if enqueued is not None and enqueued != self._last_enqueued:
            stamp = rq_time(enqueued)
            if self._due_before is None or stamp is None:
                self.unmatched += 1
            else:
                self.fires.append(Fire(self._due_before, stamp))
            self._last_enqueued, self._due_before = enqueued, None
        elif score is not None:
            self._due_before = score

    def finish(self) -> None:
        """Nothing to read afterwards: every run was seen by `poll`."""


@dataclass
class RqCronProbe:
    """RQ cron: a fresh job per run; due time = previous enqueue time + interval (from its saved state)."""

    label: str
    client: Redis
    start_at: float = 0.0  # its first run is when it starts: set from that run in `finish`
    fires: list[Fire] = field(default_factory=list)
    unmatched: int = 0
    _enqueue_times: set[float] = field(default_factory=set)
    _key: str | None = None

    def poll(self) -> None:
        if self._key is None:
            found = self.client.keys("rq:cron_scheduler:*")
            self._key = found[0].decode() if found else None
            return
        raw = self.client.hget(self._key, "cron_jobs")
        for job in json.loads(raw) if raw else []:
            if job.get("name") == cron_config.NAME and job.get("latest_enqueue_time"):
                self._enqueue_times.add(_iso(job["latest_enqueue_time"]))

    def finish(self) -> None:
        """Pair each run's job with the enqueue time the scheduler noted for the run before it."""
        ids = get_cron_job_ids(cron_config.NAME, self.client)
        with self.client.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hget(f"rq:job:{job_id}", "enqueued_at")
            stamps = sorted(t for t in (rq_time(raw) for raw in pipe.execute()) if t is not None)
        times = sorted(self._enqueue_times)
        if stamps:
            self.start_at = stamps[0]
        for previous, current in zip(stamps, stamps[1:], strict=False):
            noted = [t for t in times if t <= previous]  # the scheduler's enqueue time for the previous run
            if noted and previous - noted[-1] < 0.5:
                self.fires.append(Fire(noted[-1] + cron_config.INTERVAL, current))
            else:
                self.unmatched += 1


Probe = RqSchedulerProbe | RqCronProbe


def _iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=UTC).timestamp()


class Poller(threading.Thread):
    """Polls every probe every POLL_SECONDS until stopped or `limit` seconds passed (always bounded)."""

    def __init__(self, probes: list[Probe], limit: float) -> None:
        super().__init__(daemon=True, name="sched-baseline-probe")
        self.probes = probes
        self.limit = limit
        self.stopped = threading.Event()
        self.errors: list[str] = []

    def run(self) -> None:
        with contextlib.suppress(Stopped):  # the run is being stopped: nothing left to probe for
            poll_until(self._poll_all, self.limit, "the end of the baselines' window", POLL_SECONDS)

    def _poll_all(self) -> bool:
        """Poll every probe once; True once `stop` was called."""
        for probe in self.probes:
            try:
                probe.poll()
            except Exception as error:  # noqa: BLE001 - kept and reported; a probe must not kill the others
                self.errors.append(f"{probe.label}: {type(error).__name__}: {error}")
        return self.stopped.is_set()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)

"""The baselines: plain rq-scheduler (its `rqscheduler` CLI) and RQ 3's own cron (`rq cron`).

Each runs one 1 s interval job of a plain function on its own Redis db. Neither
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

import json
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from redis import Redis
from rq.cron import get_cron_job_ids
from rq_scheduler import Scheduler

from bench import sched_cron_config
from bench.procs import ProcessStack, bench_env
from bench.sched_noop import noop
from bench.sched_procs import Process, db_url
from bench.sched_runs import rq_time

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
            if job.get("name") == sched_cron_config.NAME and job.get("latest_enqueue_time"):
                self._enqueue_times.add(_iso(job["latest_enqueue_time"]))

    def finish(self) -> None:
        """Pair each run's job with the enqueue time the scheduler noted for the run before it."""
        ids = get_cron_job_ids(sched_cron_config.NAME, self.client)
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
                self.fires.append(Fire(noted[-1] + sched_cron_config.INTERVAL, current))
            else:
                self.unmatched += 1


Probe = RqSchedulerProbe | RqCronProbe


def _iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=UTC).timestamp()


def start_rqscheduler(
    stack: ProcessStack, port: int, db: int, poll_interval: float | None, start_at: float, label: str
) -> tuple[Process, RqSchedulerProbe]:
    """Schedule the 1 s job with rq_scheduler's own API, then run the `rqscheduler` CLI on that db."""
    client = Redis.from_url(db_url(port, db))
    client.flushdb()
    job = Scheduler(connection=client).schedule(
        scheduled_time=datetime.fromtimestamp(start_at, UTC), func=noop, interval=1
    )
    argv = [_venv_script("rqscheduler"), "--url", db_url(port, db)]
    if poll_interval is not None:
        argv += ["-i", str(poll_interval)]
    process = stack.start(label, argv, env=bench_env())
    return process, RqSchedulerProbe(label, client, job.id, start_at)


def start_rq_cron(stack: ProcessStack, port: int, db: int, label: str) -> tuple[Process, RqCronProbe]:
    """`rq cron bench.sched_cron_config` on that db: one job every second, first run at start."""
    client = Redis.from_url(db_url(port, db))
    client.flushdb()
    root = str(Path(__file__).resolve().parent.parent)
    argv = [_venv_script("rq"), "cron", "bench.sched_cron_config", "--url", db_url(port, db), "--path", root]
    process = stack.start(label, argv, env=bench_env())
    return process, RqCronProbe(label, client)


def _venv_script(name: str) -> str:
    """The console script installed next to the running interpreter (the project's venv)."""
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed in {Path(sys.executable).parent}")
    return found


class Poller(threading.Thread):
    """Polls every probe every POLL_SECONDS until stopped or `limit` seconds passed (always bounded)."""

    def __init__(self, probes: list[Probe], limit: float) -> None:
        super().__init__(daemon=True, name="sched-baseline-probe")
        self.probes = probes
        self.limit = limit
        self.stopped = threading.Event()
        self.errors: list[str] = []

    def run(self) -> None:
        deadline = time.monotonic() + self.limit
        while not self.stopped.is_set() and time.monotonic() < deadline:
            for probe in self.probes:
                try:
                    probe.poll()
                except Exception as error:  # noqa: BLE001 - kept and reported; a probe must not kill the others
                    self.errors.append(f"{probe.label}: {type(error).__name__}: {error}")
            self.stopped.wait(POLL_SECONDS)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)

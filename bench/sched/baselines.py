"""The baselines, started as their users start them: plain rq-scheduler (`rqscheduler`) and RQ 3's cron (`rq cron`).

Each gets one 1 s interval job of the plain `bench.tasks.noop` on a Redis db
of its own, and a probe (`probes`) that watches what it does.
"""

from __future__ import annotations

from datetime import UTC, datetime

from redis import Redis
from rq_scheduler import Scheduler

from bench.harness.processes import Process, Processes, child_env, venv_script
from bench.harness.procfile import ROOT
from bench.sched.probes import RqCronProbe, RqSchedulerProbe
from bench.sched.processes import db_url
from bench.tasks import noop


def start_rqscheduler(
    processes: Processes, port: int, db: int, poll_interval: float | None, start_at: float, label: str
) -> tuple[Process, RqSchedulerProbe]:
    """Schedule the 1 s job with rq_scheduler's own API, then run the `rqscheduler` CLI on that db."""
    client = Redis.from_url(db_url(port, db))
    client.flushdb()
    job = Scheduler(connection=client).schedule(
        scheduled_time=datetime.fromtimestamp(start_at, UTC), func=noop, interval=1
    )
    argv = [venv_script("rqscheduler"), "--url", db_url(port, db)]
    if poll_interval is not None:
        argv += ["-i", str(poll_interval)]
    process = processes.start(label, argv, env=child_env())
    return process, RqSchedulerProbe(label, client, job.id, start_at)


def start_rq_cron(processes: Processes, port: int, db: int, label: str) -> tuple[Process, RqCronProbe]:
    """`rq cron bench.sched.cron_config` on that db: one job every second, first run at start."""
    client = Redis.from_url(db_url(port, db))
    client.flushdb()
    argv = [venv_script("rq"), "cron", "bench.sched.cron_config", "--url", db_url(port, db), "--path", str(ROOT)]
    process = processes.start(label, argv, env=child_env())
    return process, RqCronProbe(label, client)

"""Tasks of the failover benchmark (TASK_MODULES=bench.failover.tasks): each run appends a line to a ledger
file outside the Redis under test, with the wall-clock time, so lost runs, double fires and the first run on the
new master can be counted after the master is gone.
"""

from __future__ import annotations

import time

from rq import get_current_job

from bench.recovery.ledger import append_line
from workers import task


@task(name="bench.failover.mark")
def mark(ledger: str, token: str) -> str:
    """An instant job: one `run <token> <time>` line."""
    append_line(ledger, f"run {token} {time.time():.3f}")
    return token


@task(name="bench.failover.sleep")
def sleep(ledger: str, token: str, seconds: float) -> str:
    """A job that is running when the master dies: its line is written when the body ends."""
    time.sleep(seconds)
    append_line(ledger, f"run {token} {time.time():.3f}")
    return token


@task(name="bench.failover.fire")
def fire(ledger: str) -> str:
    """A schedule's run: `fire <job id> <time>`; the id is derived from the due time, so a double fire repeats it."""
    job = get_current_job()
    job_id = job.id if job is not None else "?"
    append_line(ledger, f"fire {job_id} {time.time():.3f}")
    return job_id


def read_runs(path: str) -> tuple[dict[str, float], list[str]]:
    """(token -> earliest run time, job ids of schedule runs in order of their lines)."""
    runs: dict[str, float] = {}
    fires: list[str] = []
    with open(path) as handle:
        for line in handle:
            parts = line.split()
            if len(parts) != 3:
                continue
            kind, name, when = parts
            if kind == "run":
                runs[name] = min(runs.get(name, float(when)), float(when))
            elif kind == "fire":
                fires.append(name)
    return runs, fires

"""Limited tasks (TASK_MODULES=tests.tasks,tests.limited_tasks): each records what the limit must bound.

`tests.limited` counts the runs of itself in flight in the ledger (INCR at the start,
DECR at the end) and keeps every count it saw: their maximum is the most runs that
were ever at once, across every worker process. `tests.rated` keeps the moment the
limit admitted each run (Redis's clock, written into the job hash by the worker).
"""

from __future__ import annotations

import os
import time

from redis import Redis
from rq import get_current_job

from workers import task
from workers.limits.gate import ADMITTED_FIELD

CONCURRENCY = 2
RATE = "3/s"


def _ledger() -> Redis:
    return Redis.from_url(os.environ["TEST_LEDGER_URL"])


@task(name="tests.limited", concurrency=CONCURRENCY)
def limited(key: str, seconds: float) -> int:
    ledger = _ledger()
    in_flight = int(ledger.incr(f"limited:running:{key}"))
    ledger.rpush(f"limited:seen:{key}", in_flight)
    try:
        time.sleep(seconds)
    finally:
        ledger.decr(f"limited:running:{key}")
    return in_flight


@task(name="tests.rated", rate=RATE)
def rated(key: str) -> int:
    job = get_current_job()
    assert job is not None
    admitted = int(job.connection.hget(job.key, ADMITTED_FIELD) or 0)
    _ledger().rpush(f"rated:starts:{key}", admitted)
    return admitted

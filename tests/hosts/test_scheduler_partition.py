"""The scheduler holding the lock is cut off: the other one takes over, and no due time fires twice."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx2 as httpx
import pytest
from redis import Redis

from bench.hosts.cluster import Cluster
from bench.sched.processes import lock_holder
from bench.sched.runs import Run, read_runs
from tests.support.stack import eventually

pytestmark = pytest.mark.hosts
SCHEDULES = ["tick-a", "tick-b", "tick-c"]
WAIT = 120  # generous: no timing is asserted here (the bench reports the takeover gap)


def fired(redis: Redis) -> list[Run]:
    return [run for run in read_runs(redis, SCHEDULES) if run.status == "fired"]


def test_lock_holders_host_partitioned_another_takes_over_and_nothing_fires_twice(
    cluster: Cluster, http: httpx.Client, redis: Redis, tmp_path: Path
) -> None:
    # given: two schedulers on two hosts, interval schedules due every second
    cluster.start("web", "web")
    schedulers = {cluster.start("scheduler", host).pid: host for host in ("w1", "w2")}
    for name in SCHEDULES:
        body = {"task": "bench.hosts.run", "args": [str(tmp_path / "ledger.txt"), name], "interval": 1}
        assert http.put(f"/schedules/{name}", json=body).status_code == 201
    assert eventually(lambda: lock_holder(redis) in schedulers, timeout=WAIT)
    holder = lock_holder(redis)
    assert eventually(lambda: len(fired(redis)) >= 2 * len(SCHEDULES), timeout=WAIT)

    # when: the holder's host is cut off, then healed once the other has fired a while
    cluster.hosts.partition(schedulers[holder])
    assert eventually(lambda: lock_holder(redis) not in (None, holder), timeout=WAIT)
    taken_over = len(fired(redis))
    assert eventually(lambda: len(fired(redis)) >= taken_over + 3 * len(SCHEDULES), timeout=WAIT)
    cluster.hosts.heal(schedulers[holder])
    healed = len(fired(redis))
    assert eventually(lambda: len(fired(redis)) >= healed + 5 * len(SCHEDULES), timeout=WAIT)

    # then: one firing per due time, one queued job per firing, both schedulers still running
    runs = fired(redis)
    per_due = Counter((run.name, round(run.due, 3)) for run in runs)
    assert [key for key, count in per_due.items() if count > 1] == []
    queued = Counter(redis.lrange("rq:queue:default", 0, -1))
    assert [job for job, count in queued.items() if count > 1] == []
    assert len({run.job_id for run in runs}) == len(runs)
    assert {p.pid for p in cluster.alive()} >= set(schedulers)

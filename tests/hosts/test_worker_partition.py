"""A worker host cut off from Redis mid-job: its jobs run again on the other host, its late ends are dropped."""

from __future__ import annotations

from pathlib import Path

import httpx2 as httpx
import pytest
from redis import Redis

from bench.hosts.cluster import Cluster
from bench.hosts.tasks import hold_path, ledger_lines
from tests.support.stack import eventually
from workers.rq_seam.job import TaskJob

pytestmark = pytest.mark.hosts
JOBS = 3
RECOVERY_WAIT = 180  # generous: no timing is asserted here (the bench reports the seconds)


def events(ledger: Path, event: str, host: str) -> set[str]:
    return {token for e, token, h, _ in ledger_lines(ledger) if e == event and h == host}


def test_partitioned_workers_jobs_run_again_elsewhere_and_its_late_ends_are_dropped(
    cluster: Cluster, http: httpx.Client, redis: Redis, tmp_path: Path
) -> None:
    # given: jobs in flight on w1, held there until the test lets them end
    ledger = tmp_path / "ledger.txt"
    hold_path(str(ledger), "w1").touch()
    cluster.start("web", "web")
    first = cluster.start("worker", "w1")
    tokens = [f"job{i}" for i in range(JOBS)]
    body = {"task": "bench.hosts.run", "retry": 1}
    ids = [http.post("/jobs", json={**body, "args": [str(ledger), t]}).json()["id"] for t in tokens]
    assert eventually(lambda: events(ledger, "start", "w1") == set(tokens), timeout=60)

    # when: w1 is cut off; a worker on w2 takes over; then w1 heals and its runs end
    cluster.hosts.partition("w1")
    cluster.start("worker", "w2")
    assert eventually(lambda: events(ledger, "end", "w2") == set(tokens), timeout=RECOVERY_WAIT)
    assert eventually(lambda: all(http.get(f"/jobs/{i}").json()["status"] == "finished" for i in ids), timeout=30)
    cluster.hosts.heal("w1")
    assert eventually(lambda: cluster.reaches_redis("w1"), timeout=60)  # so the late ends do reach Redis
    hold_path(str(ledger), "w1").unlink()
    assert eventually(lambda: events(ledger, "end", "w1") == set(tokens), timeout=60)
    assert eventually(lambda: cluster.log(first).count("late end of run") == JOBS, timeout=60)

    # then: each job ran twice (at least once), but only the rerun's end is recorded
    for job_id in ids:
        job = TaskJob.fetch(job_id, connection=redis)
        assert job.get_status() == "finished"
        assert [result.return_value for result in job.results()] == ["w2"]
    assert [http.get(f"/jobs/{i}").json()["result"] for i in ids] == ["w2"] * JOBS
    assert len(cluster.alive()) == 3  # web, both workers: none exited

"""A worker host's jobs in flight when it is lost: seconds until each runs again on the other host."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
from redis import Redis

from bench.harness.wait import poll_until, wait_until
from bench.hosts.cluster import Cluster
from bench.hosts.faults import PARTITION, heal, inject
from bench.hosts.plan import HostsPlan
from bench.hosts.tasks import hold_path, ledger_lines

LATE_END = "late end of run"


def _hosts_of(ledger: Path, event: str, host: str) -> dict[str, float]:
    return {token: at for e, token, h, at in ledger_lines(ledger) if e == event and h == host}


def _registered(redis: Redis, pid: int) -> bool:
    for key in redis.smembers("rq:workers"):
        if redis.hget(key, "pid") == str(pid).encode():
            return True
    return False


def worker_round(cluster: Cluster, http: httpx.Client, plan: HostsPlan, fault: str, workdir: Path) -> dict[str, Any]:
    ledger = workdir / "ledger.txt"
    hold_path(str(ledger), "w1").touch()
    first = cluster.start("worker", "w1")
    tokens = [f"job{i}" for i in range(plan.jobs)]
    ids = [
        http.post("/jobs", json={"task": "bench.hosts.run", "args": [str(ledger), t], "retry": 1}).json()["id"]
        for t in tokens
    ]
    wait_until(lambda: set(_hosts_of(ledger, "start", "w1")) == set(tokens), plan.startup_timeout, "runs on w1")
    second = cluster.start("worker", "w2")
    redis = cluster.client()
    wait_until(lambda: _registered(redis, second.pid), plan.startup_timeout, "the worker on w2")
    cut = time.time()
    inject(cluster, fault, "w1", first)
    poll_until(lambda: set(_hosts_of(ledger, "start", "w2")) == set(tokens), plan.recovery_cap, "reruns on w2")
    restarted = _hosts_of(ledger, "start", "w2")
    heal(cluster, fault, "w1")
    poll_until(lambda: cluster.reaches_redis("w1"), plan.recovery_cap, "w1 to reach Redis again")
    hold_path(str(ledger), "w1").unlink()
    late_ends_dropped = None
    if fault == PARTITION:
        poll_until(lambda: cluster.log(first).count(LATE_END) >= len(tokens), plan.recovery_cap, "w1's late ends")
        late_ends_dropped = cluster.log(first).count(LATE_END)
    poll_until(lambda: all(http.get(f"/jobs/{i}").json()["status"] == "finished" for i in ids), 60, "jobs to end")
    results = [http.get(f"/jobs/{i}").json().get("result") for i in ids]
    redis.close()
    return {
        "rerun_s": [round(restarted[t] - cut, 3) if t in restarted else None for t in tokens],
        "results": results,
        "late_ends_dropped": late_ends_dropped,
        "alive_after": len(cluster.alive()),
    }

"""The scheduler lock holder lost: seconds until another holds the lock and fires; duplicates after healing."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2 as httpx

from bench.harness.wait import pause, poll_until, wait_until
from bench.hosts.cluster import Cluster
from bench.hosts.faults import heal, inject
from bench.hosts.plan import HostsPlan
from bench.sched.processes import lock_holder
from bench.sched.runs import read_runs


def sched_round(cluster: Cluster, http: httpx.Client, plan: HostsPlan, fault: str, workdir: Path) -> dict[str, Any]:
    processes = {host: cluster.start("scheduler", host) for host in ("w1", "w2")}
    hosts = {process.pid: host for host, process in processes.items()}
    names = [f"tick-{i}" for i in range(plan.schedules)]
    for name in names:
        body = {"task": "bench.hosts.run", "args": [str(workdir / "ledger.txt"), name], "interval": 1}
        http.put(f"/schedules/{name}", json=body).raise_for_status()
    redis = cluster.client()
    wait_until(lambda: lock_holder(redis) in hosts, plan.startup_timeout, "a scheduler to take the lock")
    pause(3.0)  # a few runs fired by the first holder
    holder = lock_holder(redis)
    assert holder is not None
    cut = time.time()
    inject(cluster, fault, hosts[holder], processes[hosts[holder]])
    taken = poll_until(lambda: lock_holder(redis) not in (None, holder), plan.recovery_cap, "the other scheduler")
    lock_s = time.time() - cut if taken else None

    def fired_after() -> list[float]:
        return [r.fired_at for r in read_runs(redis, names) if r.status == "fired" and (r.fired_at or 0) > cut]

    poll_until(lambda: bool(fired_after()), plan.recovery_cap, "a run fired by the other scheduler")
    first_fire = min(fired_after(), default=None)
    pause(3.0)
    heal(cluster, fault, hosts[holder])
    pause(plan.after_heal_seconds)
    runs = [r for r in read_runs(redis, names) if r.status == "fired"]
    duplicates = sum(count - 1 for count in Counter((r.name, round(r.due, 3)) for r in runs).values() if count > 1)
    missed = sum(1 for r in read_runs(redis, names) if r.status == "missed")
    redis.close()
    return {
        "lock_taken_s": None if lock_s is None else round(lock_s, 3),
        "first_fire_s": None if first_fire is None else round(first_fire - cut, 3),
        "fired": len(runs),
        "missed": missed,
        "duplicate_firings": duplicates,
        "alive_after": len(cluster.alive()),
    }

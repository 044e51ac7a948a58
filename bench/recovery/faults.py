"""Redis paused, then killed and restarted from its AOF, under a loop of POST /jobs: answers, latency, lost jobs.

One client submits instant ledger jobs back to back for `fault_load_seconds`
to a `web` process (with a `worker` and a `scheduler` on the same Redis). Redis
runs with `appendonly yes, appendfsync always`; at 2 s it is SIGSTOPped for 3 s,
at 7 s it is killed -9 and at 9 s restarted on the same port and directory.
Goal: only 2xx and 503 answers, and every accepted job's body runs to its end.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

from redis import Redis

from bench.harness.ports import free_port
from bench.harness.processes import Processes
from bench.harness.redis import RedisServer
from bench.harness.wait import pause, poll_until
from bench.recovery.ledger import Runs, read_ledger
from bench.recovery.load import QUEUE, Load
from bench.recovery.plan import RecoveryPlan
from bench.recovery.service import api_client, service_env, wait_for_api

ENDED = {b"finished", b"failed", b"stopped", b"canceled"}


def run_faults(plan: RecoveryPlan, workdir: Path) -> dict[str, Any]:
    server = RedisServer(workdir / "aof", appendonly=True, startup_timeout=plan.startup_timeout)
    with server, Processes(workdir / "logs") as processes:
        try:
            return _under_load(processes, server, plan, workdir)
        finally:
            server.signal(signal.SIGCONT)  # the processes stop first, and they may still write to it


def _under_load(processes: Processes, server: RedisServer, plan: RecoveryPlan, workdir: Path) -> dict[str, Any]:
    port = free_port()
    env = service_env(server.url, PORT=str(port), QUEUES=QUEUE)
    web = processes.procfile("web", env)
    others = [processes.procfile("worker", env), processes.procfile("scheduler", env)]
    probe = api_client(port)
    try:
        wait_for_api(probe, web, plan.startup_timeout)
    finally:
        probe.close()
    ledger = workdir / "ledger-faults.txt"
    with Load(port, ledger) as load:
        events = _inject_faults(server, plan)
    alive = {name: p.poll() is None for name, p in zip(("web", "worker", "scheduler"), [web, *others], strict=True)}
    drained = _drain(server.client, list(load.accepted.values()), plan.drain_timeout)
    losses = _losses(server.client, ledger, load)
    channels = len(server.client.pubsub_channels("rq:pubsub:*"))  # one per live rq worker object expected
    for process in (*others, web):  # workers first, then the web that submits to them
        processes.stop(process)
    return {
        "events": events,
        "answers": dict(load.answers),
        "slowest_answer_s": {k: v[0] for k, v in load.slowest.items()},
        "slowest_answer_sent_at_s": {k: v[1] for k, v in load.slowest.items()},
        "processes_alive_after": alive,
        "worker_pubsub_channels_after": channels,
        "drain_s": drained,
        **losses,
    }


def _inject_faults(server: RedisServer, plan: RecoveryPlan) -> list[dict[str, Any]]:
    """The fault timeline (seconds from the start of the load), ending at `fault_load_seconds`."""
    started = time.monotonic()
    events: list[dict[str, Any]] = []

    def at(offset: float, what: str) -> None:
        pause(started + offset - time.monotonic())
        events.append({"at_s": round(time.monotonic() - started, 2), "event": what})

    at(2.0, "SIGSTOP redis")
    server.signal(signal.SIGSTOP)
    at(5.0, "SIGCONT redis")
    server.signal(signal.SIGCONT)
    at(7.0, "SIGKILL redis")
    server.kill()
    at(9.0, "restart redis (AOF)")
    server.start()
    events.append({"at_s": round(time.monotonic() - started, 2), "event": "redis answers PING"})
    at(plan.fault_load_seconds, "stop load")
    return events


def _statuses(client: Redis, job_ids: list[str]) -> list[bytes | None]:
    pipe = client.pipeline(transaction=False)
    for job_id in job_ids:
        pipe.hget(f"rq:job:{job_id}", "status")
    return list(pipe.execute())


def _drain(client: Redis, job_ids: list[str], timeout: float) -> float | None:
    started = time.monotonic()
    if not poll_until(
        lambda: all(s in ENDED for s in _statuses(client, job_ids)), timeout, "accepted jobs to end", 0.5
    ):
        return None
    return round(time.monotonic() - started, 3)


def _losses(client: Redis, ledger: Path, load: Load) -> dict[str, Any]:
    """Accepted jobs lost (never ran to the end), missing from Redis, or run twice; refused ones that ran."""
    runs = read_ledger(ledger)
    tokens = list(load.accepted)
    statuses = _statuses(client, [load.accepted[t] for t in tokens])
    by_status = Counter((s or b"missing").decode() for s in statuses)
    return {
        "accepted": len(tokens),
        "accepted_by_status_after": dict(by_status),
        "lost_accepted": [load.accepted[t] for t in tokens if runs.get(t, Runs()).ends == 0],
        "accepted_missing_from_redis": by_status.get("missing", 0),
        "accepted_run_more_than_once": sum(1 for t in tokens if len(runs.get(t, Runs()).start_pids) > 1),
        "refused": len(load.refused),
        "refused_but_ran": sum(1 for t in load.refused if runs.get(t, Runs()).ends > 0),
    }

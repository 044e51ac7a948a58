"""The same kill against plain RQ, for context: `rq worker` (forking, default settings) killed -9 mid-job.

Each round has its own queue and two `rq worker` processes; a plain function
job (`rq.Retry(max=3)`) sleeps 5 s in the work horse. The kill is a crash of the
whole worker: SIGKILL to the worker, then at once to its horse (the horse sits in
a process group of its own and would otherwise finish the job as an orphan; the
horse alone would be noticed by its live parent at once). A fresh worker is
started right after. The clock runs until the job starts again or is marked
failed, and gives up at `baseline_cap` seconds: RQ only looks at a dead worker's
job after its heartbeat TTL (90 s here) and at the next 10-minute maintenance pass.
"""

from __future__ import annotations

import os
import random
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from redis import Redis
from rq import Queue, Retry

from bench.recovery_plan import RecoveryPlan
from bench.recovery_procs import (
    ABORT,
    VENV_BIN,
    Aborted,
    Fleet,
    Process,
    job_state,
    parent_pid,
    pause,
    registered_pids,
    service_env,
    wait_for,
)
from bench.recovery_tasks import Runs, plain_sleep, read_ledger
from bench.redis_server import start_redis


def run_baseline(plan: RecoveryPlan, workdir: Path) -> dict[str, Any]:
    """`plan.baseline_rounds` rounds at once, each on its own queue, on a Redis of their own."""
    with Fleet(workdir / "logs") as fleet:
        redis = start_redis(fleet.stack, workdir / "redis", plan.startup_timeout)
        env = service_env(redis.url)
        with ThreadPoolExecutor(max_workers=plan.baseline_rounds, thread_name_prefix="plain") as pool:
            work = [(n, fleet, env, redis.client, redis.url, plan, workdir) for n in range(plan.baseline_rounds)]
            rounds = list(pool.map(lambda args: _round(*args), work))
    return {"worker": "rq worker (rq.Worker, forking, default settings)", "cap_s": plan.baseline_cap, "rounds": rounds}


def _rq_worker(fleet: Fleet, env: dict[str, str], url: str, queue: str) -> Process:
    return fleet.start("rq-worker", [str(VENV_BIN / "rq"), "worker", "--url", url, queue], env)


def _round(
    number: int, fleet: Fleet, env: dict[str, str], client: Redis, url: str, plan: RecoveryPlan, workdir: Path
) -> dict[str, Any]:
    queue_name = f"plain{number}"
    ledger = workdir / f"ledger-plain{number}.txt"
    workers = {p.pid: p for p in (_rq_worker(fleet, env, url, queue_name) for _ in range(2))}
    wait_for(lambda: registered_pids(client, queue_name) >= set(workers), plan.startup_timeout, "rq workers")
    token = f"plain{number}-{uuid.uuid4().hex[:8]}"
    queue = Queue(queue_name, connection=client)
    job = queue.enqueue(plain_sleep, str(ledger), token, plan.job_seconds, retry=Retry(max=3))
    horse = _wait_body_started(ledger, token, plan.startup_timeout)
    worker_pid = parent_pid(horse)
    victim = workers.get(worker_pid or -1)
    if victim is None:
        raise RuntimeError(f"work horse {horse} is not a child of one of our rq workers")
    _, victim_name = job_state(client, job.id)
    pause(random.uniform(0.3, plan.job_seconds - 2.0))
    os.kill(victim.pid, signal.SIGKILL)
    os.kill(horse, signal.SIGKILL)
    killed_at = time.monotonic()
    _rq_worker(fleet, env, url, queue_name)
    victim.wait(timeout=10)
    outcome, seconds = _wait_outcome(client, job.id, victim_name, ledger, token, killed_at, plan.baseline_cap)
    return {"job_id": job.id, "outcome": outcome, "seconds": seconds, "status_at_end": job_state(client, job.id)[0]}


def _wait_body_started(ledger: Path, token: str, timeout: float) -> int:
    pids: list[int] = []

    def started() -> bool:
        pids[:] = read_ledger(ledger).get(token, Runs()).start_pids
        return bool(pids)

    wait_for(started, timeout, f"plain job {token} to start")
    return pids[0]


def _wait_outcome(
    client: Redis, job_id: str, victim: str | None, ledger: Path, token: str, killed_at: float, cap: float
) -> tuple[str, float | None]:
    """('started again' | 'failed' | 'not recovered within the cap', seconds from the kill or None)."""
    while time.monotonic() - killed_at < cap:
        if ABORT.is_set():
            raise Aborted("stopped while waiting for plain RQ")
        status, worker = job_state(client, job_id)
        elapsed = round(time.monotonic() - killed_at, 3)
        if status == "failed":
            return "failed", elapsed
        if (status == "started" and worker != victim) or len(read_ledger(ledger).get(token, Runs()).start_pids) > 1:
            return "started again", elapsed
        time.sleep(0.25)
    return "not recovered within the cap", None

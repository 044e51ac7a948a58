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

from bench.harness.proc_info import parent_pid
from bench.harness.processes import Process, Processes, venv_script
from bench.harness.redis import RedisServer
from bench.harness.wait import pause, poll_until, wait_until
from bench.recovery.ledger import Runs, plain_sleep, read_ledger
from bench.recovery.plan import RecoveryPlan
from bench.recovery.service import job_state, registered_pids, service_env


def run_baseline(plan: RecoveryPlan, workdir: Path) -> dict[str, Any]:
    """`plan.baseline_rounds` rounds at once, each on its own queue, on a Redis of their own."""
    with (
        RedisServer(workdir / "redis", startup_timeout=plan.startup_timeout) as redis,
        Processes(workdir / "logs") as processes,
    ):
        env = service_env(redis.url)
        with ThreadPoolExecutor(max_workers=plan.baseline_rounds, thread_name_prefix="plain") as pool:
            work = [(n, processes, env, redis.client, redis.url, plan, workdir) for n in range(plan.baseline_rounds)]
            rounds = list(pool.map(lambda args: _round(*args), work))
    return {"worker": "rq worker (rq.Worker, forking, default settings)", "cap_s": plan.baseline_cap, "rounds": rounds}


def _rq_worker(processes: Processes, env: dict[str, str], url: str, queue: str) -> Process:
    return processes.start("rq-worker", [venv_script("rq"), "worker", "--url", url, queue], env)


def _round(
    number: int, processes: Processes, env: dict[str, str], client: Redis, url: str, plan: RecoveryPlan, workdir: Path
) -> dict[str, Any]:
    queue_name = f"plain{number}"
    ledger = workdir / f"ledger-plain{number}.txt"
    workers = {p.pid: p for p in (_rq_worker(processes, env, url, queue_name) for _ in range(2))}
    wait_until(lambda: registered_pids(client, queue_name) >= set(workers), plan.startup_timeout, "rq workers")
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
    _rq_worker(processes, env, url, queue_name)
    victim.wait(timeout=10)
    outcome, seconds = _wait_outcome(client, job.id, victim_name, ledger, token, killed_at, plan.baseline_cap)
    return {"job_id": job.id, "outcome": outcome, "seconds": seconds, "status_at_end": job_state(client, job.id)[0]}


def _wait_body_started(ledger: Path, token: str, timeout: float) -> int:
    pids: list[int] = []

    def started() -> bool:
        pids[:] = read_ledger(ledger).get(token, Runs()).start_pids
        return bool(pids)

    wait_until(started, timeout, f"plain job {token} to start")
    return pids[0]


def _wait_outcome(
    client: Redis, job_id: str, victim: str | None, ledger: Path, token: str, killed_at: float, cap: float
) -> tuple[str, float | None]:
    """('started again' | 'failed' | 'not recovered within the cap', seconds from the kill or None)."""
    outcome: list[str] = []

    def rerun_or_failed() -> bool:
        status, worker = job_state(client, job_id)
        if status == "failed":
            outcome.append("failed")
        elif (status == "started" and worker != victim) or len(read_ledger(ledger).get(token, Runs()).start_pids) > 1:
            outcome.append("started again")
        return bool(outcome)

    if not poll_until(rerun_or_failed, max(0.0, killed_at + cap - time.monotonic()), "plain RQ to recover", 0.25):
        return "not recovered within the cap", None
    return outcome[0], round(time.monotonic() - killed_at, 3)

"""SIGTERM -> exit, per Procfile process: web, an idle worker, a worker mid a short job and mid a long one, scheduler.

The worker and scheduler cases run at the same time (each on its own queue);
the web process, which they use to submit jobs, is stopped last. Every process
runs with the service's default settings (so WORKER_SHUTDOWN_GRACE is 25 s).
"""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2 as httpx
from redis import Redis

from bench.harness.processes import Process, Processes
from bench.harness.wait import pause, wait_until
from bench.recovery.plan import RecoveryPlan
from bench.recovery.service import job_state, registered_pids, service_env, web_on_private_redis
from workers.core import keys


def run_shutdown(plan: RecoveryPlan, workdir: Path) -> dict[str, Any]:
    with web_on_private_redis(workdir, plan.startup_timeout) as stack:
        case = _Cases(stack.processes, stack.redis.client, stack.redis.url, stack.http, plan)
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="shutdown") as pool:
            futures = {
                "worker, idle": pool.submit(case.idle_worker),
                "worker, mid a 2 s job": pool.submit(case.busy_worker, 2.0, "finished"),
                "worker, mid a 120 s job (grace 25 s)": pool.submit(case.busy_worker, 120.0, "queued"),
                "scheduler": pool.submit(case.scheduler),
            }
            results = {name: future.result() for name, future in futures.items()}
        seconds, code = _terminate_timed(stack.processes, stack.web, plan.stop_timeout)
        graceful = code in (0, -signal.SIGTERM) and "Finished server process" in stack.processes.log_text(stack.web)
        check = "graceful (uvicorn re-raises SIGTERM after its shutdown)" if graceful else "not graceful"
        results = {"web": _row(seconds, code, check, graceful), **results}
    return {"processes": results}


def _terminate_timed(processes: Processes, process: Process, timeout: float) -> tuple[float, int | None]:
    """Seconds from SIGTERM to exit (SIGKILL after `timeout`: exit code -9), and the exit code."""
    seconds = processes.stop(process, grace=timeout)
    return seconds, process.returncode


def _row(seconds: float, code: int | None, check: str, ok: bool) -> dict[str, Any]:
    return {"seconds": round(seconds, 3), "exit_code": code, "check": check, "ok": ok}


class _Cases:
    """One method per measured process; each starts it, gets it to the state, then times SIGTERM -> exit."""

    def __init__(self, processes: Processes, client: Redis, url: str, http: httpx.Client, plan: RecoveryPlan) -> None:
        self.processes, self.client, self.url, self.http, self.plan = processes, client, url, http, plan

    def idle_worker(self) -> dict[str, Any]:
        worker = self.processes.procfile("worker", service_env(self.url, QUEUES="sd-idle"))
        wait_until(lambda: worker.pid in registered_pids(self.client, "sd-idle"), self.plan.startup_timeout, "worker")
        pause(1.0)  # into its dequeue loop
        seconds, code = _terminate_timed(self.processes, worker, self.plan.stop_timeout)
        return _row(seconds, code, "no job", code == 0)

    def busy_worker(self, job_seconds: float, expected: str) -> dict[str, Any]:
        queue = f"sd-{int(job_seconds)}s"
        worker = self.processes.procfile("worker", service_env(self.url, QUEUES=queue))
        body = {"task": "examples.sleep", "kwargs": {"seconds": job_seconds}, "queue": queue}
        answer = self.http.post("/jobs", json=body)
        if answer.status_code != 202:
            raise RuntimeError(f"POST /jobs answered {answer.status_code}: {answer.text[:200]}")
        job_id = str(answer.json()["id"])
        wait_until(lambda: job_state(self.client, job_id)[0] == "started", self.plan.startup_timeout, "job start")
        pause(0.2)
        seconds, code = _terminate_timed(self.processes, worker, self.plan.stop_timeout)
        status = job_state(self.client, job_id)[0]
        return _row(seconds, code, f"job {status} afterwards (expected {expected})", status == expected)

    def scheduler(self) -> dict[str, Any]:
        scheduler = self.processes.procfile("scheduler", service_env(self.url))
        wait_until(lambda: self.client.get(keys.SCHEDULER_LOCK) is not None, self.plan.startup_timeout, "the lock")
        seconds, code = _terminate_timed(self.processes, scheduler, self.plan.stop_timeout)
        released = self.client.get(keys.SCHEDULER_LOCK) is None
        return _row(seconds, code, "lock released" if released else "lock left behind", released)

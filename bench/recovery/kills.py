"""kill -9 of our worker running 8 jobs, many times: how long until all 8 run again, is any run lost or repeated.

Kills run in independent lanes at once (one queue and its workers each, all on
one Redis and one `web`), so 20 kills fit in a few minutes. In each round of a
lane: worker A, alone on the lane's queue, takes 8 jobs of 5 s (POSTed with retry
max 3, backoff 0); once all 8 bodies have started in A's pid (ledger lines: the
worker runs the jobs itself), worker B is started and waits idle, and A gets
SIGKILL after a random 0.3-3 s; the clock runs from the kill until the ledger
shows every one of the 8 bodies started again in another process. B is the next
round's A.
"""

from __future__ import annotations

import os
import random
import re
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
from redis import Redis

from bench.harness.processes import Process, Processes
from bench.harness.wait import Stopped, pause, poll_until, wait_until
from bench.recovery.ledger import Runs, read_ledger
from bench.recovery.plan import RecoveryPlan
from bench.recovery.service import job_state, registered_pids, service_env, web_on_private_redis

ENDED = {"finished", "failed", "stopped", "canceled"}
POLL = 0.02
JOBS_PER_KILL = 8  # the worker's default WORKER_CONCURRENCY: it runs them all at once
ORPHAN_GRACE = 5.0  # seconds after a kill that a leftover process of the worker counts as an orphan
SCHEDULER_STARTED = re.compile(r"Scheduler for .* started with PID (\d+)")


@dataclass
class Lane:
    """One queue (with a higher-priority one above it), its workers, its jobs and its ledger file."""

    index: int
    processes: Processes
    env: dict[str, str]
    redis: Redis
    http: httpx.Client
    ledger: Path
    workers: dict[int, Process] = field(default_factory=dict)
    jobs: list[tuple[str, str]] = field(default_factory=list)  # (ledger token, job id)

    @property
    def queue(self) -> str:
        return f"rec{self.index}"

    def start_worker(self) -> None:
        process = self.processes.procfile("worker", self.env)
        self.workers[process.pid] = process

    def run(self, plan: RecoveryPlan) -> list[dict[str, Any]]:
        """Every round of this lane; an error ends the lane and is recorded as its last round."""
        rounds: list[dict[str, Any]] = []
        for number in range(plan.rounds_per_lane):
            try:
                self._wait_idle(plan.recovery_cap)
                rounds.append(self._kill_round(number, plan))
            except (TimeoutError, RuntimeError, KeyError, httpx.HTTPError) as error:
                if isinstance(error, Stopped):
                    raise
                rounds.append({"lane": self.index, "round": number, "outcome": f"error: {error}"})
                break
        return rounds

    def _wait_idle(self, timeout: float) -> None:
        """The lane's one live worker registered and every job of the last round ended."""
        last = [job_id for _, job_id in self.jobs[-JOBS_PER_KILL:]]

        def idle() -> bool:
            if any(job_state(self.redis, job_id)[0] not in ENDED for job_id in last):
                return False
            return registered_pids(self.redis, self.queue) >= set(self.workers)

        wait_until(idle, timeout, f"lane {self.index} to be idle")

    def _kill_round(self, number: int, plan: RecoveryPlan) -> dict[str, Any]:
        tokens = [f"lane{self.index}-round{number}-{i}-{uuid.uuid4().hex[:8]}" for i in range(JOBS_PER_KILL)]
        job_ids = [self._submit(token, plan.job_seconds) for token in tokens]
        pid = self._wait_bodies_started(tokens, plan.startup_timeout)
        body_started = time.monotonic()
        victim = self.workers.pop(pid, None)
        if victim is None:
            raise RuntimeError(f"lane {self.index}'s jobs run in pid {pid}, not one of its workers")
        self.start_worker()  # the rescuer, idle (and registered) before the kill
        wait_until(lambda: registered_pids(self.redis, self.queue) >= set(self.workers), plan.startup_timeout, "B")
        pause(random.uniform(0.3, 3.0) - (time.monotonic() - body_started))
        if any(job_state(self.redis, job_id)[0] != "started" for job_id in job_ids):
            raise RuntimeError(f"lane {self.index}: a job was no longer started when its worker was to be killed")
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        recovered, outcome = self._wait_reruns(tokens, pid, killed_at, plan.recovery_cap)
        victim.wait(timeout=10)
        schedulers = {int(p) for p in SCHEDULER_STARTED.findall(self.processes.log_text(victim))}
        # Its rq scheduler child gets SIGTERM when the worker dies and needs a moment to stop:
        # an orphan is a process of the group still alive ORPHAN_GRACE after the kill.
        pause(killed_at + ORPHAN_GRACE - time.monotonic())
        orphans = self.processes.reap_group(pid)
        return {
            "lane": self.index,
            "round": number,
            "job_ids": job_ids,
            "killed_after_s": round(killed_at - body_started, 3),
            "recovery_s": recovered,
            "outcome": outcome,
            "orphans_left_by_kill": len(orphans),
            "orphans_were_rq_scheduler": bool(orphans) and set(orphans) <= schedulers,
        }

    def _submit(self, token: str, seconds: float) -> str:
        body = {
            "task": "bench.recovery.sleep",
            "kwargs": {"ledger": str(self.ledger), "token": token, "seconds": seconds},
            "queue": self.queue,
            "retry": {"max": 3, "backoff": 0},
        }
        answer = self.http.post("/jobs", json=body)
        if answer.status_code != 202:
            raise RuntimeError(f"POST /jobs answered {answer.status_code}: {answer.text[:200]}")
        job_id = str(answer.json()["id"])
        self.jobs.append((token, job_id))
        return job_id

    def _wait_bodies_started(self, tokens: list[str], timeout: float) -> int:
        """The one pid that wrote every token's first ledger line (our worker runs the bodies itself)."""
        pids: set[int] = set()

        def started() -> bool:
            ledger = read_ledger(self.ledger)
            firsts = [ledger.get(token, Runs()).start_pids[:1] for token in tokens]
            pids.clear()
            pids.update(p for first in firsts for p in first)
            return all(firsts)

        wait_until(started, timeout, f"lane {self.index}'s {len(tokens)} jobs to start")
        if len(pids) != 1:
            raise RuntimeError(f"lane {self.index}'s jobs started in {len(pids)} processes, not one")
        return pids.pop()

    def _wait_reruns(self, tokens: list[str], victim: int, killed_at: float, cap: float) -> tuple[float | None, str]:
        """(seconds from the kill until every body started again in another process, or None; outcome)."""

        def all_again() -> bool:
            ledger = read_ledger(self.ledger)
            return all(any(p != victim for p in ledger.get(t, Runs()).start_pids) for t in tokens)

        if not poll_until(all_again, max(0.0, killed_at + cap - time.monotonic()), "the reruns", POLL):
            return None, f"not all {len(tokens)} started again within {cap:.0f}s"
        return round(time.monotonic() - killed_at, 3), f"all {len(tokens)} started again"


def run_kills(plan: RecoveryPlan, workdir: Path) -> dict[str, Any]:
    """All lanes at once on one Redis and one web process; then wait for every job to end and read the ledgers."""
    with web_on_private_redis(workdir, plan.startup_timeout) as stack:
        redis, http = stack.redis, stack.http
        lanes = [_lane(index, stack.processes, redis.client, redis.url, http, workdir) for index in range(plan.lanes)]
        with ThreadPoolExecutor(max_workers=plan.lanes, thread_name_prefix="lane") as pool:
            rounds = [r for lane_rounds in pool.map(lambda lane: lane.run(plan), lanes) for r in lane_rounds]
        drained = _drain(redis.client, lanes, plan.drain_timeout)
        return {"rounds": rounds, "jobs": _tally(redis.client, lanes), "drain_s": drained}


def _lane(index: int, processes: Processes, client: Redis, url: str, http: httpx.Client, workdir: Path) -> Lane:
    env = service_env(url, QUEUES=f"rec{index}-high,rec{index}")
    lane = Lane(index, processes, env, client, http, workdir / f"ledger-lane{index}.txt")
    lane.start_worker()
    return lane


def _drain(client: Redis, lanes: list[Lane], timeout: float) -> float | None:
    """Seconds until every job has ended (None when some had not after `timeout`)."""
    started = time.monotonic()
    job_ids = [job_id for lane in lanes for _, job_id in lane.jobs]
    try:
        wait_until(lambda: all(job_state(client, j)[0] in ENDED for j in job_ids), timeout, "every job to end", 0.2)
    except TimeoutError:
        return None
    return round(time.monotonic() - started, 3)


def _tally(client: Redis, lanes: list[Lane]) -> dict[str, Any]:
    """Lost: no run of the body ever ended. Duplicated: the body started more than once after the killed run."""
    statuses: dict[str, int] = {}
    starts_per_job: dict[int, int] = {}
    lost, duplicated = [], []
    for lane in lanes:
        ledger = read_ledger(lane.ledger)
        for token, job_id in lane.jobs:
            status = job_state(client, job_id)[0] or "expired"
            runs = ledger.get(token, Runs())
            statuses[status] = statuses.get(status, 0) + 1
            starts = len(runs.start_pids)
            starts_per_job[starts] = starts_per_job.get(starts, 0) + 1
            if runs.ends == 0:
                lost.append(job_id)
            if starts > 2 or runs.ends > 1:
                duplicated.append(job_id)
    total = sum(len(lane.jobs) for lane in lanes)
    return {
        "submitted": total,
        "statuses": statuses,
        "body_starts_per_job": {str(k): v for k, v in sorted(starts_per_job.items())},
        "lost": lost,
        "duplicated": duplicated,
    }

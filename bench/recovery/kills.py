"""kill -9 of our worker mid-job, many times: how long until the job runs again, and is any run lost or repeated.

Kills run in independent lanes at once (one queue and its workers each, all on
one Redis and one `web`), so 25 kills of ~25 s fit in under three minutes. In each
round of a lane: two idle workers wait; a 5 s job is POSTed (retry max 3, backoff
0); once its body has started on worker A (its ledger line names A's pid, since
the worker runs the job itself), A gets SIGKILL after a random 0.3-3 s and a
fresh worker is started at once; the clock runs from the kill until the job hash
says `started` again under another worker's name.
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
        """Both live workers registered and the last job ended: at least one idle worker besides A."""
        last = self.jobs[-1][1] if self.jobs else None

        def idle() -> bool:
            if last is not None and job_state(self.redis, last)[0] not in ENDED:
                return False
            return registered_pids(self.redis, self.queue) >= set(self.workers)

        wait_until(idle, timeout, f"lane {self.index} to be idle")

    def _kill_round(self, number: int, plan: RecoveryPlan) -> dict[str, Any]:
        token = f"lane{self.index}-round{number}-{uuid.uuid4().hex[:8]}"
        job_id = self._submit(token, plan.job_seconds)
        pid = self._wait_body_started(token, plan.startup_timeout)
        body_started = time.monotonic()
        victim = self.workers.pop(pid, None)
        if victim is None:
            raise RuntimeError(f"job {job_id} runs in pid {pid}, not one of lane {self.index}'s workers")
        _, victim_name = job_state(self.redis, job_id)
        pause(random.uniform(0.3, plan.job_seconds - 2.0))
        if job_state(self.redis, job_id)[0] != "started":
            raise RuntimeError(f"job {job_id} was no longer started when its worker was to be killed")
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        self.start_worker()  # the replacement; the other worker is idle already
        victim.wait(timeout=10)
        schedulers = {int(p) for p in SCHEDULER_STARTED.findall(self.processes.log_text(victim))}
        # Its rq scheduler child gets SIGTERM when the worker dies and needs a moment to stop:
        # an orphan is a process of the group still alive ORPHAN_GRACE after the kill. (No rerun
        # can start meanwhile: the job's registry entry lives HEARTBEAT_TTL, 15 s, after the kill.)
        pause(killed_at + ORPHAN_GRACE - time.monotonic())
        orphans = self.processes.reap_group(pid)
        recovered, outcome = self._wait_rerun(job_id, victim_name, killed_at, plan.recovery_cap)
        return {
            "lane": self.index,
            "round": number,
            "job_id": job_id,
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

    def _wait_body_started(self, token: str, timeout: float) -> int:
        """The pid that wrote the token's first ledger line (our worker runs the body itself)."""
        pids: list[int] = []

        def started() -> bool:
            pids[:] = read_ledger(self.ledger).get(token, Runs()).start_pids
            return bool(pids)

        wait_until(started, timeout, f"job {token} to start")
        return pids[0]

    def _wait_rerun(self, job_id: str, victim: str | None, killed_at: float, cap: float) -> tuple[float | None, str]:
        """(seconds from the kill until `started` under another worker's name, or None; outcome)."""
        outcome: list[str] = []

        def rerun_or_end() -> bool:
            status, worker = job_state(self.redis, job_id)
            if status == "started" and worker != victim:
                outcome.append("started again")
            elif status in ENDED:
                outcome.append(f"ended {status} without a rerun")
            return bool(outcome)

        if not poll_until(rerun_or_end, max(0.0, killed_at + cap - time.monotonic()), "a rerun", POLL):
            return None, f"not started again within {cap:.0f}s"
        if outcome[0] == "started again":
            return round(time.monotonic() - killed_at, 3), outcome[0]
        return None, outcome[0]


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

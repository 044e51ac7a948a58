"""How many jobs each contender of the worker benchmark drains, and how long it may take."""

from __future__ import annotations

from dataclasses import dataclass

from bench.harness.plan import Plan, Plans


@dataclass(frozen=True, kw_only=True)
class WorkerPlan(Plan):
    simple_jobs: int  # no-op jobs for ours, rq.SimpleWorker and dramatiq
    noop_rounds: int  # pairs of no-op drains, ours and dramatiq's, in turns
    fork_jobs: int  # for rq.Worker, which forks per job and is several times slower (0: skip it and the x1 runs)
    sleep_jobs: int  # 50 ms jobs for ours, one process at `sleep_concurrency`
    simple_sleep_jobs: int  # 50 ms jobs for rq.SimpleWorker (20/s at best)
    sleep_concurrency: int
    drain_timeout: float
    latency_jobs: int  # no-op jobs submitted at `latency_rate` per second to one idle worker
    latency_rate: float = 50.0


PLANS = Plans(
    quick=WorkerPlan(
        name="quick",
        simple_jobs=1000,
        noop_rounds=1,
        fork_jobs=0,
        sleep_jobs=400,
        simple_sleep_jobs=40,
        sleep_concurrency=16,
        drain_timeout=60.0,
        latency_jobs=200,
    ),
    full=WorkerPlan(
        name="full",
        simple_jobs=5000,
        noop_rounds=3,
        fork_jobs=600,
        sleep_jobs=2000,
        simple_sleep_jobs=200,
        sleep_concurrency=16,
        drain_timeout=120.0,
        latency_jobs=1000,
    ),
)

"""How many jobs each contender of the worker benchmark drains, and how long it may take."""

from __future__ import annotations

from dataclasses import dataclass

from bench.harness.plan import Plan, Plans


@dataclass(frozen=True, kw_only=True)
class WorkerPlan(Plan):
    simple_jobs: int  # for ours and rq.SimpleWorker
    fork_jobs: int  # for rq.Worker, which forks per job and is several times slower
    drain_timeout: float


PLANS = Plans(
    quick=WorkerPlan(name="quick", simple_jobs=800, fork_jobs=150, drain_timeout=60.0),
    full=WorkerPlan(name="full", simple_jobs=3000, fork_jobs=600, drain_timeout=120.0),
)

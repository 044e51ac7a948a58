"""Sizes and time limits of the failover benchmark: one place, so `--quick` is one switch."""

from __future__ import annotations

from dataclasses import dataclass

from bench.harness.plan import Plan, Plans


@dataclass(frozen=True, kw_only=True)
class FailoverPlan(Plan):
    """One round: load for `before_s`, kill -9 the master, load for `after_s` more, then drain and count."""

    rounds: int  # per scenario (with REDIS_MIN_REPLICAS_ACK=1, and without)
    rate: float = 100.0  # submissions per second, paced
    before_s: float = 5.0
    after_s: float = 10.0
    running_jobs: int = 8  # sleeping jobs started just before the kill: the 'running jobs' of the scenario
    job_seconds: float = 2.0
    failover_timeout: float = 30.0
    drain_timeout: float = 120.0
    down_after_ms: int = 1000  # sentinel down-after-milliseconds
    failover_timeout_ms: int = 3000


PLANS = Plans(
    quick=FailoverPlan(name="quick", rounds=1, before_s=3.0, after_s=6.0),
    full=FailoverPlan(name="full", rounds=3),
)

"""Sizes and time limits of the recovery benchmark: one place, so `--quick` is one switch."""

from __future__ import annotations

from dataclasses import dataclass

from bench.harness.plan import Plan, Plans


@dataclass(frozen=True, kw_only=True)
class RecoveryPlan(Plan):
    """Every wait in the recovery benchmark is bounded by one of these.

    Kills run in `lanes` independent lanes (a queue and its workers each) at the
    same time, `rounds_per_lane` kills each (8 jobs in flight per kill).
    """

    lanes: int
    rounds_per_lane: int
    baseline_rounds: int
    baseline_cap: float = 120.0  # plain RQ notices a dead worker after ~10 min: stop looking here
    job_seconds: float = 8.0
    recovery_cap: float = 90.0  # a kill not recovered by then counts as not recovered
    drain_timeout: float = 90.0
    startup_timeout: float = 30.0
    stop_timeout: float = 40.0  # SIGTERM -> exit; SIGKILL after this
    fault_load_seconds: float = 15.0

    @property
    def kills(self) -> int:
        return self.lanes * self.rounds_per_lane


PLANS = Plans(
    quick=RecoveryPlan(name="quick", lanes=5, rounds_per_lane=1, baseline_rounds=1),
    full=RecoveryPlan(name="full", lanes=5, rounds_per_lane=4, baseline_rounds=2),
)

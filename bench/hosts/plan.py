"""Sizes and time limits of the hosts benchmark: one place, so `--quick` is one switch."""

from __future__ import annotations

from dataclasses import dataclass

from bench.harness.plan import Plan, Plans


@dataclass(frozen=True, kw_only=True)
class HostsPlan(Plan):
    """Each scenario runs `rounds` times per fault (a partition, and kill -9 as the baseline), each on fresh hosts."""

    rounds: int
    jobs: int = 3  # in flight on the worker host when it is cut off
    schedules: int = 3  # interval 1 s
    recovery_cap: float = 120.0  # a round not recovered by then counts as not recovered
    after_heal_seconds: float = 5.0  # how long the healed host runs before duplicates are counted
    client_timeout: float = 2.0  # the outside clients' own timeout
    startup_timeout: float = 60.0


PLANS = Plans(quick=HostsPlan(name="quick", rounds=1), full=HostsPlan(name="full", rounds=3))

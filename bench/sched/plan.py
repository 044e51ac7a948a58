"""Sizes and time limits of the scheduler benchmark, so `--quick` is one switch.

In the full plan the side-by-side window must be long enough for plain
rq-scheduler's default 60 s poll to fire 2-3 times, and the 1 s drift schedule
runs for the whole benchmark and then alone until it has made 1,000 runs (about
17 minutes in all); `--quick` reads whatever runs it made meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.harness.plan import Plan, Plans


@dataclass(frozen=True)
class Scale:
    """One lateness run: `count` schedules every 60 s, spread over the minute."""

    count: int
    window: float  # seconds of due times that are measured
    worker: bool  # run a worker and measure job start lateness too


@dataclass(frozen=True, kw_only=True)
class SchedPlan(Plan):
    """Every wait in the scheduler benchmark is bounded by one of these."""

    side_by_side_seconds: float  # ours, rqscheduler -i 1 and rq cron, one 1 s schedule each, at once
    default_rqscheduler: bool  # also plain rqscheduler with its default 60 s poll (needs a 2-3 min window)
    scales: tuple[Scale, ...]
    failover_kills: int
    failover_schedules: int
    failover_hold_seconds: float  # how long a new lock holder runs before it is killed in turn
    catch_up_timeout: float  # after a window, how long the scheduler may take to fire what was due in it
    drain_timeout: float  # after a window, how long the worker may take to start what was fired
    drift_runs: int  # the drift schedule's runs to wait for at the end (0: read what it made meanwhile)
    herd_schedules: int  # cron schedules on one expression, all due at one minute boundary
    memory_schedules: int  # schedules fired and finished until their kept runs are in steady state
    interval: float = 60.0  # the big counts: every 60 s, spread uniformly over the minute
    settle_seconds: float = 3.0  # from the scheduler holding its lock to the start of a window


FULL = SchedPlan(
    name="full",
    side_by_side_seconds=150.0,
    default_rqscheduler=True,
    scales=(
        Scale(1_000, 30.0, True),
        Scale(10_000, 30.0, False),  # the scheduler alone: no worker competing for the CPUs
        Scale(10_000, 60.0, True),
        Scale(100_000, 60.0, False),
    ),
    failover_kills=6,
    failover_schedules=200,
    failover_hold_seconds=4.0,
    catch_up_timeout=70.0,
    drain_timeout=60.0,
    drift_runs=1_000,
    herd_schedules=10_000,
    memory_schedules=5_000,
)

QUICK = SchedPlan(
    name="quick",
    side_by_side_seconds=20.0,
    default_rqscheduler=False,
    scales=(Scale(1_000, 10.0, True), Scale(10_000, 15.0, True), Scale(100_000, 15.0, False)),
    failover_kills=3,
    failover_schedules=200,
    failover_hold_seconds=2.0,
    catch_up_timeout=20.0,
    drain_timeout=20.0,
    drift_runs=0,
    herd_schedules=10_000,  # the figure the goal is stated for: a few seconds even in quick
    memory_schedules=1_000,
)

PLANS = Plans(quick=QUICK, full=FULL)

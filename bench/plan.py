"""How long and how big each benchmark is: one place, so `--quick` is one switch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    """Sizes and time limits of one benchmark run.

    Every wait in the suite is bounded by one of these, so a stuck process
    ends the run with an error instead of hanging it.
    """

    name: str
    http_seconds: int
    http_rounds: int
    http_warmup_seconds: int
    wrk_threads: int
    wrk_connections: int
    simple_jobs: int
    fork_jobs: int
    drain_timeout: float
    startup_timeout: float = 20.0


FULL = Plan(
    name="full",
    http_seconds=10,
    http_rounds=2,
    http_warmup_seconds=2,
    wrk_threads=2,
    wrk_connections=32,
    simple_jobs=3000,
    fork_jobs=600,
    drain_timeout=120.0,
)

QUICK = Plan(
    name="quick",
    http_seconds=3,
    http_rounds=1,
    http_warmup_seconds=1,
    wrk_threads=2,
    wrk_connections=32,
    simple_jobs=800,
    fork_jobs=150,
    drain_timeout=60.0,
)

"""How long and how hard the HTTP benchmark drives the server."""

from __future__ import annotations

from dataclasses import dataclass

from bench.harness.plan import Plan, Plans


@dataclass(frozen=True, kw_only=True)
class HttpPlan(Plan):
    http_seconds: int
    http_rounds: int
    http_warmup_seconds: int
    wrk_threads: int = 2
    wrk_connections: int = 32
    long_poll_waiters: int = 500
    latency_rounds: int = 3
    batch_rounds: int = 5


PLANS = Plans(
    quick=HttpPlan(
        name="quick", http_seconds=3, http_rounds=1, http_warmup_seconds=1, batch_rounds=3, latency_rounds=2
    ),
    full=HttpPlan(name="full", http_seconds=10, http_rounds=2, http_warmup_seconds=2),
)

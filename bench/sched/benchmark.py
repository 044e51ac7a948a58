"""`python -m bench sched [--quick]`: our scheduler against plain rq-scheduler and RQ cron.

One private redis-server (free port, no persistence) holds every contender,
each on its own db: 0 our 1 s drift schedule (alive for the whole run), 1-3
the baselines, 4 and up the 1k/10k/100k lateness runs, 13 the steady-state memory run, 14 the
cron herd, 15 the failover run. `--phases` picks some of them (`--counts` some lateness runs). Phases
run one after another so the heavy ones do not overlap; a phase that fails is
reported and the others still run. Every process started is stopped at the end,
on error too (Processes). Figures go to bench/results/sched.json (and
`python -m bench sched` prints them with `bench.sched.report.sched_table`).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

from bench.harness.environment import describe_environment, load_average
from bench.harness.processes import Processes
from bench.harness.redis import RedisServer
from bench.harness.report import write_json
from bench.harness.runner import run_part
from bench.sched.drift import DriftRun
from bench.sched.failover import run_failover
from bench.sched.herd import run_herd
from bench.sched.memory import run_memory
from bench.sched.plan import SchedPlan
from bench.sched.scale import run_scale
from bench.sched.side import run_side_by_side
from workers.tasks.registry import load_task_modules

RESULTS = Path(__file__).resolve().parents[1] / "results" / "sched.json"
DB_DRIFT, DB_SCALE_FIRST, DB_MEMORY, DB_HERD, DB_FAILOVER = 0, 4, 13, 14, 15  # lateness runs: dbs 4, 5, ...


PHASES = ("side", "scales", "herd", "failover", "memory", "drift")


def run(
    plan: SchedPlan, workdir: Path, phases: tuple[str, ...] = PHASES, counts: tuple[int, ...] = ()
) -> dict[str, Any]:
    """Run the phases asked for (all by default; `counts`: only the lateness runs of these sizes)."""
    load_task_modules([])  # the built-in tasks, so `upsert` validates examples.noop
    started, load_at_start = time.time(), load_average()
    result: dict[str, Any] = {"plan": asdict(plan), "environment": describe_environment()}
    with (
        RedisServer(workdir / "redis-sched", startup_timeout=plan.startup_timeout) as redis,
        Processes(workdir / "logs") as processes,
    ):
        result.update(_phases(processes, redis, plan, phases, counts))
        redis.flush()
    result.update(
        seconds=round(time.time() - started, 1),
        load_average_at_start=load_at_start,
        load_average_at_end=load_average(),
        command=" ".join([sys.executable, "-m", "bench", *sys.argv[1:]]),
        cwd=os.getcwd(),
    )
    write_json(RESULTS, result)
    print(f"scheduler figures: {RESULTS}", flush=True)
    return result


def _phases(
    processes: Processes, redis: RedisServer, plan: SchedPlan, phases: tuple[str, ...], counts: tuple[int, ...]
) -> dict[str, Any]:
    """One after another, so the heavy ones do not overlap; the drift schedule runs through all of them."""
    port, redis_pid = redis.port, int(redis.client.info("server")["process_id"])
    drift = DriftRun.start(processes, port, DB_DRIFT, plan) if {"side", "drift"} & set(phases) else None
    result: dict[str, Any] = {"phases": list(phases)}
    if "side" in phases and drift is not None:
        result["side_by_side"] = _phase("side by side", lambda: run_side_by_side(processes, port, plan, drift))
    if "scales" in phases:
        result["scales"] = []
        for index, scale in enumerate(plan.scales):
            if counts and scale.count not in counts:
                continue
            run_one = partial(run_scale, processes, port, DB_SCALE_FIRST + index, scale, plan, redis_pid)
            result["scales"].append({"schedules": scale.count, **_phase(f"{scale.count} schedules", run_one)})
    if "herd" in phases:
        result["herd"] = _phase("cron herd", lambda: run_herd(processes, port, DB_HERD, plan))
    if "failover" in phases:
        result["failover"] = _phase("failover", lambda: run_failover(processes, port, DB_FAILOVER, plan))
    if "memory" in phases:
        result["memory"] = _phase("memory", lambda: run_memory(port, DB_MEMORY, plan))
    if drift is not None:
        result["drift"] = _phase("drift", lambda: drift.finish(processes, plan))
    return result


def _phase(name: str, body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    return run_part(f"sched phase {name!r}", body)

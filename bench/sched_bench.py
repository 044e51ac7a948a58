"""`python -m bench sched [--quick]`: our scheduler against plain rq-scheduler and RQ cron.

One private redis-server (free port, no persistence) holds every contender,
each on its own db: 0 our 1 s drift schedule (alive for the whole run), 1-3
the baselines, 4 and up the 1k/10k/100k lateness runs, 14 the cron herd, 15 the failover run. Phases
run one after another so the heavy ones do not overlap; a phase that fails is
reported and the others still run. Every process started is stopped at the end,
on error too (ProcessStack). Figures go to bench/results/sched.json (and
`python -m bench` prints them with `sched_report.sched_table`).
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

from bench.environment import describe_environment, load_average
from bench.plan import Plan
from bench.procs import ProcessStack
from bench.redis_server import start_redis
from bench.report import write_json
from bench.sched_drift import DriftRun
from bench.sched_failover import run_failover
from bench.sched_herd import run_herd
from bench.sched_plan import sched_plan
from bench.sched_scale import run_scale
from bench.sched_side import run_side_by_side
from workers.registry import load_task_modules

RESULTS = Path(__file__).resolve().parent / "results" / "sched.json"
DB_DRIFT, DB_SCALE_FIRST, DB_HERD, DB_FAILOVER = 0, 4, 14, 15  # the lateness runs take dbs 4, 5, ... (16 by default)


def run_sched(plan: Plan, workdir: Path) -> dict[str, Any]:
    """Run every phase and return (and write) the figures."""
    splan = sched_plan(plan.name)
    load_task_modules([])  # the built-in tasks, so `upsert` validates examples.noop
    started, load_at_start = time.time(), load_average()
    result: dict[str, Any] = {"plan": asdict(splan), "environment": describe_environment()}
    with ProcessStack(workdir / "logs") as stack:
        redis = start_redis(stack, workdir / "redis-sched", splan.startup_timeout)
        redis_pid = int(redis.client.info("server")["process_id"])
        drift = DriftRun.start(stack, redis.port, DB_DRIFT, splan)
        result["side_by_side"] = _phase("side by side", lambda: run_side_by_side(stack, redis.port, splan, drift))
        result["scales"] = []
        for index, scale in enumerate(splan.scales):
            db = DB_SCALE_FIRST + index
            run = partial(run_scale, stack, redis.port, db, scale, splan, redis_pid)
            result["scales"].append({"schedules": scale.count, **_phase(f"{scale.count} schedules", run)})
        result["herd"] = _phase("cron herd", lambda: run_herd(stack, redis.port, DB_HERD, splan))
        result["failover"] = _phase("failover", lambda: run_failover(stack, redis.port, DB_FAILOVER, splan))
        result["drift"] = _phase("drift", lambda: drift.finish(stack, splan))
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


def _phase(name: str, body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one phase; a failure is printed and recorded, and the next phase still runs."""
    print(f"  sched: {name}...", flush=True)
    started, load = time.time(), load_average()
    try:
        figures = body()
    except Exception as error:  # noqa: BLE001 - reported in the table and the JSON
        traceback.print_exc()
        return {"error": f"{type(error).__name__}: {error}"}
    print(f"  sched: {name} done in {time.time() - started:.0f} s", flush=True)
    return {**figures, "load_average_before_after": [load, load_average()]}

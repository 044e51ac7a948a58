"""`python -m bench.recovery_bench [--quick]`: crash-recovery figures of the real Procfile processes.

1. kill -9 of a worker mid-job: time until the job runs again (plain `rq worker` for context);
2. lost and repeated job runs over those kills (a ledger file outside Redis);
3. SIGTERM -> exit of web, worker (idle, mid a short job, mid a long one) and scheduler;
4. HTTP answers and lost jobs while Redis is paused, killed and restarted from its AOF.

Every process runs on private redis-servers on free 127.0.0.1 ports and is stopped
at the end. The plain-RQ baseline waits out its cap alongside the other parts.
Prints a table and writes bench/results/recovery.json (logs in bench/results/run/recovery).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from bench.environment import describe_environment, load_average
from bench.recovery_baseline import run_baseline
from bench.recovery_faults import run_faults
from bench.recovery_kills import run_kills
from bench.recovery_plan import FULL, QUICK, RecoveryPlan
from bench.recovery_procs import ABORT
from bench.recovery_report import summarize_kills, table
from bench.recovery_shutdown import run_shutdown
from bench.report import write_json

RESULTS = Path(__file__).resolve().parent / "results"
Bench = Callable[[RecoveryPlan, Path], dict[str, Any]]


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """SIGTERM becomes SystemExit, so every `finally` runs and no child outlives the run."""
    raise SystemExit(128 + signum)


def _guarded(name: str, bench: Bench, plan: RecoveryPlan, workdir: Path) -> dict[str, Any]:
    """Run one part; its failure is reported and recorded and does not stop the others."""
    print(f"running {name}...", flush=True)
    started = time.monotonic()
    try:
        result = bench(plan, workdir / name)
    except Exception as error:  # noqa: BLE001 - reported in the table and the JSON, exit status 1
        traceback.print_exc()
        print(f"({name} logs: {workdir / name / 'logs'})", file=sys.stderr)
        result = {"error": f"{type(error).__name__}: {error}"}
    result["wall_s"] = round(time.monotonic() - started, 1)
    print(f"{name} done in {result['wall_s']} s", flush=True)
    return result


def run_all(plan: RecoveryPlan, workdir: Path) -> dict[str, Any]:
    """The baseline in a thread of its own (it mostly waits out its cap); the other parts one after another."""
    results: dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="baseline") as pool:
        baseline = pool.submit(_guarded, "baseline", run_baseline, plan, workdir)
        try:
            results["kills"] = _guarded("kills", run_kills, plan, workdir)
            results["shutdown"] = _guarded("shutdown", run_shutdown, plan, workdir)
            results["faults"] = _guarded("faults", run_faults, plan, workdir)
        except BaseException:
            ABORT.set()  # the baseline thread gives up now instead of waiting out its cap
            raise
        results["baseline"] = baseline.result()
    if "error" not in results["kills"]:
        results["kills"]["summary"] = summarize_kills(results["kills"])
    return results


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    parser = argparse.ArgumentParser(prog="python -m bench.recovery_bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5 kills and 1 baseline round (about 2.5 minutes)")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    workdir = RESULTS / "run" / "recovery"
    shutil.rmtree(workdir, ignore_errors=True)  # only ours: other benchmarks may be running
    meta: dict[str, Any] = {
        "command": shlex.join([sys.executable, "-m", "bench.recovery_bench", *argv]),
        "cwd": os.getcwd(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "plan": asdict(plan),
        "environment": describe_environment(),
    }
    started = time.monotonic()
    results = run_all(plan, workdir)
    meta["wall_s"] = round(time.monotonic() - started, 1)
    meta["load_average_at_end"] = load_average()
    print(f"\nrq-service crash recovery ({plan.name} plan), {meta['started_at']}, {meta['wall_s']} s")
    print(f"command: {meta['command']}  (cwd {meta['cwd']})")
    print(f"load average at start: {meta['environment']['load_average']}, at end: {meta['load_average_at_end']}")
    print(f"machine: {meta['environment']['cpus']} CPUs; redis-server {meta['environment']['redis_server']}\n")
    print(table(results))
    write_json(RESULTS / "recovery.json", {**meta, **results})
    print(f"\nJSON: {RESULTS / 'recovery.json'}")
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

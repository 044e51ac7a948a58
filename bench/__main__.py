"""`python -m bench [all|http|worker|sched|recovery] [--quick]`: run the benchmarks, print a table, write JSON."""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import sys
import traceback
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from bench import recovery_bench
from bench.environment import describe_environment, load_average
from bench.http_bench import run_http
from bench.plan import FULL, QUICK, Plan
from bench.report import header, http_table, worker_table, write_json
from bench.sched_bench import run_sched
from bench.sched_report import sched_table
from bench.worker_bench import run_worker

RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("which", nargs="?", choices=("all", "http", "worker", "sched", "recovery"), default="all")
    parser.add_argument("--quick", action="store_true", help="shorter runs and fewer jobs (a smoke run, noisier)")
    return parser.parse_args(argv)


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into SystemExit so every `finally` runs and no child outlives us."""
    raise SystemExit(128 + signum)


def run_one(name: str, bench: Callable[[Plan, Path], dict[str, Any]], plan: Plan, workdir: Path) -> dict[str, Any]:
    """Run one benchmark; a failure is reported and recorded, and does not stop the other."""
    print(f"\nrunning {name} benchmark...", flush=True)
    shutil.rmtree(workdir / name, ignore_errors=True)  # only this benchmark's: another may be running
    try:
        return bench(plan, workdir / name)
    except Exception as error:  # noqa: BLE001 - reported in the table and the JSON, exit status 1
        traceback.print_exc()
        print(f"(logs of the processes it started: {workdir / name / 'logs'})", file=sys.stderr)
        return {"error": f"{type(error).__name__}: {error}"}


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    args = parse_args(argv)
    if args.which == "recovery":  # its own runner and JSON (bench/results/recovery.json)
        return recovery_bench.main(["--quick"] if args.quick else [])
    plan = QUICK if args.quick else FULL
    workdir = RESULTS / "run"
    meta: dict[str, Any] = {
        "command": shlex.join([sys.executable, "-m", "bench", *argv]),
        "cwd": os.getcwd(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "plan": asdict(plan),
        "environment": describe_environment(),
    }
    print(header(meta), flush=True)
    results: dict[str, Any] = {}
    if args.which in ("all", "http"):
        results["http"] = run_one("http", run_http, plan, workdir)
    if args.which in ("all", "worker"):
        results["worker"] = run_one("worker", run_worker, plan, workdir)
    if args.which == "sched":  # not in `all`: it takes ~9 minutes (3 with --quick)
        results["sched"] = run_one("sched", run_sched, plan, workdir)
    meta["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    meta["load_average_at_end"] = load_average()
    print()
    print(header(meta))
    for name, result in results.items():
        print()
        if "error" in result:
            print(f"{name} benchmark failed: {result['error']}")
        elif name == "http":
            print(http_table(result, plan.http_rounds))
        elif name == "sched":
            print(sched_table(result))
        else:
            print(worker_table(result))
    write_json(RESULTS / "latest.json", {**meta, **results})
    print(f"\nJSON: {RESULTS / 'latest.json'}")
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""`python -m bench [all|http|worker|sched|recovery|failover|hosts] [--quick]`: run benchmarks, print tables."""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.failover import benchmark as failover
from bench.failover.plan import PLANS as FAILOVER_PLANS
from bench.failover.report import failover_report
from bench.harness.report import header
from bench.harness.runner import Figures, finish, run_meta, run_part, stopping_cleanly
from bench.hosts import benchmark as hosts
from bench.hosts.plan import PLANS as HOSTS_PLANS
from bench.hosts.report import hosts_report
from bench.http import benchmark as http
from bench.http.plan import PLANS as HTTP_PLANS
from bench.http.report import http_table
from bench.recovery import benchmark as recovery
from bench.recovery.plan import PLANS as RECOVERY_PLANS
from bench.recovery.report import recovery_report
from bench.sched import benchmark as sched
from bench.sched.plan import PLANS as SCHED_PLANS
from bench.sched.report import sched_table
from bench.worker import benchmark as worker
from bench.worker.plan import PLANS as WORKER_PLANS
from bench.worker.report import worker_table

RESULTS = Path(__file__).resolve().parent / "results"
WORKDIR = RESULTS / "run"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "which",
        nargs="?",
        choices=("all", "http", "worker", "sched", "recovery", "failover", "hosts"),
        default="all",
    )
    parser.add_argument("--quick", action="store_true", help="shorter runs and fewer jobs (a smoke run, noisier)")
    parser.add_argument(
        "--phases",
        default=",".join(sched.PHASES),
        help=f"sched only: the phases to run, comma-separated (default all: {','.join(sched.PHASES)})",
    )
    parser.add_argument("--counts", default="", help="sched only: only the lateness runs of these sizes, e.g. 100000")
    return parser.parse_args(argv)


def _benchmark(name: str, body: Callable[[Path], Figures]) -> Figures:
    """One benchmark in a fresh `results/run/<name>` (only its own: another may be running)."""
    workdir = WORKDIR / name
    shutil.rmtree(workdir, ignore_errors=True)
    print()
    return run_part(f"{name} benchmark", lambda: body(workdir), workdir / "logs")


def run_suite(argv: list[str], which: str, quick: bool, args: argparse.Namespace) -> int:
    """http and worker (`all`), one of them, or sched: one header, their tables, bench/results/latest.json."""
    http_plan, worker_plan = HTTP_PLANS.pick(quick), WORKER_PLANS.pick(quick)
    meta = run_meta(argv, {**asdict(http_plan), **asdict(worker_plan)})
    print(header(meta), flush=True)
    results: dict[str, Figures] = {}
    if which in ("all", "http"):
        results["http"] = _benchmark("http", lambda workdir: http.run(http_plan, workdir))
    if which in ("all", "worker"):
        results["worker"] = _benchmark("worker", lambda workdir: worker.run(worker_plan, workdir))
    if which == "sched":  # not in `all`: it takes ~17 minutes (4 with --quick)
        phases = tuple(p for p in args.phases.split(",") if p)
        unknown = set(phases) - set(sched.PHASES)
        if unknown:
            raise SystemExit(f"unknown sched phases {sorted(unknown)}; known: {', '.join(sched.PHASES)}")
        counts = tuple(int(c) for c in args.counts.split(",") if c)
        plan = SCHED_PLANS.pick(quick)
        results["sched"] = _benchmark("sched", lambda workdir: sched.run(plan, workdir, phases, counts))
    return finish(meta, results, RESULTS / "latest.json", lambda: _tables(meta, results, http_plan.http_rounds))


def _tables(meta: dict[str, Any], results: dict[str, Figures], http_rounds: int) -> str:
    render: dict[str, Callable[[Figures], str]] = {
        "http": lambda r: http_table(r, http_rounds),
        "worker": worker_table,
        "sched": sched_table,
    }
    parts = [header(meta)]
    for name, result in results.items():
        parts.append(f"{name} benchmark failed: {result['error']}" if "error" in result else render[name](result))
    return "\n\n".join(parts)


def run_alone(argv: list[str], quick: bool, name: str, plans: Any, bench: Any, report: Callable) -> int:
    """A benchmark with its own table and bench/results/<name>.json (recovery, failover)."""
    plan = plans.pick(quick)
    workdir = WORKDIR / name
    shutil.rmtree(workdir, ignore_errors=True)  # only ours: other benchmarks may be running
    meta = run_meta(argv, asdict(plan))
    started = time.monotonic()
    results = bench.run(plan, workdir)
    meta["wall_s"] = round(time.monotonic() - started, 1)
    return finish(meta, results, RESULTS / f"{name}.json", lambda: report(meta, results))


def run_hosts(argv: list[str], quick: bool) -> int:
    """Partitions between hosts (network namespaces; root): its own table and bench/results/hosts.json."""
    plan = HOSTS_PLANS.pick(quick)
    workdir = WORKDIR / "hosts"
    shutil.rmtree(workdir, ignore_errors=True)
    meta = run_meta(argv, asdict(plan))
    results = run_part("hosts benchmark", lambda: hosts.run(plan, workdir), workdir)
    return finish(meta, {"hosts": results}, RESULTS / "hosts.json", lambda: hosts_report(meta, results))


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    with stopping_cleanly():
        if args.which == "recovery":
            return run_alone(argv, args.quick, "recovery", RECOVERY_PLANS, recovery, recovery_report)
        if args.which == "failover":
            return run_alone(argv, args.quick, "failover", FAILOVER_PLANS, failover, failover_report)
        if args.which == "hosts":
            return run_hosts(argv, args.quick)
        return run_suite(argv, args.which, args.quick, args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

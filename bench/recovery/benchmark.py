"""`python -m bench recovery [--quick]`: crash-recovery figures of the real Procfile processes.

1. kill -9 of a worker mid-job: time until the job runs again (plain `rq worker` for context);
2. lost and repeated job runs over those kills (a ledger file outside Redis);
3. SIGTERM -> exit of web, worker (idle, mid a short job, mid a long one) and scheduler;
4. HTTP answers and lost jobs while Redis is paused, killed and restarted from its AOF.

Every process runs on private redis-servers on free 127.0.0.1 ports and is stopped
at the end. The plain-RQ baseline waits out its cap alongside the other parts.
Figures go to bench/results/recovery.json (logs in bench/results/run/recovery).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.harness.runner import Figures, run_part
from bench.harness.wait import STOP
from bench.recovery.baseline import run_baseline
from bench.recovery.faults import run_faults
from bench.recovery.kills import run_kills
from bench.recovery.plan import RecoveryPlan
from bench.recovery.report import summarize_kills
from bench.recovery.shutdown import run_shutdown

Part = Callable[[RecoveryPlan, Path], Figures]


def _part(name: str, body: Part, plan: RecoveryPlan, workdir: Path) -> Figures:
    return run_part(name, lambda: body(plan, workdir / name), workdir / name / "logs")


def run(plan: RecoveryPlan, workdir: Path) -> dict[str, Any]:
    """The baseline in a thread of its own (it mostly waits out its cap); the other parts one after another."""
    results: dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="baseline") as pool:
        baseline = pool.submit(_part, "baseline", run_baseline, plan, workdir)
        try:
            results["kills"] = _part("kills", run_kills, plan, workdir)
            results["shutdown"] = _part("shutdown", run_shutdown, plan, workdir)
            results["faults"] = _part("faults", run_faults, plan, workdir)
        except BaseException:
            STOP.set()  # the baseline thread gives up now instead of waiting out its cap
            raise
        results["baseline"] = baseline.result()
    if "error" not in results["kills"]:
        results["kills"]["summary"] = summarize_kills(results["kills"])
    return results

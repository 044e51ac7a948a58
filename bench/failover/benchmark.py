"""`python -m bench failover [--quick]`: kill -9 the Redis master of a Sentinel deployment under load.

Each round: a master, two replicas and three sentinels (bench/harness/sentinel.py); the
Procfile's web, two workers and a scheduler on `redis+sentinel://`; a schedule firing every
second; 100 submissions/s; a few jobs running; then kill -9 the master. Counted from a ledger
file outside Redis: acknowledged and lost jobs, seconds of 503, seconds until the first job
runs on the new master, double fires. Rounds with REDIS_MIN_REPLICAS_ACK=1 and without
alternate, so both meet the same machine load.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

from bench.failover.load import PacedLoad
from bench.failover.plan import FailoverPlan
from bench.failover.tasks import read_runs
from bench.harness.ports import free_port
from bench.harness.processes import Processes
from bench.harness.runner import Figures, run_part
from bench.harness.sentinel import SentinelDeployment
from bench.harness.wait import pause, poll_until
from bench.recovery.service import API_KEY, api_client, service_env, wait_for_api

SCENARIOS = {"ack1": "1", "ack0": "0"}  # name -> REDIS_MIN_REPLICAS_ACK


def run(plan: FailoverPlan, workdir: Path) -> dict[str, Any]:
    results: dict[str, Any] = {name: [] for name in SCENARIOS}
    for round_ in range(plan.rounds):
        for name, ack in SCENARIOS.items():
            where = workdir / f"{name}-{round_}"
            results[name].append(run_part(f"{name} round {round_ + 1}", partial(one_round, plan, where, ack), where))
    return results


def one_round(plan: FailoverPlan, workdir: Path, ack: str) -> Figures:
    ledger = workdir / "ledger.txt"
    workdir.mkdir(parents=True, exist_ok=True)
    ledger.touch()
    deployment = SentinelDeployment(
        workdir / "redis", down_after_ms=plan.down_after_ms, failover_timeout_ms=plan.failover_timeout_ms
    )
    with deployment, Processes(workdir / "logs") as processes:
        port = free_port()
        env = service_env(deployment.url(), PORT=str(port), REDIS_MIN_REPLICAS_ACK=ack)
        env["TASK_MODULES"] = "bench.failover.tasks"
        web = processes.procfile("web", env)
        started = [web, processes.procfile("worker", env), processes.procfile("worker", env)]
        started.append(processes.procfile("scheduler", env))
        http = api_client(port)
        try:
            wait_for_api(http, web, plan.startup_timeout)
            schedule = {"task": "bench.failover.fire", "kwargs": {"ledger": str(ledger)}, "interval": 1}
            http.put("/schedules/bench-fire", json=schedule).raise_for_status()
            with PacedLoad(f"http://127.0.0.1:{port}", API_KEY, str(ledger), plan.rate) as load:
                pause(plan.before_s - 1)
                running = _start_sleepers(http, plan, ledger)
                pause(1)  # the sleepers are running now
                killed_at = time.time()
                old = deployment.kill_master().port
                deployment.wait_for_new_master(old, plan.failover_timeout)
                promoted_at = time.time()
                pause(plan.after_s)
            alive = {f"{n}:{process.pid}": process.poll() is None for n, process in enumerate(started)}
            accepted = {a.token for a in load.answers if a.status == 202} | set(running)

            def drained() -> bool:
                return accepted <= set(read_runs(str(ledger))[0])

            poll_until(drained, plan.drain_timeout, "every acknowledged job to run", interval=0.5)
            pause(1.5)  # one more schedule run past the drain, so a late double fire shows
            figures = _figures(load, running, killed_at, promoted_at, str(ledger), alive)
            figures["lost_statuses"] = _statuses_of(http, load, figures["lost_tokens"])
        finally:
            http.close()
        return figures


def _statuses_of(http: Any, load: PacedLoad, tokens: list[str]) -> dict[str, int]:
    """What the new master says of the jobs whose body never ran: `absent` is a job the failover lost."""
    ids = {a.token: a.job_id for a in load.answers if a.job_id is not None}
    found: Counter[str] = Counter()
    for token in tokens:
        answer = http.get(f"/jobs/{ids[token]}") if token in ids else None
        found["absent" if answer is None or answer.status_code == 404 else answer.json()["status"]] += 1
    return dict(found)


def _start_sleepers(http: Any, plan: FailoverPlan, ledger: Path) -> list[str]:
    tokens = []
    for n in range(plan.running_jobs):
        token = f"sleep-{n}"
        body = {
            "task": "bench.failover.sleep",
            "kwargs": {"ledger": str(ledger), "token": token, "seconds": plan.job_seconds},
        }
        body["retry"] = {"max": 3, "backoff": 0}
        if http.post("/jobs", json=body).status_code == 202:
            tokens.append(token)
    return tokens


def _figures(
    load: PacedLoad, running: list[str], killed_at: float, promoted_at: float, ledger: str, alive: dict[str, bool]
) -> Figures:
    runs, fires = read_runs(ledger)
    answers = sorted(load.answers, key=lambda a: a.sent)
    statuses = Counter(a.status for a in answers)
    acknowledged = [a for a in answers if a.status == 202]
    lost = [a.token for a in acknowledged if a.token not in runs] + [t for t in running if t not in runs]
    refused_after = [a for a in answers if a.sent >= killed_at and a.status != 202]
    first_refused = refused_after[0].sent if refused_after else None
    last_refused = refused_after[-1].sent if refused_after else None
    accepted_again = next(
        (a.sent for a in answers if last_refused is not None and a.sent > last_refused and a.status == 202), None
    )
    after_kill = [runs[a.token] for a in acknowledged if a.sent >= killed_at and a.token in runs]
    steady = [a.seconds for a in acknowledged if a.sent < killed_at]
    repeated = [job_id for job_id, count in Counter(fires).items() if count > 1]
    return {
        "submitted": len(answers),
        "rate_per_s": round(len(answers) / (answers[-1].sent - answers[0].sent), 1) if len(answers) > 1 else None,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "acknowledged": len(acknowledged) + len(running),
        "lost": len(lost),
        "lost_tokens": lost,
        "server_errors_not_503": sum(v for k, v in statuses.items() if k >= 500 and k != 503),
        "no_answer": statuses.get(-1, 0),
        "sentinel_promotion_s": round(promoted_at - killed_at, 2),
        "seconds_of_503": round(last_refused - first_refused, 2) if first_refused is not None else 0.0,
        "kill_to_accepting_again_s": round(accepted_again - killed_at, 2) if accepted_again is not None else None,
        "kill_to_first_run_on_new_master_s": round(min(after_kill) - killed_at, 2) if after_kill else None,
        "running_at_kill": len(running),
        "running_at_kill_ran": sum(1 for t in running if t in runs),
        "schedule_runs": len(fires),
        "double_fires": len(repeated),
        "steady_202_p50_ms": round(statistics.median(steady) * 1000, 2) if steady else None,
        "processes_alive": all(alive.values()),
    }

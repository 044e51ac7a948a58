"""`python -m bench hosts`: partitions between hosts made of network namespaces, against kill -9 of the same process.

Three scenarios, each on fresh hosts per round (Redis, web, w1, w2; see
cluster.py): a worker host lost mid-job, the scheduler lock holder's host lost,
the web's host lost. Each fault is a partition (the host's switch port down,
packets dropped) and, as the baseline beside it, kill -9 of the same process
(a crash the others notice the same way, minus the hung connections). Needs root.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2 as httpx

from bench.harness.report import percentile
from bench.hosts.cluster import Cluster
from bench.hosts.faults import FAULTS
from bench.hosts.plan import HostsPlan
from bench.hosts.sched_round import sched_round
from bench.hosts.web_round import web_round
from bench.hosts.worker_round import worker_round

API_KEY = "bench-hosts-key"
Round = Callable[[Cluster, HostsPlan, str, Path], dict[str, Any]]


def _with_web(body: Callable[[Cluster, httpx.Client, HostsPlan, str, Path], dict[str, Any]]) -> Round:
    def run(cluster: Cluster, plan: HostsPlan, fault: str, workdir: Path) -> dict[str, Any]:
        cluster.start("web", "web")
        with httpx.Client(base_url=cluster.web_url, headers={"X-API-Key": API_KEY}, timeout=10) as http:
            return body(cluster, http, plan, fault, workdir)

    return run


SCENARIOS: dict[str, Round] = {
    "worker": _with_web(worker_round),
    "scheduler": _with_web(sched_round),
    "web": lambda cluster, plan, fault, workdir: web_round(cluster, API_KEY, plan, fault, workdir),
}


def run(plan: HostsPlan, workdir: Path) -> dict[str, Any]:
    if os.geteuid() != 0:
        raise RuntimeError("the hosts benchmark makes network namespaces: run it as root")
    figures: dict[str, Any] = {}
    for scenario, body in SCENARIOS.items():
        for fault in FAULTS:
            rounds = []
            for number in range(plan.rounds):
                directory = workdir / f"{scenario}-{re.sub(r'[^a-z0-9]+', '-', fault)}-{number}"
                print(f"  {scenario}, {fault}, round {number + 1}/{plan.rounds}", flush=True)
                with Cluster(directory, [API_KEY]) as cluster:
                    rounds.append(body(cluster, plan, fault, directory))
            figures[f"{scenario}/{fault}"] = {"rounds": rounds, "summary": summarize(scenario, rounds)}
    return figures


def _spread(values: list[float | None]) -> dict[str, float | None]:
    seen = [v for v in values if v is not None]
    return {
        "p50": percentile(seen, 0.5),
        "max": max(seen, default=None),
        "n": len(seen),
        "missing": len(values) - len(seen),
    }


def summarize(scenario: str, rounds: list[dict[str, Any]]) -> dict[str, Any]:
    if scenario == "worker":
        return {
            "rerun_s": _spread([s for r in rounds for s in r["rerun_s"]]),
            "late_ends_dropped": sum(r["late_ends_dropped"] or 0 for r in rounds),
            "results_from_w1": sum(r["results"].count("w1") for r in rounds),
        }
    if scenario == "scheduler":
        return {
            "lock_taken_s": _spread([r["lock_taken_s"] for r in rounds]),
            "first_fire_s": _spread([r["first_fire_s"] for r in rounds]),
            "duplicate_firings": sum(r["duplicate_firings"] for r in rounds),
        }
    inside = [r["on_the_web_host"] for r in rounds if r["on_the_web_host"]]
    return {
        "outside_first_error_s": _spread([r["outside"]["first_error_s"] for r in rounds]),
        "on_host_first_error_s": _spread([i["first_error_s"] for i in inside]) if inside else None,
        "on_host_failed_request_s": _spread([i["failed_request_s_max"] for i in inside]) if inside else None,
        "status_5xx_not_503": sum(r["status_5xx_not_503"] for r in rounds),
        "partial_jobs": sum(r["partial_jobs"] for r in rounds),
        "accepted_not_queued": sum(r["accepted_not_queued"] for r in rounds),
    }

"""The hosts figures as one table: each partition beside kill -9 of the same process; nothing here measures."""

from __future__ import annotations

from typing import Any

from bench.harness.report import columns, header
from bench.hosts.faults import KILL, PARTITION

Row = tuple[str, str, str, str, str]  # figure, partition, kill -9, ratio, goal


def _s(spread: dict[str, Any] | None) -> str:
    if not spread or spread.get("p50") is None:
        return "-"
    missing = f", {spread['missing']} never" if spread.get("missing") else ""
    return f"{spread['p50']:.2f} s (max {spread['max']:.2f}{missing})"


def _ratio(partition: dict[str, Any] | None, kill: dict[str, Any] | None) -> str:
    if not partition or not kill or not partition.get("p50") or not kill.get("p50"):
        return "-"
    return f"{partition['p50'] / kill['p50']:.1f}x"


def _goal(spread: dict[str, Any] | None, bound: float) -> str:
    if not spread or spread.get("max") is None or spread.get("missing"):
        return f"< {bound:g} s: NOT MET"
    return f"< {bound:g} s: {'met' if spread['max'] < bound else 'NOT MET'}"


def _timing(figure: str, key: str, part: dict[str, Any], kill: dict[str, Any], goal: str) -> Row:
    return (figure, _s(part.get(key)), _s(kill.get(key)), _ratio(part.get(key), kill.get(key)), goal)


def rows(results: dict[str, Any]) -> list[Row]:
    def summary(scenario: str, fault: str) -> dict[str, Any]:
        return results.get(f"{scenario}/{fault}", {}).get("summary", {})

    worker, worker_kill = summary("worker", PARTITION), summary("worker", KILL)
    sched, sched_kill = summary("scheduler", PARTITION), summary("scheduler", KILL)
    web, web_kill = summary("web", PARTITION), summary("web", KILL)
    return [
        _timing(
            "worker host lost -> its jobs start on w2",
            "rerun_s",
            worker,
            worker_kill,
            _goal(worker.get("rerun_s"), 5.0),
        ),
        (
            "  late ends of w1 dropped / results from w1",
            f"{worker.get('late_ends_dropped')} / {worker.get('results_from_w1')}",
            "-",
            "",
            "all / 0",
        ),
        _timing("lock holder lost -> other holds the lock", "lock_taken_s", sched, sched_kill, ""),
        _timing(
            "lock holder lost -> other fires", "first_fire_s", sched, sched_kill, _goal(sched.get("first_fire_s"), 5.0)
        ),
        (
            "  duplicate firings after healing",
            str(sched.get("duplicate_firings")),
            str(sched_kill.get("duplicate_firings")),
            "",
            "0",
        ),
        _timing(
            "web host lost -> outside client's first error",
            "outside_first_error_s",
            web,
            web_kill,
            "client timeout 2 s",
        ),
        (
            "web host lost -> client on its host gets 503",
            _s(web.get("on_host_first_error_s")),
            "-",
            "",
            _goal(web.get("on_host_first_error_s"), 2.0),
        ),
        (
            "  5xx other than 503 / partial jobs / accepted not queued",
            f"{web.get('status_5xx_not_503')} / {web.get('partial_jobs')} / {web.get('accepted_not_queued')}",
            f"{web_kill.get('status_5xx_not_503')} / {web_kill.get('partial_jobs')} / "
            f"{web_kill.get('accepted_not_queued')}",
            "",
            "0 / 0 / 0",
        ),
    ]


def hosts_report(meta: dict[str, Any], results: dict[str, Any]) -> str:
    if "error" in results:
        return f"{header(meta)}\n\nhosts benchmark failed: {results['error']}"
    table = columns(rows(results), ("figure", PARTITION, KILL, "ratio", "goal"))
    return f"{header(meta)}\n\nhosts as network namespaces, p50 (max) over rounds and jobs\n{table}"

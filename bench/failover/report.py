"""The failover figures as one table per scenario, side by side; nothing here measures anything."""

from __future__ import annotations

from typing import Any

from bench.harness.report import columns, header, ratio

ROWS = [
    ("acknowledged (2xx) jobs", "acknowledged", ""),
    ("acknowledged jobs whose body never ran", "lost", "0 with ACK=1"),
    ("  of them absent on the new master / other", None, "0 with ACK=1"),
    ("5xx other than 503 / no answer", None, "0"),
    ("seconds of 503 (first to last)", "seconds_of_503", "report"),
    ("kill -> API accepting again, s", "kill_to_accepting_again_s", "report"),
    ("kill -> first job run on the new master, s", "kill_to_first_run_on_new_master_s", "report"),
    ("kill -> sentinels name a writable master, s", "sentinel_promotion_s", "report"),
    ("jobs running at the kill / ran later", None, "all"),
    ("schedule runs / fired twice", None, "0 twice"),
    ("every process alive", "processes_alive", "yes"),
    ("submissions/s sent", "rate_per_s", "100"),
    ("steady 202 latency p50, ms", "steady_202_p50_ms", ""),
]


def _cell(rounds: list[dict[str, Any]], key: str | None, label: str) -> str:
    ok = [r for r in rounds if "error" not in r]
    if not ok:
        return "FAILED: " + "; ".join(str(r.get("error")) for r in rounds)
    if key is None:
        if label.startswith("5xx"):
            return " ".join(f"{r['server_errors_not_503']}/{r['no_answer']}" for r in ok)
        if "absent" in label:
            return " ".join(_absent(r.get("lost_statuses", {})) for r in ok)
        if label.startswith("jobs running"):
            return " ".join(f"{r['running_at_kill']}/{r['running_at_kill_ran']}" for r in ok)
        return " ".join(f"{r['schedule_runs']}/{r['double_fires']}" for r in ok)
    return " ".join("yes" if r[key] is True else "no" if r[key] is False else str(r[key]) for r in ok)


def failover_report(meta: dict[str, Any], results: dict[str, Any]) -> str:
    rows = [
        (label, _cell(results["ack1"], key, label), _cell(results["ack0"], key, label), goal)
        for label, key, goal in ROWS
    ]
    table = columns(rows, ("figure (one value per round)", "ACK=1", "no ACK", "goal"))
    ack1 = [r["steady_202_p50_ms"] for r in results["ack1"] if r.get("steady_202_p50_ms")]
    ack0 = [r["steady_202_p50_ms"] for r in results["ack0"] if r.get("steady_202_p50_ms")]
    cost = ratio(sum(ack1) / len(ack1) if ack1 else None, sum(ack0) / len(ack0) if ack0 else None, 2)
    note = f"steady submission latency, ACK=1 / no ACK (mean of round p50s): {cost}x"
    return "\n\n".join([header(meta, "rq-service failover benchmark"), table, note])


def _absent(statuses: dict[str, int]) -> str:
    absent = statuses.get("absent", 0)
    other = ",".join(f"{k} {v}" for k, v in sorted(statuses.items()) if k != "absent")
    return f"{absent}/{other or 0}"

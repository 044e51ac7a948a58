"""The web's host lost: how fast clients outside it and on it get errors; 5xx other than 503; partial jobs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.harness.wait import pause, wait_until
from bench.hosts.cluster import WEB_PORT, Cluster
from bench.hosts.faults import PARTITION, heal, inject
from bench.hosts.load import read
from bench.hosts.plan import HostsPlan

FULL_HASH = {b"data", b"status", b"origin", b"created_at", b"enqueued_at"}
FAULT_SECONDS = 6.0


def _client(cluster: Cluster, key: str, workdir: Path, name: str, host: str | None, timeout: float) -> Path:
    url = f"http://127.0.0.1:{WEB_PORT}" if host == "web" else cluster.web_url
    out = workdir / f"{name}.jsonl"
    args = ["-m", "bench.hosts.load", url, key, str(out), str(workdir / "stop"), "--timeout", str(timeout)]
    cluster.python(name, args, host=host)
    return out


def _errors(lines: list[dict[str, Any]], cut: float) -> dict[str, Any]:
    """From the cut: seconds to the first error answered, and how long the failing requests took."""
    failed = [line for line in lines if line["sent"] >= cut and (line["status"] is None or line["status"] >= 500)]
    return {
        "first_error_s": round(min(line["done"] for line in failed) - cut, 3) if failed else None,
        "failed_request_s_max": round(max(line["done"] - line["sent"] for line in failed), 3) if failed else None,
        "statuses": sorted({str(line["status"]) for line in failed}),
    }


def web_round(cluster: Cluster, key: str, plan: HostsPlan, fault: str, workdir: Path) -> dict[str, Any]:
    web = cluster.start("web", "web")
    outside = _client(cluster, key, workdir, "outside", None, plan.client_timeout)
    inside = _client(cluster, key, workdir, "inside", "web", plan.client_timeout) if fault == PARTITION else None
    wait_until(lambda: len(read(outside)) >= 5, plan.startup_timeout, "the outside client's first answers")
    cut = time.time()
    inject(cluster, fault, "web", web)
    pause(FAULT_SECONDS)
    heal(cluster, fault, "web")
    (workdir / "stop").touch()
    pause(plan.client_timeout + 0.5)
    lines = read(outside) + (read(inside) if inside else [])
    redis = cluster.client()
    accepted = {line["id"] for line in lines if line["status"] is not None and line["status"] < 300}
    queued = {job_id.decode() for job_id in redis.lrange("rq:queue:default", 0, -1)}
    partial = [job_id for job_id in accepted | queued if not FULL_HASH <= set(redis.hgetall(f"rq:job:{job_id}"))]
    redis.close()
    return {
        "outside": _errors(read(outside), cut),
        "on_the_web_host": _errors(read(inside), cut) if inside else None,
        "status_5xx_not_503": sum(1 for line in lines if (line["status"] or 0) >= 500 and line["status"] != 503),
        "accepted": len(accepted),
        "accepted_not_queued": len(accepted - queued),
        "partial_jobs": len(partial),
    }

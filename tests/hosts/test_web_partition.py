"""The web's host is cut off: clients outside time out, clients on its host get 503, nothing is half-written."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from bench.hosts.cluster import WEB_PORT, Cluster
from bench.hosts.load import read
from tests.support.keys import ADMIN_KEY
from tests.support.stack import eventually
from workers.rq_seam.job import TaskJob

pytestmark = pytest.mark.hosts
FULL_HASH = {b"data", b"status", b"origin", b"created_at", b"enqueued_at", b"meta", b"timeout"}
WAIT = 120  # generous: no timing is asserted here (the bench reports how fast errors come)


def start_client(cluster: Cluster, tmp_path: Path, name: str, host: str | None) -> Path:
    """A steady submitter (bench/hosts/load.py) outside the hosts or on `host`; returns its log."""
    url = f"http://127.0.0.1:{WEB_PORT}" if host == "web" else cluster.web_url
    out = tmp_path / f"{name}.jsonl"
    cluster.python(name, ["-m", "bench.hosts.load", url, ADMIN_KEY, str(out), str(tmp_path / "stop")], host=host)
    return out


def after(lines: list[dict[str, Any]], at: float) -> list[dict[str, Any]]:
    return [line for line in lines if line["sent"] >= at]


def accepted(lines: list[dict[str, Any]]) -> list[str]:
    return [line["id"] for line in lines if line["status"] is not None and 200 <= line["status"] < 300]


def test_web_host_partitioned_clients_get_errors_no_500_and_no_partial_job(
    cluster: Cluster, redis: Redis, tmp_path: Path
) -> None:
    # given: clients outside the web's host and on it, submitting steadily
    web = cluster.start("web", "web")
    outside = start_client(cluster, tmp_path, "outside", None)
    inside = start_client(cluster, tmp_path, "inside", "web")
    assert eventually(lambda: len(accepted(read(outside))) >= 5 and len(accepted(read(inside))) >= 5, timeout=WAIT)

    # when: the web's host is cut off a while, then healed
    cluster.hosts.partition("web")
    cut = time.time()
    assert eventually(lambda: any(line["status"] is None for line in after(read(outside), cut)), timeout=WAIT)
    assert eventually(lambda: any(line["status"] == 503 for line in after(read(inside), cut)), timeout=WAIT)
    cluster.hosts.heal("web")
    healed = time.time()
    assert eventually(lambda: len(accepted(after(read(outside), healed))) >= 5, timeout=WAIT)
    assert eventually(lambda: len(accepted(after(read(inside), healed))) >= 5, timeout=WAIT)
    (tmp_path / "stop").touch()

    # then: errors, never a 5xx but 503; every accepted job and every queued one is whole
    lines = read(outside) + read(inside)
    assert [
        line for line in lines if line["status"] is not None and line["status"] >= 500 and line["status"] != 503
    ] == []
    queued = {job_id.decode() for job_id in redis.lrange("rq:queue:default", 0, -1)}
    partial = [
        job_id for job_id in queued | set(accepted(lines)) if not FULL_HASH <= set(redis.hgetall(f"rq:job:{job_id}"))
    ]
    assert partial == []
    assert set(accepted(lines)) <= queued  # no worker runs here: every accepted job is still queued
    assert all(TaskJob.fetch(job_id, connection=redis).get_status() == "queued" for job_id in queued)
    assert web.poll() is None

"""kill -9 of workers: every accepted job still runs to an end (at least once)."""

from __future__ import annotations

import os
import random
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from rq.worker_registration import REDIS_WORKER_KEYS

from bench.harness.redis import RedisServer
from tests.support.stack import Stack, eventually

QUEUES = "rec-high,rec-default,rec-low"


@pytest.fixture
def rec_stack(redis_server: RedisServer, tmp_path: Path) -> Iterator[Stack]:
    # A fresh Redis per test: a worker killed as it starts (an earlier test) can leave RQ's
    # scheduler locks for their 61 s TTL, and this file's last test needs its own scheduler child.
    with Redis.from_url(redis_server.url) as client:
        client.flushdb()
    stack = Stack(redis_server.url, tmp_path, QUEUES=QUEUES)
    stack.start("web")
    yield stack
    stack.stop_all()


def kill_9(process: object) -> None:
    popen = process.popen  # type: ignore[attr-defined]
    os.kill(popen.pid, signal.SIGKILL)
    popen.wait()


def status(stack: Stack, job_id: str) -> str:
    return stack.http.get(f"/jobs/{job_id}").json()["status"]  # type: ignore[no-any-return]


def test_killed_mid_job_is_run_again_within_30s(rec_stack: Stack, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.txt"
    worker = rec_stack.start("worker")
    body = {"task": "tests.ledger", "args": [str(ledger), "once", 3], "queue": "rec-default", "retry": 2}
    job = rec_stack.http.post("/jobs", json=body).json()
    # Mid-job: the task itself has begun ("started" is set a moment before, with its batch).
    assert eventually(lambda: ledger.exists() and "start once" in ledger.read_text())
    kill_9(worker)
    killed_at = time.monotonic()
    rec_stack.start("worker")
    assert eventually(lambda: ledger.read_text().count("start once") == 2, timeout=40)
    assert time.monotonic() - killed_at < 30
    done = rec_stack.wait_for(job["id"])
    assert done["status"] == "finished"
    assert done["attempts"] == 2
    assert done["retries_left"] == 1


def test_killed_job_without_retries_ends_failed_with_the_reason(rec_stack: Stack, tmp_path: Path) -> None:
    worker = rec_stack.start("worker")
    body = {"task": "tests.ledger", "args": [str(tmp_path / "l.txt"), "x", 30], "queue": "rec-low", "retry": 0}
    job = rec_stack.http.post("/jobs", json=body).json()
    assert eventually(lambda: status(rec_stack, job["id"]) == "started")
    before = runs_by_outcome(rec_stack, "rec-low")
    kill_9(worker)
    rec_stack.start("worker")
    assert eventually(lambda: status(rec_stack, job["id"]) == "failed", timeout=40)
    error = rec_stack.http.get(f"/jobs/{job['id']}").json()["error"]
    assert error is not None
    assert "bandon" in (error["type"] + error["message"] + error["traceback"])
    after = runs_by_outcome(rec_stack, "rec-low")  # the run is counted once, as abandoned
    assert {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)} == {"abandoned": 1}


def runs_by_outcome(stack: Stack, queue: str) -> dict[str, float]:
    """rqs_task_runs_total of tests.ledger on `queue`, by outcome, as /metrics shows it."""
    families = text_string_to_metric_families(stack.http.get("/metrics").text)
    return {
        sample.labels["outcome"]: sample.value
        for family in families
        for sample in family.samples
        if sample.name == "rqs_task_runs_total"
        and sample.labels.get("queue") == queue
        and sample.labels.get("task") == "tests.ledger"
    }


def listening(client: Redis, pid: int) -> bool:
    """Whether the worker process `pid` has registered in Redis and reached its dequeue loop (state idle)."""
    for key in client.smembers(REDIS_WORKER_KEYS):
        worker_pid, state = client.hmget(key, "pid", "state")
        if worker_pid is not None and int(worker_pid) == pid and state == b"idle":
            return True
    return False


def test_worker_on_three_queues_killed_right_after_enqueue_loses_nothing(rec_stack: Stack, tmp_path: Path) -> None:
    # given
    ledger = tmp_path / "ledger.txt"
    ledger.touch()
    tokens, job_ids = [], []

    # when: eight workers each killed right after jobs reach their queues
    client = Redis.from_url(rec_stack.env["REDIS_URL"])
    for round_ in range(8):
        worker = rec_stack.start("worker")
        assert eventually(lambda pid=worker.popen.pid: listening(client, pid))
        for queue in QUEUES.split(","):
            token = f"{round_}-{queue}-{uuid.uuid4().hex[:6]}"
            body = {
                "task": "tests.ledger",
                "args": [str(ledger), token],
                "queue": queue,
                "retry": {"max": 3, "backoff": 0},
            }
            job_ids.append(rec_stack.http.post("/jobs", json=body).json()["id"])
            tokens.append(token)
        time.sleep(random.uniform(0, 0.05))  # the injected fault: a kill at a random point after enqueue
        kill_9(worker)

    rec_stack.start("worker")
    assert eventually(lambda: all(status(rec_stack, j) in ("finished", "failed") for j in job_ids), timeout=60)

    # then
    statuses = Counter(status(rec_stack, j) for j in job_ids)
    assert statuses["finished"] == len(job_ids), statuses
    ran = Counter(line.split()[1] for line in ledger.read_text().splitlines() if line.startswith("end"))
    lost = [t for t in tokens if ran[t] == 0]
    assert lost == []


def test_a_long_job_on_a_live_worker_is_not_taken_for_abandoned(rec_stack: Stack, tmp_path: Path) -> None:
    rec_stack.start("worker")
    rec_stack.start("worker")  # an idle one runs maintenance meanwhile
    body = {"task": "tests.ledger", "args": [str(tmp_path / "l.txt"), "long", 22], "queue": "rec-high", "retry": 2}
    job = rec_stack.http.post("/jobs", json=body).json()
    done = rec_stack.wait_for(job["id"], timeout=60)
    assert done["status"] == "finished"
    assert done["attempts"] == 1
    assert (tmp_path / "l.txt").read_text().count("start long") == 1


def test_kill_9_leaves_no_orphan_scheduler_process(rec_stack: Stack) -> None:
    # given
    worker = rec_stack.start("worker")
    pid = worker.popen.pid

    def children() -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
        return found

    assert eventually(lambda: len(children()) >= 1)  # RQ's scheduler process, forked by the worker

    # when
    child = children()[0]
    kill_9(worker)

    # then
    assert eventually(
        lambda: (
            not Path(f"/proc/{child}").exists()
            or "Z" in Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
        ),
        timeout=10,
    )

"""Several jobs in flight in one Procfile worker: seen together, and none lost to kill -9, stop or SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from bench.harness.redis import RedisServer
from tests.support.stack import Stack, eventually

QUEUE = "concurrency"
IN_FLIGHT = 4


@pytest.fixture
def stack(redis_server: RedisServer, tmp_path: Path) -> Iterator[Stack]:
    """A web on an empty database: the workers an earlier test killed stay registered until their TTL."""
    redis_server.client.flushdb()
    stack = Stack(redis_server.url, tmp_path, QUEUES=QUEUE, WORKER_CONCURRENCY=str(IN_FLIGHT))
    stack.start("web")
    yield stack
    stack.stop_all()


def ledger() -> Redis:
    return Redis.from_url(os.environ["TEST_LEDGER_URL"])


def arrivals(key: str) -> int:
    return int(ledger().get(f"arrived:{key}") or 0)


def submit_gates(stack: Stack, key: str, count: int = IN_FLIGHT, **options: Any) -> list[str]:
    body = {"task": "tests.gate", "args": [key], "queue": QUEUE, **options}
    answers = [stack.http.post("/jobs", json=body) for _ in range(count)]
    assert [answer.status_code for answer in answers] == [202] * count
    return [str(answer.json()["id"]) for answer in answers]


def status(stack: Stack, job_id: str) -> str:
    return str(stack.http.get(f"/jobs/{job_id}").json()["status"])


def current_jobs(stack: Stack) -> set[str]:
    return {job for worker in stack.http.get("/workers").json()["workers"] for job in worker["current_jobs"]}


def test_jobs_in_flight_together_are_all_listed_on_the_worker(stack: Stack) -> None:
    stack.start("worker")
    key = uuid.uuid4().hex
    ids = submit_gates(stack, key)
    assert eventually(lambda: arrivals(key) == IN_FLIGHT)
    assert eventually(lambda: current_jobs(stack) == set(ids))
    ledger().set(f"open:{key}", 1)
    assert [stack.wait_for(job_id)["status"] for job_id in ids] == ["finished"] * IN_FLIGHT
    assert [stack.wait_for(job_id)["result"] for job_id in ids] == [IN_FLIGHT] * IN_FLIGHT


def test_kill_9_with_eight_in_flight_runs_every_one_again_on_another_worker(stack: Stack) -> None:
    worker = stack.start("worker", WORKER_CONCURRENCY="8")
    key = uuid.uuid4().hex
    ids = submit_gates(stack, key, count=8, retry={"max": 1})
    assert eventually(lambda: arrivals(key) == 8)
    victim = {stack.http.get(f"/jobs/{job_id}").json()["worker"] for job_id in ids}
    assert len(victim) == 1  # all eight in flight in the one worker
    os.kill(worker.popen.pid, signal.SIGKILL)
    worker.popen.wait()
    stack.start("worker", WORKER_CONCURRENCY="8")
    assert eventually(lambda: arrivals(key) == 16, timeout=90)  # every one started again
    rerun_by = {stack.http.get(f"/jobs/{job_id}").json()["worker"] for job_id in ids}
    assert rerun_by.isdisjoint(victim)
    ledger().set(f"open:{key}", 1)
    assert [stack.wait_for(job_id)["status"] for job_id in ids] == ["finished"] * 8
    assert [stack.wait_for(job_id)["attempts"] for job_id in ids] == [2] * 8


def test_delete_stops_one_job_of_several(stack: Stack) -> None:
    stack.start("worker")
    key = uuid.uuid4().hex
    ids = submit_gates(stack, key)
    assert eventually(lambda: arrivals(key) == IN_FLIGHT)
    assert stack.http.delete(f"/jobs/{ids[0]}").status_code < 300
    assert eventually(lambda: status(stack, ids[0]) == "stopped")
    assert [status(stack, job_id) for job_id in ids[1:]] == ["started"] * (IN_FLIGHT - 1)
    ledger().set(f"open:{key}", 1)
    assert [stack.wait_for(job_id)["status"] for job_id in ids[1:]] == ["finished"] * (IN_FLIGHT - 1)


def test_sigterm_puts_back_every_job_still_running_after_the_grace(stack: Stack) -> None:
    worker = stack.start("worker", WORKER_SHUTDOWN_GRACE="2")
    key = uuid.uuid4().hex
    ids = submit_gates(stack, key)
    assert eventually(lambda: arrivals(key) == IN_FLIGHT)
    assert worker.terminate() < 30
    assert [status(stack, job_id) for job_id in ids] == ["queued"] * IN_FLIGHT
    stack.start("worker")
    ledger().set(f"open:{key}", 1)
    assert [stack.wait_for(job_id)["status"] for job_id in ids] == ["finished"] * IN_FLIGHT


def test_sigterm_lets_every_running_job_finish_within_the_grace(stack: Stack) -> None:
    worker = stack.start("worker", WORKER_SHUTDOWN_GRACE="20")
    key = uuid.uuid4().hex
    ids = submit_gates(stack, key)
    assert eventually(lambda: arrivals(key) == IN_FLIGHT)
    worker.popen.send_signal(signal.SIGTERM)
    assert eventually(lambda: "warm shut down requested" in worker.log())
    ledger().set(f"open:{key}", 1)
    assert worker.popen.wait(timeout=30) is not None
    assert [status(stack, job_id) for job_id in ids] == ["finished"] * IN_FLIGHT


def test_second_sigterm_stops_at_once_and_the_jobs_run_again(stack: Stack) -> None:
    worker = stack.start("worker", WORKER_SHUTDOWN_GRACE="25")
    key = uuid.uuid4().hex
    ids = submit_gates(stack, key, retry={"max": 1})
    assert eventually(lambda: arrivals(key) == IN_FLIGHT)
    worker.popen.send_signal(signal.SIGTERM)
    assert eventually(lambda: "warm shut down requested" in worker.log())
    # RQ ignores a second signal within a second of the first; keep sending until it is taken (cold shutdown).
    assert eventually(lambda: worker.popen.send_signal(signal.SIGTERM) or worker.popen.poll() is not None, step=1.5)
    stack.start("worker")
    ledger().set(f"open:{key}", 1)
    assert [stack.wait_for(job_id, timeout=60)["status"] for job_id in ids] == ["finished"] * IN_FLIGHT


def test_rq_info_shows_every_job_in_flight_and_the_worker_busy(stack: Stack) -> None:
    stack.start("worker")
    key = uuid.uuid4().hex
    submit_gates(stack, key)
    assert eventually(lambda: arrivals(key) == IN_FLIGHT)
    names = [worker["name"] for worker in stack.http.get("/workers").json()["workers"]]
    rq_cli = str(Path(sys.executable).parent / "rq")
    shown = subprocess.run(
        [rq_cli, "info", "-u", stack.env["REDIS_URL"], "-S", "json", QUEUE],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    ledger().set(f"open:{key}", 1)
    lines = [" ".join(line.split()) for line in shown.splitlines()]
    assert f"{QUEUE} | 0, {IN_FLIGHT} executing, 0 finished, 0 failed" in lines
    assert any(
        line.startswith(names[0]) and line.endswith(f"busy {QUEUE}. jobs: 0 finished, 0 failed") for line in lines
    )
    assert "1 workers, 1 queues" in lines

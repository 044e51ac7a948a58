"""Completion webhooks on real Procfile processes, delivered to a receiver on 127.0.0.1 that fails first."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from bench.harness.ports import free_port
from bench.harness.redis import RedisServer
from tests.support.receiver import Receiver, receiving
from tests.support.rqs_cli import rqs
from tests.support.stack import Process, Stack, eventually, web_and_worker
from workers.callbacks.signing import verify

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"
SECRET = "e2e-callback-secret-0123456789"
SETTINGS = {
    "CALLBACK_HOSTS": "127.0.0.1",
    "CALLBACK_SECRET": SECRET,
    "CALLBACK_RETRY_BASE_SECONDS": "0.5",
    "CALLBACK_TIMEOUT": "3",
    "CALLBACK_MAX_ATTEMPTS": "6",
}


@pytest.fixture(scope="module")
def stack(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    redis_server.client.flushdb()
    with web_and_worker(redis_server.url, tmp_path_factory.mktemp("logs"), **SETTINGS) as stack:
        yield stack


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


def submit(stack: Stack, body: dict[str, Any]) -> str:
    answer = stack.http.post("/jobs", json=body)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def callback_of(stack: Stack, job_id: str) -> dict[str, Any]:
    return stack.http.get(f"/jobs/{job_id}").json()["callback"]  # type: ignore[no-any-return]


def settled(stack: Stack, job_id: str, timeout: float = 40) -> dict[str, Any]:
    assert eventually(lambda: callback_of(stack, job_id)["status"] != "pending", timeout), callback_of(stack, job_id)
    return callback_of(stack, job_id)


def worker_of(stack: Stack) -> Process:
    return [p for p in stack.processes if p.kind == "worker" and p.popen.poll() is None][-1]


def test_delivered_once_accepted_signed_and_shown(stack: Stack) -> None:
    with receiving([500, 500]) as receiver:
        job_id = submit(stack, {"task": "tests.echo", "args": [42], "callback_url": receiver.url()})
        before = callback_of(stack, job_id)
        callback = settled(stack, job_id)
    assert before["url"] == receiver.url() and before["status"] in ("pending", "delivered")
    assert (callback["status"], callback["attempts"], callback["last_error"]) == ("delivered", 3, None)
    assert callback["delivered_at"] is not None and callback["last_response_status"] == 200
    got = receiver.received
    assert [r.answered for r in got] == [500, 500, 200]
    assert len(receiver.accepted()) == 1
    accepted = receiver.accepted()[0]
    assert verify(accepted.body, SECRET, accepted.headers["X-RQS-Signature"])
    assert len({r.headers["X-RQS-Delivery"] for r in got}) == 1
    body = json.loads(accepted.body)
    job = stack.http.get(f"/jobs/{job_id}").json()
    assert {k: body[k] for k in ("id", "status", "result", "ended_at")} == {
        k: job[k] for k in ("id", "status", "result", "ended_at")
    }
    assert body["status"] == "finished" and body["result"] == 42


def test_hosts_not_listed_are_refused_at_submit(stack: Stack) -> None:
    outside = "http://169.254.169.254/latest/meta-data"
    answer = stack.http.post("/jobs", json={"task": "tests.echo", "callback_url": outside})
    assert answer.status_code == 422
    assert "not listed in CALLBACK_HOSTS" in answer.json()["detail"]
    batch = {"jobs": [{"task": "tests.echo"}, {"task": "tests.echo", "callback_url": outside}]}
    answer = stack.http.post("/jobs/batch", json=batch)
    assert answer.status_code == 422 and "jobs[1]" in answer.json()["detail"]
    schedule = {"name": f"s-{uuid.uuid4().hex[:8]}", "task": "tests.echo", "interval": 60, "callback_url": outside}
    answer = stack.http.post("/schedules", json=schedule)
    assert answer.status_code == 422 and "CALLBACK_HOSTS" in answer.json()["detail"]
    answer = stack.http.post("/jobs", json={"task": "tests.echo", "callback_url": "ftp://127.0.0.1/x"})
    assert answer.status_code == 422


def test_no_call_back_while_retries_are_left(stack: Stack, receiver: Receiver) -> None:
    key = uuid.uuid4().hex
    body = {"task": "tests.flaky", "args": [key, 10], "retry": {"max": 2, "backoff": 1}, "callback_url": receiver.url()}
    job_id = submit(stack, body)
    assert stack.wait_for(job_id, timeout=40)["status"] == "failed"
    assert settled(stack, job_id)["status"] == "delivered"
    assert len(receiver.received) == 1  # none for the two failed runs that had retries left
    sent = json.loads(receiver.received[0].body)
    assert (sent["status"], sent["attempts"], sent["retries_left"]) == ("failed", 3, 0)


def test_canceled_and_stopped_jobs_call_back(stack: Stack, receiver: Receiver) -> None:
    pending = submit(stack, {"task": "tests.echo", "delay": 600, "callback_url": receiver.url("/pending")})
    assert stack.http.delete(f"/jobs/{pending}").json()["status"] == "canceled"
    running = submit(stack, {"task": "tests.sleep", "args": [60], "callback_url": receiver.url("/running")})
    assert eventually(lambda: stack.http.get(f"/jobs/{running}").json()["status"] == "started")
    assert stack.http.delete(f"/jobs/{running}").status_code == 200
    assert settled(stack, pending)["status"] == "delivered"
    assert settled(stack, running)["status"] == "delivered"
    by_path = {r.path: json.loads(r.body) for r in receiver.accepted()}
    assert (by_path["/pending"]["id"], by_path["/pending"]["status"]) == (pending, "canceled")
    assert (by_path["/running"]["id"], by_path["/running"]["status"]) == (running, "stopped")


def test_a_schedule_run_carries_the_callback(stack: Stack, receiver: Receiver) -> None:
    name = f"hooked-{uuid.uuid4().hex[:8]}"
    spec = {"task": "tests.echo", "args": [5], "interval": 3600, "callback_url": receiver.url("/sched")}
    answer = stack.http.put(f"/schedules/{name}", json=spec)
    assert answer.status_code == 201 and answer.json()["callback_url"] == receiver.url("/sched")
    job_id = stack.http.post(f"/schedules/{name}/trigger").json()["id"]
    assert settled(stack, job_id)["status"] == "delivered"
    sent = json.loads(receiver.accepted()[0].body)
    assert (sent["id"], sent["schedule"], sent["result"]) == (job_id, name, 5)
    stack.http.delete(f"/schedules/{name}")


def test_a_worker_killed_between_attempts_delivers_after_restart(stack: Stack, receiver: Receiver) -> None:
    receiver.failing = True
    job_id = submit(stack, {"task": "tests.echo", "args": [1], "callback_url": receiver.url()})
    assert eventually(lambda: callback_of(stack, job_id)["attempts"] >= 1)
    worker_of(stack).kill()  # kill -9, with the delivery failed (and recorded) once
    receiver.failing = False
    assert callback_of(stack, job_id)["status"] == "pending"
    assert callback_of(stack, job_id)["last_response_status"] == 500
    stack.start("worker")
    callback = settled(stack, job_id)
    assert callback["status"] == "delivered" and callback["attempts"] >= 2
    assert len(receiver.accepted()) == 1


def test_a_worker_killed_mid_attempt_is_retried_once_its_lease_runs_out(stack: Stack, receiver: Receiver) -> None:
    receiver.hold.clear()  # the attempt arrives and hangs
    job_id = submit(stack, {"task": "tests.echo", "args": [2], "callback_url": receiver.url()})
    assert eventually(lambda: receiver.arrived >= 1)
    worker_of(stack).kill()
    receiver.hold.set()  # the killed worker's request gets its answer on a closed socket
    stack.start("worker")
    callback = settled(stack, job_id, timeout=60)  # the lease: CALLBACK_TIMEOUT + 20 s
    assert callback["status"] == "delivered"
    assert len(receiver.received) >= 2  # at least once: the receiver may well have seen the first attempt


def test_the_cli_sends_a_callback_url(stack: Stack, receiver: Receiver) -> None:
    outcome = rqs(stack, "submit", "tests.echo", "[3]", "--callback-url", receiver.url("/cli"), "--wait")
    assert outcome.code == 0, outcome.stderr
    job_id = outcome.json()["id"]
    assert settled(stack, job_id)["status"] == "delivered"
    assert json.loads(receiver.accepted()[0].body)["result"] == 3


def readme_receiver() -> str:
    """The ```python block of the README's Webhooks section: the receiver users paste."""
    section = README.read_text().split("### Webhooks\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```python\n(.*?)^```", section, re.DOTALL | re.MULTILINE)[0]


def test_the_readme_receiver_verifies_deliveries_as_pasted(stack: Stack, tmp_path: Path) -> None:
    (tmp_path / "receiver.py").write_text(readme_receiver())
    port = free_port()
    env = {**os.environ, "CALLBACK_SECRET": SECRET, "PORT": str(port)}
    receiver = subprocess.Popen(
        [sys.executable, "receiver.py"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        url = f"http://127.0.0.1:{port}/done"
        job_id = submit(stack, {"task": "tests.echo", "args": [5], "callback_url": url})
        assert settled(stack, job_id)["status"] == "delivered"  # 204: the signature verified
        forged = httpx.post(url, content=b'{"id": "x"}', headers={"X-RQS-Signature": "sha256=" + "0" * 64})
        assert forged.status_code == 401
    finally:
        receiver.terminate()
        out, err = receiver.communicate(timeout=30)
    assert f"{job_id} finished 5" in out.decode(), err.decode()


def test_hosts_without_a_secret_refuse_to_start(stack: Stack) -> None:
    env = {**os.environ, **stack.env, "CALLBACK_HOSTS": "127.0.0.1", "CALLBACK_SECRET": "too-short"}
    done = subprocess.run(
        [sys.executable, "-m", "workers.worker"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode != 0
    assert "CALLBACK_SECRET must be set, at least 16 characters" in done.stderr
    assert "too-short" not in done.stderr

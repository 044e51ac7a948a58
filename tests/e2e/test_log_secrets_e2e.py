"""No process logs job arguments or the Redis password, whatever logged the line (rq included).

Real web, worker and scheduler processes, on a Redis that needs a password given as
`?password=` in REDIS_URL, run jobs whose arguments hold a marker: they succeed, fail,
are retried, delayed and fired by a schedule. Then no log file may hold the marker or
the password, and neither may the dashboard.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import pytest
from redis import Redis

from bench.harness.redis import RedisServer
from tests.support.keys import ADMIN_KEY
from tests.support.stack import Stack, eventually

PASSWORD = f"pw-{uuid.uuid4().hex}"
MARKER = f"marker-{uuid.uuid4().hex}"
QUERY_FORM = "redis://127.0.0.1:{port}/0?password={password}"


@dataclass
class Outcome:
    """The logs and answers of one run of every kind of job."""

    stack: Stack
    logs: dict[str, str]
    jobs: dict[str, dict[str, Any]]
    dashboard: str


@pytest.fixture(scope="module")
def secured_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis-pw")).start()
    Redis(port=server.port).config_set("requirepass", PASSWORD)
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["json", "text"])
def outcome(
    request: pytest.FixtureRequest, secured_redis: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Outcome]:
    url = QUERY_FORM.format(port=secured_redis.port, password=PASSWORD)
    stack = Stack(url, tmp_path_factory.mktemp("logs"), LOG_FORMAT=request.param, LOG_LEVEL="DEBUG")
    try:
        for kind in ("web", "worker", "scheduler"):
            stack.start(kind)
        jobs = run_every_kind_of_job(stack)
        dashboard = httpx.get(f"http://127.0.0.1:{stack.port}/dashboard/", auth=("viewer", ADMIN_KEY)).text
    finally:
        stack.stop_all()
    yield Outcome(stack, {p.kind: p.log() for p in stack.processes}, jobs, dashboard)


def submit(stack: Stack, body: dict[str, Any]) -> str:
    answer = stack.http.post("/jobs", json=body)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def run_every_kind_of_job(stack: Stack) -> dict[str, dict[str, Any]]:
    ids = {
        "succeeds": submit(stack, {"task": "tests.echo", "args": [MARKER]}),
        "kwargs": submit(stack, {"task": "tests.echo", "kwargs": {"value": {"nested": MARKER}}}),
        "fails": submit(
            stack, {"task": "tests.flaky", "args": [f"{MARKER}-f", 99], "retry": {"max": 1, "backoff": [1]}}
        ),
        "retried": submit(stack, {"task": "tests.flaky", "kwargs": {"key": f"{MARKER}-r", "failures": 1}}),
        "delayed": submit(stack, {"task": "tests.echo", "args": [MARKER], "delay": 1}),
    }
    jobs = {name: stack.wait_for(job_id) for name, job_id in ids.items()}
    jobs["scheduled"] = fire_schedule(stack)
    return jobs


def fire_schedule(stack: Stack) -> dict[str, Any]:
    name = f"s{uuid.uuid4().hex[:8]}"
    body = {"task": "tests.echo", "args": [MARKER], "kwargs": {}, "interval": 1}
    assert stack.http.put(f"/schedules/{name}", json=body).status_code == 201

    def first_run() -> list[dict[str, Any]]:
        runs = stack.http.get(f"/schedules/{name}/runs").json()["runs"]
        return [run for run in runs if run.get("job_id")]

    assert eventually(lambda: first_run() != [], timeout=30)
    job_id = first_run()[0]["job_id"]
    stack.http.delete(f"/schedules/{name}")
    return stack.wait_for(job_id)


def test_every_kind_of_job_ended_as_planned(outcome: Outcome) -> None:
    statuses = {name: job["status"] for name, job in outcome.jobs.items()}
    assert statuses == {k: "failed" if k == "fails" else "finished" for k in statuses}


def test_the_failed_job_is_logged(outcome: Outcome) -> None:
    assert outcome.jobs["fails"]["id"] in outcome.logs["worker"]


@pytest.mark.parametrize("kind", ["web", "worker", "scheduler"])
def test_no_log_holds_job_arguments(outcome: Outcome, kind: str) -> None:
    assert MARKER not in outcome.logs[kind]


@pytest.mark.parametrize("kind", ["web", "worker", "scheduler"])
def test_no_log_holds_the_redis_password(outcome: Outcome, kind: str) -> None:
    assert PASSWORD not in outcome.logs[kind]


@pytest.mark.parametrize("kind", ["web", "worker", "scheduler"])
def test_each_log_names_redis_masked(outcome: Outcome, kind: str) -> None:
    assert "?password=***" in outcome.logs[kind]


def test_the_dashboard_hides_the_password(outcome: Outcome) -> None:
    assert PASSWORD not in outcome.dashboard


def test_the_dashboard_shows_the_masked_url(outcome: Outcome) -> None:
    assert "password=***" in outcome.dashboard

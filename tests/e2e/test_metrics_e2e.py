"""/metrics and the logs over the real Procfile processes: one web, two workers, one total."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bench.harness.redis import RedisServer
from tests.support.stack import Stack, eventually

pytestmark = pytest.mark.e2e

QUEUE = "metrics-e2e"  # only this module's workers listen here, so every change on it is ours
IDLE = "metrics-e2e-idle"  # nobody listens here
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def two_workers(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # One job at a time per process, so the rendezvous of two jobs needs both workers.
    stack = Stack(
        redis_server.url, tmp_path_factory.mktemp("metrics"), QUEUES=QUEUE, LOG_FORMAT="json", WORKER_CONCURRENCY="1"
    )
    stack.start("web")
    stack.start("worker")
    stack.start("worker")
    assert eventually(lambda: len(stack.http.get("/workers").json()["workers"]) == 2)
    yield stack
    stack.stop_all()


def scrape(stack: Stack) -> Samples:
    answer = stack.http.get("/metrics")
    assert answer.status_code == 200, answer.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def scrape_until(stack: Stack, settled: Callable[[Samples], bool]) -> list[Samples]:
    """Every scrape until one is `settled`: a worker writes its runs' metrics with its next beat (every second)."""
    scrapes: list[Samples] = []

    def check() -> bool:
        scrapes.append(scrape(stack))
        return settled(scrapes[-1])

    assert eventually(check, timeout=10)
    return scrapes


def moved(before: Samples, after: Samples, name: str, **match: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every series of `name` whose labels include `match`, by how much it changed (zeros left out)."""
    changes = {}
    for (sample, labels), value in after.items():
        if sample == name and match.items() <= dict(labels).items():
            change = value - before.get((sample, labels), 0.0)
            if change:
                changes[tuple((k, v) for k, v in labels if k not in match)] = change
    return changes


def submit(stack: Stack, body: dict[str, Any]) -> str:
    answer = stack.http.post("/jobs", json=body)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def run_jobs(stack: Stack) -> dict[str, list[str]]:
    """Three jobs that finish, two that fail, one retried once, and two that need both workers at once."""
    meeting = uuid.uuid4().hex
    bodies: dict[str, list[dict[str, Any]]] = {
        "tests.echo": [{"args": [n]} for n in range(3)],
        "examples.fail": [{"args": ["no"]}] * 2,
        "tests.flaky": [{"args": [uuid.uuid4().hex, 1], "retry": {"max": 1}}],
        "tests.rendezvous": [{"args": [meeting, 2]}] * 2,
    }
    return {
        task: [submit(stack, {"task": task, "queue": QUEUE, **body}) for body in items]
        for task, items in bodies.items()
    }


def test_metrics_need_a_key(two_workers: Stack) -> None:
    refused = httpx.get(f"http://127.0.0.1:{two_workers.port}/metrics")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"


def test_counters_move_by_exactly_the_jobs_run(two_workers: Stack) -> None:
    # given
    before = scrape(two_workers)

    # when
    ids = run_jobs(two_workers)
    done = {job_id: two_workers.wait_for(job_id) for job_ids in ids.values() for job_id in job_ids}
    assert [done[i]["status"] for i in ids["examples.fail"]] == ["failed", "failed"]
    assert all(
        done[i]["status"] == "finished" for t in ("tests.echo", "tests.flaky", "tests.rendezvous") for i in ids[t]
    )
    assert len({done[i]["worker"] for i in ids["tests.rendezvous"]}) == 2  # both workers ran jobs
    expected = {
        (("outcome", "finished"), ("task", "tests.echo")): 3,
        (("outcome", "failed"), ("task", "examples.fail")): 2,
        (("outcome", "retried"), ("task", "tests.flaky")): 1,
        (("outcome", "finished"), ("task", "tests.flaky")): 1,
        (("outcome", "finished"), ("task", "tests.rendezvous")): 2,
    }
    scrapes = scrape_until(two_workers, lambda now: moved(before, now, "rqs_task_runs_total", queue=QUEUE) == expected)
    after = scrapes[-1]

    # then
    runs = {(("task", "tests.echo"),): 3, (("task", "examples.fail"),): 2}
    runs |= {(("task", "tests.flaky"),): 2, (("task", "tests.rendezvous"),): 2}
    assert moved(before, after, "rqs_task_run_seconds_count", queue=QUEUE) == runs
    assert moved(before, after, "rqs_task_queue_wait_seconds_count", queue=QUEUE) == runs
    assert moved(before, after, "rqs_task_run_seconds_bucket", queue=QUEUE, le="+Inf") == runs
    assert moved(before, after, "rqs_queue_jobs", queue=QUEUE) == {
        (("status", "finished"),): 6,
        (("status", "failed"),): 2,
    }
    assert moved(before, after, "rqs_http_requests_total", method="POST", route="/jobs") == {(("status", "202"),): 8}
    scraped = {(("status", "200"),): len(scrapes)}  # `before` and every scrape but the last, which counts after
    assert moved(before, after, "rqs_http_requests_total", method="GET", route="/metrics") == scraped
    assert after[("rqs_queue_workers", (("queue", QUEUE),))] == 2
    states = {dict(labels)["state"] for name, labels in after if name == "rqs_workers"}
    assert states == {"started", "suspended", "busy", "idle"}
    assert after[("rqs_queue_depth", (("queue", QUEUE),))] == 0


def test_queue_backlog_and_schedule_series(two_workers: Stack) -> None:
    waiting = submit(two_workers, {"task": "tests.echo", "args": [1], "queue": IDLE})
    after = scrape(two_workers)
    assert after[("rqs_queue_depth", (("queue", IDLE),))] == 1
    assert after[("rqs_queue_oldest_job_age_seconds", (("queue", IDLE),))] > 0
    assert after[("rqs_queue_workers", (("queue", IDLE),))] == 0
    families = {f.name for f in text_string_to_metric_families(two_workers.http.get("/metrics").text)}
    assert {"rqs_schedule_runs", "rqs_schedule_lateness_seconds", "rqs_workers"} <= families
    assert two_workers.http.delete(f"/jobs/{waiting}").status_code == 200


def json_lines(paths: list[Path]) -> list[dict[str, Any]]:
    """The JSON log lines of some processes (LOG_FORMAT=json)."""
    lines = []
    for path in paths:
        for line in path.read_text(errors="replace").splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue  # uvicorn's own text lines, or a line still being written
    return lines


def test_logs_carry_the_job_and_key_name_as_json_fields(two_workers: Stack) -> None:
    # when
    job_id = submit(two_workers, {"task": "examples.fail", "args": ["logged"], "queue": QUEUE})
    assert two_workers.wait_for(job_id)["status"] == "failed"

    # then: the worker's lines
    worker_logs = [p.log_path for p in two_workers.processes if p.kind == "worker"]
    web_logs = [p.log_path for p in two_workers.processes if p.kind == "web"]

    def job_lines() -> list[dict[str, Any]]:
        return [
            e for e in json_lines(worker_logs) if e["logger"] == "workers.worker.metering" and e["job_id"] == job_id
        ]

    assert eventually(lambda: len(job_lines()) == 2)
    started, ended = job_lines()
    assert (started["task"], started["queue"]) == ("examples.fail", QUEUE)
    assert "status" not in started
    assert (ended["task"], ended["queue"], ended["status"]) == ("examples.fail", QUEUE, "failed")
    assert ended["duration"] >= 0
    assert ended["wait"] >= 0

    # An accepted submission is no INFO line (issue 12): the job names its submitter, and a change is logged.
    assert two_workers.http.get(f"/jobs/{job_id}").json()["submitted_by"] == "key1"
    assert two_workers.http.post(f"/jobs/{job_id}/requeue").status_code == 202

    def mutations() -> list[dict[str, Any]]:
        return [e for e in json_lines(web_logs) if e.get("job_id") == job_id]

    assert eventually(lambda: len(mutations()) == 1)  # written once the answer is sent
    (mutation,) = mutations()
    assert (mutation["method"], mutation["route"], mutation["status"], mutation["key_name"]) == (
        "POST",
        "/jobs/{job_id}/requeue",
        202,
        "key1",
    )
    assert "test-admin-key" not in "".join(path.read_text() for path in web_logs)


def test_run_cut_short_by_shutdown_counts_as_interrupted(two_workers: Stack) -> None:
    queue = "metrics-e2e-shutdown"
    worker = two_workers.start("worker", QUEUES=queue, WORKER_SHUTDOWN_GRACE="1")
    before = scrape(two_workers)
    job_id = submit(two_workers, {"task": "tests.sleep", "args": [120], "queue": queue})
    assert eventually(lambda: two_workers.http.get(f"/jobs/{job_id}").json()["status"] == "started")
    worker.terminate()
    assert two_workers.http.get(f"/jobs/{job_id}").json()["status"] == "queued"  # put back, not failed
    moved_runs = moved(before, scrape(two_workers), "rqs_task_runs_total", queue=queue)
    assert moved_runs == {(("outcome", "interrupted"), ("task", "tests.sleep")): 1}
    assert two_workers.http.delete(f"/jobs/{job_id}").status_code == 200

"""GET /metrics: the Redis collector, HTTP metrics by route template, and the mutation log."""

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis

from bench.harness.ports import free_port
from service.app import create_app
from service.metrics import RedisCollector
from service.settings import ServiceSettings
from tests.support.keys import ADMIN, KEYS
from workers.observability import metrics
from workers.rq_seam.queue import get_queue
from workers.rq_seam.worker import ServiceWorker

READ = {"X-API-Key": "test-read-key"}
WRITE = {"X-API-Key": "test-write-key"}


def scrape(client: TestClient) -> dict[str, Metric]:
    answer = client.get("/metrics", headers=READ)
    assert answer.status_code == 200, answer.text
    return {family.name: family for family in text_string_to_metric_families(answer.text)}


def value(families: dict[str, Metric], family: str, sample: str, **labels: str) -> float:
    """The one sample with exactly these labels: a missing or doubled series fails, as no number can pass for it."""
    found = [s.value for s in families[family].samples if s.name == sample and s.labels == labels]
    assert len(found) == 1, found
    return found[0]


def test_metrics_needs_a_key(client: TestClient) -> None:
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert client.get("/metrics", headers={"X-API-Key": "wrong"}).status_code == 401
    answer = client.get("/metrics", headers=READ)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")


def test_queue_worker_and_task_metrics(client: TestClient, redis: Redis, run_worker: Any) -> None:
    # given: a finished, a failed and a queued job, and a live worker
    for body in (
        {"task": "tests.echo", "args": [1]},
        {"task": "examples.fail"},
        {"task": "tests.echo", "queue": "idle"},
    ):
        assert client.post("/jobs", json=body, headers=ADMIN).status_code == 202
    run_worker(("default",))
    worker = ServiceWorker([get_queue("default", redis)], connection=redis)
    worker.register_birth()

    # when
    try:
        families = scrape(client)
    finally:
        worker.register_death()

    # then
    assert value(families, "rqs_queue_jobs", "rqs_queue_jobs", queue="default", status="finished") == 1
    assert value(families, "rqs_queue_jobs", "rqs_queue_jobs", queue="default", status="failed") == 1
    assert value(families, "rqs_queue_depth", "rqs_queue_depth", queue="idle") == 1
    assert value(families, "rqs_queue_depth", "rqs_queue_depth", queue="default") == 0
    assert value(families, "rqs_queue_oldest_job_age_seconds", "rqs_queue_oldest_job_age_seconds", queue="idle") > 0
    assert value(families, "rqs_queue_oldest_job_age_seconds", "rqs_queue_oldest_job_age_seconds", queue="low") == 0
    assert value(families, "rqs_queue_workers", "rqs_queue_workers", queue="default") == 1
    assert sum(s.value for s in families["rqs_workers"].samples) == 1
    task_runs = "rqs_task_runs_total"
    assert value(families, "rqs_task_runs", task_runs, task="tests.echo", queue="default", outcome="finished") == 1
    assert value(families, "rqs_task_runs", task_runs, task="examples.fail", queue="default", outcome="failed") == 1
    count = "rqs_task_run_seconds_count"
    assert value(families, "rqs_task_run_seconds", count, task="tests.echo", queue="default") == 1


def test_schedule_series_are_exposed_before_and_after_a_run(client: TestClient, redis: Redis) -> None:
    # given: no run yet, and no series
    families = scrape(client)
    assert families["rqs_schedule_runs"].samples == []
    assert families["rqs_schedule_lateness_seconds"].samples == []

    # when
    with redis.pipeline() as pipeline:
        metrics.record_schedule_run(pipeline, "nightly", metrics.FIRED, 0.3)
        metrics.record_schedule_run(pipeline, "nightly", metrics.SKIPPED, None)
        pipeline.execute()
    families = scrape(client)

    # then
    runs = "rqs_schedule_runs_total"
    assert value(families, "rqs_schedule_runs", runs, schedule="nightly", outcome="fired") == 1
    assert value(families, "rqs_schedule_runs", runs, schedule="nightly", outcome="skipped") == 1
    lateness = "rqs_schedule_lateness_seconds"
    assert value(families, lateness, f"{lateness}_bucket", schedule="nightly", le="0.25") == 0
    assert value(families, lateness, f"{lateness}_bucket", schedule="nightly", le="0.5") == 1
    assert value(families, lateness, f"{lateness}_bucket", schedule="nightly", le="+Inf") == 1
    assert value(families, lateness, f"{lateness}_count", schedule="nightly") == 1
    assert value(families, lateness, f"{lateness}_sum", schedule="nightly") == pytest.approx(0.3)


def test_collector_reads_buckets_cumulative(redis: Redis) -> None:
    with redis.pipeline() as pipeline:
        for seconds in (0.004, 0.2, 0.2, 7200):
            metrics.observe(pipeline, metrics.TASK_WAIT_SECONDS, ("t", "q"), seconds)
        pipeline.execute()
    registry = CollectorRegistry()
    registry.register(RedisCollector(lambda: redis, ["default"]))
    text = generate_latest(registry).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    wait = "rqs_task_queue_wait_seconds"
    buckets = {s.labels["le"]: s.value for s in families[wait].samples if s.name == f"{wait}_bucket"}
    assert (buckets["0.005"], buckets["0.1"], buckets["0.25"], buckets["3600.0"], buckets["+Inf"]) == (1, 1, 3, 3, 4)
    assert value(families, wait, f"{wait}_count", task="t", queue="q") == 4


def test_registering_the_collector_needs_no_redis() -> None:
    def no_redis() -> Redis:
        raise AssertionError("Redis was read before a scrape")

    CollectorRegistry().register(RedisCollector(no_redis, ["default"]))


def test_http_metrics_label_route_templates(client: TestClient) -> None:
    for job_id in ("missing-1", "missing-2"):
        assert client.get(f"/jobs/{job_id}", headers=READ).status_code == 404
    assert client.get("/no/such/path", headers=READ).status_code == 404
    assert client.post("/jobs", content=b"x" * (1024 * 1024 + 1), headers=ADMIN).status_code == 413
    families = scrape(client)
    requests = "rqs_http_requests_total"
    assert value(families, "rqs_http_requests", requests, method="GET", route="/jobs/{job_id}", status="404") == 2
    assert value(families, "rqs_http_requests", requests, method="GET", route="unmatched", status="404") == 1
    assert value(families, "rqs_http_requests", requests, method="POST", route="unmatched", status="413") == 1
    assert [s for s in families["rqs_http_requests"].samples if "missing" in s.labels.get("route", "")] == []
    latency = "rqs_http_request_duration_seconds"
    assert value(families, latency, f"{latency}_count", method="GET", route="/jobs/{job_id}") == 2


def test_redis_down_is_503() -> None:
    settings = ServiceSettings(redis_url=f"redis://127.0.0.1:{free_port()}/0", api_keys=KEYS)
    with TestClient(create_app(settings)) as client:
        answer = client.get("/metrics", headers=READ)
        assert answer.status_code == 503
        assert int(answer.headers["retry-after"]) > 0


def mutation_records(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [vars(r) for r in caplog.records if r.name == "service.mutation_log"]


def test_each_mutation_is_logged_with_key_name_and_job(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="service.mutation_log"):
        job_id = client.post("/jobs", json={"task": "tests.echo", "args": [1]}, headers=WRITE).json()["id"]
        batch = client.post("/jobs/batch", json={"jobs": [{"task": "tests.echo"}] * 2}, headers=WRITE).json()
        client.delete(f"/jobs/{job_id}", headers=ADMIN)
        client.post("/jobs", json={"task": "tests.echo"})
        client.get(f"/jobs/{job_id}", headers=READ)

    # then
    created, batched, deleted, refused = mutation_records(caplog)
    assert {k: created[k] for k in ("method", "route", "status", "key_name", "job_id")} == {
        "method": "POST",
        "route": "/jobs",
        "status": 202,
        "key_name": "ci",
        "job_id": job_id,
    }
    assert batched["route"] == "/jobs/batch"
    assert batched["job_ids"] == [job["id"] for job in batch["jobs"]]
    assert (deleted["route"], deleted["status"], deleted["job_id"], deleted["key_name"]) == (
        "/jobs/{job_id}",
        200,
        job_id,
        "key1",
    )
    assert (refused["status"], refused["key_name"]) == (401, None)
    for record in (created, batched, deleted, refused):
        assert "test-write-key" not in str(record)
        assert "test-admin-key" not in str(record)


def test_an_accepted_submission_logs_nothing_at_info(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    """A line per submission costs more than the submission; changes and refusals are still logged."""
    with caplog.at_level(logging.INFO, logger="service.mutation_log"):
        job_id = client.post("/jobs", json={"task": "tests.echo"}, headers=WRITE).json()["id"]
        client.post("/jobs/batch", json={"jobs": [{"task": "tests.echo"}] * 2}, headers=WRITE)
        client.post("/jobs", json={"task": "tests.echo"})
        client.delete(f"/jobs/{job_id}", headers=ADMIN)
    assert [(r["route"], r["status"]) for r in mutation_records(caplog)] == [("/jobs", 401), ("/jobs/{job_id}", 200)]


def test_dashboard_actions_are_logged_too(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="service.mutation_log"):
        url = "/dashboard/queue/default/queued/empty"
        assert client.post(url, headers={**ADMIN, "Origin": "http://testserver"}).status_code == 200
        assert client.post(url, headers={**READ, "Origin": "http://testserver"}).status_code == 403
    (emptied, refused) = mutation_records(caplog)
    assert (emptied["route"], emptied["path"], emptied["status"], emptied["key_name"]) == (
        "/dashboard",
        url,
        200,
        "key1",
    )
    assert (refused["status"], refused["key_name"]) == (403, "reader")

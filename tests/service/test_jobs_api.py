"""The /jobs endpoints through the app factory, drained by a real worker."""

from typing import Any

from fastapi.testclient import TestClient

from tests.support.keys import ADMIN


def post_job(client: TestClient, body: dict[str, Any], **headers: str) -> Any:
    return client.post("/jobs", json=body, headers={**ADMIN, **headers})


def test_submit_run_and_read(client: TestClient, run_worker: Any) -> None:
    answer = post_job(client, {"task": "tests.echo", "args": [{"a": 1}]})
    assert answer.status_code == 202
    body = answer.json()
    assert body["status"] == "queued"
    assert body["task"] == "tests.echo"
    assert body["queue"] == "default"
    assert set(body) >= {"id", "status", "task", "queue", "enqueued_at", "scheduled_for"}
    run_worker()
    job = client.get(f"/jobs/{body['id']}", headers=ADMIN).json()
    assert job["status"] == "finished"
    assert job["result"] == {"a": 1}
    assert job["error"] is None
    assert job["attempts"] == 1
    assert job["args"] == [{"a": 1}]
    assert job["schedule"] is None
    assert job["enqueued_at"].endswith(("Z", "+00:00"))


def test_async_task_and_failure(client: TestClient, run_worker: Any) -> None:
    ok = post_job(client, {"task": "tests.async_double", "kwargs": {"value": 4}}).json()
    bad = post_job(client, {"task": "examples.fail", "args": ["boom"]}).json()
    run_worker()
    assert client.get(f"/jobs/{ok['id']}", headers=ADMIN).json()["result"] == 8
    failed = client.get(f"/jobs/{bad['id']}", headers=ADMIN).json()
    assert failed["status"] == "failed"
    assert failed["error"]["type"] == "RuntimeError"
    assert failed["error"]["message"] == "boom"
    assert "Traceback" in failed["error"]["traceback"]


def test_delay_at_and_queue(client: TestClient) -> None:
    delayed = post_job(client, {"task": "tests.echo", "args": [1], "delay": 30, "queue": "low"}).json()
    assert delayed["status"] == "scheduled"
    assert delayed["queue"] == "low"
    assert delayed["scheduled_for"] is not None
    at = post_job(client, {"task": "tests.echo", "args": [1], "at": "2099-01-01T00:00:00Z"}).json()
    assert at["scheduled_for"].startswith("2099-01-01T00:00:00")


def test_validation_errors(client: TestClient) -> None:
    cases = [
        {"task": "no.such.task"},
        {"task": "tests.echo", "delay": 1, "at": "2099-01-01T00:00:00Z"},
        {"task": "tests.echo", "at": "2099-01-01T00:00:00"},  # no timezone
        {"task": "tests.echo", "args": "not-a-list"},
        {"task": "tests.echo", "retry": {"max": -1}},
        {"task": "tests.echo", "queue": "bad queue!"},
        {"task": "tests.echo", "unknown": 1},
        {"task": "tests.echo", "depends_on": ["missing-job"]},
        {},
    ]

    # when, then
    for body in cases:
        answer = post_job(client, body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["detail"] not in ("", [])

    malformed = client.post("/jobs", content=b"{not json", headers={**ADMIN, "content-type": "application/json"})
    assert malformed.status_code == 422
    nan = client.post("/jobs", content=b'{"task": "tests.echo", "args": [NaN]}', headers=ADMIN)
    assert nan.status_code == 422


def test_idempotency_key(client: TestClient) -> None:
    first = post_job(client, {"task": "tests.echo", "args": [1]}, **{"Idempotency-Key": "abc"})
    second = post_job(client, {"task": "tests.echo", "args": [1]}, **{"Idempotency-Key": "abc"})
    assert first.status_code == 202
    assert second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    too_long = post_job(client, {"task": "tests.echo", "args": [1]}, **{"Idempotency-Key": "x" * 201})
    assert too_long.status_code == 422


def test_batch_all_or_nothing(client: TestClient) -> None:
    good = {"task": "tests.echo", "args": [1]}
    bad = client.post("/jobs/batch", json={"jobs": [good, {"task": "tests.echo", "delay": -1}]}, headers=ADMIN)
    assert bad.status_code == 422
    assert "1" in str(bad.json()["detail"][0]["loc"])
    unknown = client.post("/jobs/batch", json={"jobs": [good, {"task": "nope"}]}, headers=ADMIN)
    assert unknown.status_code == 422
    assert "jobs[1]" in unknown.json()["detail"]
    assert client.get("/jobs", headers=ADMIN).json()["total"] == 0
    ok = client.post("/jobs/batch", json={"jobs": [good, good]}, headers=ADMIN)
    assert ok.status_code == 202
    assert len(ok.json()["jobs"]) == 2
    assert client.post("/jobs/batch", json={"jobs": []}, headers=ADMIN).status_code == 422


def test_result_wait_returns_when_done(client: TestClient, run_worker: Any) -> None:
    job = post_job(client, {"task": "tests.echo", "args": [5]}).json()
    pending = client.get(f"/jobs/{job['id']}/result?wait=0", headers=ADMIN).json()
    assert pending["status"] == "queued"
    run_worker()
    done = client.get(f"/jobs/{job['id']}/result?wait=5", headers=ADMIN).json()
    assert done["status"] == "finished"
    assert done["result"] == 5
    assert client.get(f"/jobs/{job['id']}/result?wait=61", headers=ADMIN).status_code == 422


def test_cancel_requeue_and_conflicts(client: TestClient, run_worker: Any) -> None:
    job = post_job(client, {"task": "tests.echo", "args": [1], "delay": 60}).json()
    canceled = client.delete(f"/jobs/{job['id']}", headers=ADMIN)
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    assert client.delete(f"/jobs/{job['id']}", headers=ADMIN).status_code == 409
    requeued = client.post(f"/jobs/{job['id']}/requeue", headers=ADMIN)
    assert requeued.status_code == 202
    assert requeued.json()["status"] == "queued"
    assert client.post(f"/jobs/{job['id']}/requeue", headers=ADMIN).status_code == 409
    run_worker()
    assert client.get(f"/jobs/{job['id']}", headers=ADMIN).json()["status"] == "finished"
    assert client.delete(f"/jobs/{job['id']}", headers=ADMIN).status_code == 409


def test_unknown_and_invalid_ids(client: TestClient) -> None:
    assert client.get("/jobs/does-not-exist", headers=ADMIN).status_code == 404
    assert client.delete("/jobs/does-not-exist", headers=ADMIN).status_code == 404
    assert client.post("/jobs/does-not-exist/requeue", headers=ADMIN).status_code == 404
    assert client.get("/jobs/does-not-exist/result", headers=ADMIN).status_code == 404
    assert client.get("/jobs/bad%20id", headers=ADMIN).status_code == 422


def test_listing_filters_and_pages(client: TestClient, run_worker: Any) -> None:
    for n in range(5):
        post_job(client, {"task": "tests.echo", "args": [n]})
    post_job(client, {"task": "examples.fail", "queue": "high"})
    listing = client.get("/jobs?limit=2&offset=1", headers=ADMIN).json()
    assert listing["total"] == 6
    assert len(listing["jobs"]) == 2
    run_worker()
    finished = client.get("/jobs?status=finished&queue=default", headers=ADMIN).json()
    assert finished["total"] == 5
    assert {j["status"] for j in finished["jobs"]} == {"finished"}
    failed = client.get("/jobs?status=failed", headers=ADMIN).json()
    assert failed["total"] == 1
    assert failed["jobs"][0]["queue"] == "high"
    assert client.get("/jobs?status=nope", headers=ADMIN).status_code == 422
    assert client.get("/jobs?limit=501", headers=ADMIN).status_code == 422

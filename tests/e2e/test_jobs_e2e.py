"""Jobs through the real `web` and `worker` processes of the Procfile."""

from __future__ import annotations

import pickle
import uuid
import zlib
from pathlib import Path

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

from tests.support.keys import KEYS
from tests.support.stack import Stack, eventually


def submit(stack: Stack, body: dict[str, object], **headers: str) -> dict[str, object]:
    answer = stack.http.post("/jobs", json=body, headers=headers)
    assert answer.status_code in (200, 202), answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_sync_and_async_tasks_finish(stack: Stack) -> None:
    sync = submit(stack, {"task": "examples.add", "args": [2, 3]})
    async_ = submit(stack, {"task": "examples.sleep", "kwargs": {"seconds": 0.2}})
    assert stack.wait_for(sync["id"])["result"] == 5
    done = stack.wait_for(async_["id"])
    assert done["status"] == "finished"
    assert done["result"]["slept"] >= 0.2
    assert done["worker"] is not None
    assert done["started_at"] is not None
    assert done["ended_at"] is not None


def test_failure_is_visible(stack: Stack) -> None:
    failed = stack.wait_for(submit(stack, {"task": "examples.fail", "args": ["nope"]})["id"])
    assert failed["status"] == "failed"
    assert failed["error"]["message"] == "nope"


def test_retry_with_backoff_then_success(stack: Stack) -> None:
    key = uuid.uuid4().hex
    job = submit(stack, {"task": "tests.flaky", "args": [key, 2], "retry": {"max": 3, "backoff": [1, 1]}})
    done = stack.wait_for(job["id"], timeout=30)
    assert done["status"] == "finished"
    assert done["result"] == "ok after 3"
    assert done["attempts"] == 3
    assert done["retries_left"] == 1


def test_delay_fires(stack: Stack) -> None:
    job = submit(stack, {"task": "tests.echo", "args": ["late"], "delay": 1})
    assert job["status"] == "scheduled"
    done = stack.wait_for(job["id"], timeout=30)
    assert done["status"] == "finished"
    assert done["result"] == "late"


def test_cancel_scheduled_and_deferred(stack: Stack) -> None:
    # given
    scheduled = submit(stack, {"task": "tests.echo", "args": [1], "delay": 300})
    parent = submit(stack, {"task": "tests.sleep", "args": [1.5]})
    deferred = submit(stack, {"task": "tests.echo", "args": [2], "depends_on": [parent["id"]]})
    kept = submit(stack, {"task": "tests.echo", "args": [3], "depends_on": [parent["id"]]})  # the control
    assert deferred["status"] == "deferred"

    # when
    for job in (scheduled, deferred):
        answer = stack.http.delete(f"/jobs/{job['id']}")
        assert answer.status_code == 200
        assert answer.json()["status"] == "canceled"
    stack.wait_for(parent["id"])
    done = stack.wait_for(kept["id"])  # the parent's dependents were enqueued together, then run

    # then
    assert done["result"] == 3
    assert stack.http.get(f"/jobs/{deferred['id']}").json()["status"] == "canceled"


def test_stop_started_job_then_requeue(stack: Stack) -> None:
    job = submit(stack, {"task": "tests.sleep", "args": [60]})
    assert eventually(lambda: stack.http.get(f"/jobs/{job['id']}").json()["status"] == "started")
    stopped = stack.http.delete(f"/jobs/{job['id']}")
    assert stopped.status_code == 200
    assert stopped.json()["status"] == "stopped"
    assert stack.http.delete(f"/jobs/{job['id']}").status_code == 409
    requeued = stack.http.post(f"/jobs/{job['id']}/requeue")
    assert requeued.status_code == 202
    assert requeued.json()["status"] == "queued"
    assert eventually(lambda: stack.http.get(f"/jobs/{job['id']}").json()["status"] == "started")
    assert stack.http.delete(f"/jobs/{job['id']}").json()["status"] == "stopped"


def test_idempotency_and_batch(stack: Stack) -> None:
    key = uuid.uuid4().hex
    first = stack.http.post("/jobs", json={"task": "tests.echo", "args": [1]}, headers={"Idempotency-Key": key})
    again = stack.http.post("/jobs", json={"task": "tests.echo", "args": [1]}, headers={"Idempotency-Key": key})
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json()["id"] == again.json()["id"]
    bad = stack.http.post("/jobs/batch", json={"jobs": [{"task": "tests.echo", "args": [1]}, {"task": "x.y"}]})
    assert bad.status_code == 422
    batch = stack.http.post("/jobs/batch", json={"jobs": [{"task": "tests.echo", "args": [n]} for n in range(5)]})
    assert batch.status_code == 202
    results = [stack.wait_for(job["id"])["result"] for job in batch.json()["jobs"]]
    assert results == [0, 1, 2, 3, 4]


def test_hostile_jobs_run_nothing(stack: Stack, redis_server: object, tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    client = Redis.from_url(stack.env["REDIS_URL"])
    queue = Queue("default", connection=client, serializer=JSONSerializer)
    direct = queue.enqueue_call("tests.tasks.touch", args=[str(target)])
    pickled = queue.enqueue_call("workers.runner.run_task", args=["examples.add", [1, 2], {}])
    # The runner and a registered task: only the serializer can refuse this one.
    runner_call = ("workers.runner.run_task", None, ["tests.touch", [str(target)], {}], {})
    client.hset(pickled.key, "data", zlib.compress(pickle.dumps(runner_call)))
    for job in (direct, pickled):
        assert stack.wait_for(job.id)["status"] == "failed"
    assert not target.exists()
    assert stack.wait_for(submit(stack, {"task": "examples.add", "args": [1, 1]})["id"])["result"] == 2


def test_catalog_endpoints_see_the_worker(stack: Stack) -> None:
    workers = stack.http.get("/workers").json()["workers"]
    assert len(workers) == 1
    assert workers[0]["queues"] == ["high", "default", "low"]
    queues = {q["name"]: q for q in stack.http.get("/queues").json()["queues"]}
    assert queues["default"]["workers"] == 1
    assert queues["default"]["finished"] >= 1
    assert "examples.add" in {t["name"] for t in stack.http.get("/tasks").json()["tasks"]}
    assert stack.http.get("/jobs", params={"status": "finished", "limit": 1}).json()["total"] >= 1
    assert stack.http.get("/healthz").json() == {"status": "ok", "redis": "ok"}
    assert stack.http.get("/jobs", headers={"X-API-Key": "nope"}).status_code == 401
    read_key = KEYS[1].rsplit(":", 1)[1]
    assert stack.http.post("/jobs", json={"task": "tests.echo"}, headers={"X-API-Key": read_key}).status_code == 403
    assert stack.http.get("/dashboard/", auth=("me", KEYS[0])).status_code == 200

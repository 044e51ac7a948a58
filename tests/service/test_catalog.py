from typing import Any

from fastapi.testclient import TestClient

from tests.support.keys import ADMIN


def test_tasks_lists_registered_functions(client: TestClient) -> None:
    tasks = {t["name"]: t for t in client.get("/tasks", headers=ADMIN).json()["tasks"]}
    assert {"examples.add", "examples.sleep", "examples.fail", "tests.echo"} <= set(tasks)
    flaky = tasks["tests.flaky"]
    assert flaky["retry"] == {"max": 3, "backoff": [1, 1, 1]}
    assert flaky["queue"] == "default"
    assert [p["name"] for p in flaky["parameters"]] == ["key", "failures"]


def test_tasks_show_their_limits(client: TestClient) -> None:
    import tests.limited_tasks  # noqa: F401 - registers tests.limited and tests.rated

    tasks = {t["name"]: t for t in client.get("/tasks", headers=ADMIN).json()["tasks"]}
    assert (tasks["tests.limited"]["concurrency"], tasks["tests.limited"]["rate"]) == (2, None)
    assert (tasks["tests.rated"]["concurrency"], tasks["tests.rated"]["rate"]) == (None, "3/s")
    assert (tasks["tests.echo"]["concurrency"], tasks["tests.echo"]["rate"]) == (None, None)


def test_queues_count_jobs_by_status(client: TestClient, run_worker: Any) -> None:
    client.post("/jobs", json={"task": "tests.echo", "args": [1]}, headers=ADMIN)
    client.post("/jobs", json={"task": "tests.echo", "args": [1], "delay": 60}, headers=ADMIN)
    queues = {q["name"]: q for q in client.get("/queues", headers=ADMIN).json()["queues"]}
    assert list(queues)[:3] == ["high", "default", "low"]
    assert queues["default"]["queued"] == 1
    assert queues["default"]["scheduled"] == 1
    run_worker()
    queues = {q["name"]: q for q in client.get("/queues", headers=ADMIN).json()["queues"]}
    assert queues["default"]["finished"] == 1
    assert queues["default"]["queued"] == 0


def test_workers_lists_a_live_worker(client: TestClient, redis: Any) -> None:
    from workers.rq_seam.queue import get_queue
    from workers.rq_seam.worker import ServiceWorker

    worker = ServiceWorker([get_queue("default", redis)], connection=redis)
    worker.register_birth()
    worker.set_state("idle")  # what a worker in its dequeue loop shows
    try:
        workers = client.get("/workers", headers=ADMIN).json()["workers"]
        assert [w["name"] for w in workers] == [worker.name]
        assert workers[0]["queues"] == ["default"]
        assert workers[0]["state"] == "idle"
    finally:
        worker.register_death()

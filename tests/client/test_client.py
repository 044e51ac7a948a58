"""`rqs.Client` over real HTTP: every endpoint, every job field, and errors as `ApiError`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rqs import ApiError, Client

pytestmark = pytest.mark.e2e
READ_KEY = "test-read-key"


def test_submit_then_wait_gives_the_result(rqs: Client) -> None:
    job = rqs.submit("tests.echo", ["hi"])
    assert rqs.wait(job["id"])["result"] == "hi"


def test_submit_sends_every_field(rqs: Client) -> None:
    first = rqs.submit("tests.echo", ["dep"])
    job = rqs.submit(
        "tests.echo",
        kwargs={"value": "all"},
        queue="low",
        timeout=30,
        retry={"max": 2, "backoff": [1, 2]},
        result_ttl=120,
        depends_on=[first["id"]],
        at_front=True,
    )
    assert rqs.wait(job["id"])["result"] == "all"
    assert rqs.get_job(job["id"])["queue"] == "low"


def test_a_callback_url_reaches_the_server(rqs: Client) -> None:
    with pytest.raises(ApiError) as refused:  # this stack sets no CALLBACK_HOSTS
        rqs.submit("tests.echo", callback_url="http://127.0.0.1:9/hook")
    assert refused.value.status == 422
    assert "CALLBACK_HOSTS is empty" in str(refused.value.detail)


def test_submit_at_a_time_schedules_the_job(rqs: Client) -> None:
    job = rqs.submit("tests.echo", [1], at=datetime.now(UTC) + timedelta(hours=1))
    assert job["status"] == "scheduled"


def test_idempotency_key_gives_the_first_job_back(rqs: Client) -> None:
    first = rqs.submit("tests.echo", [1], idempotency_key="client-once")
    assert rqs.submit("tests.echo", [1], idempotency_key="client-once")["id"] == first["id"]


def test_batch_then_wait_each(rqs: Client) -> None:
    jobs = rqs.submit_batch([{"task": "tests.echo", "args": [n]} for n in range(3)])["jobs"]
    assert [rqs.wait(job["id"])["result"] for job in jobs] == [0, 1, 2]


def test_cancel_and_requeue(rqs: Client) -> None:
    job_id = rqs.submit("tests.echo", ["again"], delay=600)["id"]
    assert rqs.cancel(job_id)["status"] == "canceled"
    rqs.requeue(job_id)
    assert rqs.wait(job_id)["result"] == "again"


def test_wait_with_a_timeout_answers_the_job_as_it_is(rqs: Client) -> None:
    job_id = rqs.submit("tests.echo", [1], delay=600)["id"]
    assert rqs.wait(job_id, timeout=0.2)["status"] == "scheduled"


def test_list_jobs_filters(rqs: Client) -> None:
    rqs.submit("tests.echo", [1], queue="high", delay=600)
    page = rqs.list_jobs(queue="high", status="scheduled", limit=1)
    assert [(job["queue"], job["status"]) for job in page["jobs"]] == [("high", "scheduled")]


def test_schedule_lifecycle(rqs: Client) -> None:
    assert rqs.put_schedule("client-s", {"task": "tests.echo", "args": ["s"], "interval": 3600})["name"] == "client-s"
    assert "client-s" in [s["name"] for s in rqs.list_schedules()["schedules"]]
    assert rqs.pause_schedule("client-s")["paused"] is True
    assert rqs.resume_schedule("client-s")["paused"] is False
    job_id = rqs.trigger_schedule("client-s")["id"]
    assert job_id in [run["job_id"] for run in rqs.schedule_runs("client-s", limit=10)["runs"]]
    assert rqs.delete_schedule("client-s") is None
    with pytest.raises(ApiError) as error:
        rqs.get_schedule("client-s")
    assert error.value.status == 404


def test_catalog_and_health(rqs: Client) -> None:
    assert "tests.echo" in [task["name"] for task in rqs.tasks()["tasks"]]
    assert "default" in [queue["name"] for queue in rqs.queues()["queues"]]
    assert len(rqs.workers()["workers"]) >= 1
    assert rqs.health()["status"] == "ok"


def test_an_error_carries_the_status_and_the_servers_detail(rqs: Client) -> None:
    with pytest.raises(ApiError) as error:
        rqs.submit("no.such.task")
    assert error.value.status == 422
    assert "no.such.task" in str(error.value.detail)


def test_a_read_key_is_refused_a_cancel(url: str, rqs: Client) -> None:
    job_id = rqs.submit("tests.echo", [1], delay=600)["id"]
    with Client(url, READ_KEY) as reader, pytest.raises(ApiError) as error:
        reader.cancel(job_id)
    assert error.value.status == 403


def test_a_name_with_a_slash_stays_one_path_segment(rqs: Client) -> None:
    with pytest.raises(ApiError) as error:
        rqs.pause_schedule("x/../../jobs")
    assert error.value.status in (404, 422)

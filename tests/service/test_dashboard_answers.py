"""rq-dashboard's URLs and data: unknown things are 404, bad values 422, job data shown as text."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.dashboard.escape import escaped
from tests.support.keys import ADMIN

SAME_ORIGIN = {**ADMIN, "Origin": "http://testserver"}


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("GET", "/dashboard/0/view/job/no-such-job", 404),
        ("GET", "/dashboard/0/data/job/no-such-job.json", 404),
        ("GET", "/dashboard/0/data/jobs/nosuchqueue/queued/8/asc/1.json", 404),
        ("GET", "/dashboard/0/data/jobs/default/nosuchregistry/8/asc/1.json", 404),
        ("GET", "/dashboard/0/data/jobs/default/queued/0/asc/1.json", 422),
        ("GET", "/dashboard/0/data/jobs/default/queued/8/sideways/1.json", 422),
        ("GET", "/dashboard/0/data/jobs/default/queued/8/asc/0.json", 422),
        ("GET", "/dashboard/0/view/jobs/default/queued/0/asc/1", 422),
        ("GET", "/dashboard/7/data/queues.json", 404),
        ("POST", "/dashboard/job/no-such-job/requeue", 404),
        ("POST", "/dashboard/job/no-such-job/delete", 200),  # rq-dashboard's own answer: {"status": "ERROR"}
        ("POST", "/dashboard/queue/nosuchqueue/compact", 404),
        ("POST", "/dashboard/queue/default/nosuchregistry/empty", 404),
    ],
)
def test_unknown_things_and_bad_values_are_4xx(client: TestClient, method: str, url: str, status: int) -> None:
    answer = client.request(method, url, headers=SAME_ORIGIN)
    assert answer.status_code == status
    assert "detail" in answer.json() or answer.json() == {"status": "ERROR"}


def test_compact_of_an_empty_queue_is_422(client: TestClient) -> None:
    answer = client.post("/dashboard/queue/default/compact", headers=SAME_ORIGIN)
    assert answer.status_code == 422
    assert answer.json() == {"detail": "queue 'default' is empty: nothing to compact"}


def test_compact_of_a_queue_with_jobs_works(client: TestClient) -> None:
    client.post("/jobs", json={"task": "tests.echo", "args": [1]}, headers=ADMIN)
    answer = client.post("/dashboard/queue/default/compact", headers=SAME_ORIGIN)
    assert answer.json() == {"status": "OK"}


def test_job_data_leaves_the_data_endpoints_as_text(client: TestClient) -> None:
    markup = '<meta http-equiv=refresh content="1;url=http://elsewhere/">'
    job = client.post("/jobs", json={"task": "tests.echo", "args": [markup]}, headers=ADMIN).json()
    data = client.get(f"/dashboard/0/data/job/{job['id']}.json", headers=ADMIN).json()
    assert "<meta" not in data["description"]
    assert "&lt;meta http-equiv=refresh" in data["description"]
    listing = client.get("/dashboard/0/data/jobs/default/queued/8/asc/1.json", headers=ADMIN).text
    assert "<meta" not in listing


def test_every_string_is_escaped_at_any_depth() -> None:
    value = {"a": ["<b>", {"c": "x&y"}], "n": 1, "f": None}
    assert escaped(value) == {"a": ["&lt;b&gt;", {"c": "x&amp;y"}], "n": 1, "f": None}

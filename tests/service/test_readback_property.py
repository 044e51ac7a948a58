"""Whatever the API accepts, every read that can show it answers 2xx (a property, with hypothesis).

The values are arbitrary JSON as a hostile client would send it: deep nesting, huge
integers, NaN and Infinity, lone surrogates, odd keys. An accepted body that a later
GET cannot encode would answer 500 to every reader until it expired.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis import Redis

from tests.support.keys import ADMIN

EXAMPLES = settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
JSON = {**ADMIN, "content-type": "application/json"}

texts = st.text(st.characters(codec=None) | st.characters(categories=["Cs"]), max_size=8)
leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([10**400, 2**63 - 1, -(2**63), 2**63])
    | st.floats()
    | st.sampled_from([1e308, -1e308, 5e-324])
    | texts
)


def nest(value: Any, depth: int, as_object: bool) -> Any:
    for _ in range(depth):
        value = {"k": value} if as_object else [value]
    return value


values = st.recursive(
    leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3), max_leaves=12
) | st.builds(nest, leaves, st.integers(0, 40) | st.integers(250, 400), st.booleans())
free_form = st.fixed_dictionaries(
    {"args": st.lists(values, max_size=3), "kwargs": st.dictionaries(texts, values, max_size=3)}
)


def raw(body: Any) -> bytes:
    """As a careless client encodes it: NaN and Infinity written out, surrogates escaped."""
    return json.dumps(body).encode()


def assert_readable(client: TestClient, paths: list[str]) -> None:
    for path in paths:
        answer = client.get(path, headers=ADMIN)
        assert answer.status_code == 200, (path, answer.text[:300])


def job_reads(job_id: str, status: str) -> list[str]:
    return [f"/jobs/{job_id}", f"/jobs/{job_id}/result", "/jobs", f"/jobs?status={status}", "/jobs?limit=500"]


@EXAMPLES
@given(free_form)
def test_an_accepted_job_reads_back(client: TestClient, redis: Redis, run_worker: Any, body: dict[str, Any]) -> None:
    redis.flushall()
    answer = client.post("/jobs", content=raw({"task": "tests.anything", **body}), headers=JSON)
    assert answer.status_code in (202, 422), answer.text[:300]
    if answer.status_code == 202:
        job = answer.json()
        assert_readable(client, job_reads(job["id"], job["status"]))
        run_worker()
        ended = client.get(f"/jobs/{job['id']}", headers=ADMIN).json()["status"]
        assert_readable(client, job_reads(job["id"], ended))


@EXAMPLES
@given(st.lists(free_form, min_size=1, max_size=3))
def test_an_accepted_batch_reads_back(client: TestClient, redis: Redis, items: list[dict[str, Any]]) -> None:
    redis.flushall()
    answer = client.post(
        "/jobs/batch", content=raw({"jobs": [{"task": "tests.anything", **i} for i in items]}), headers=JSON
    )
    assert answer.status_code in (202, 422), answer.text[:300]
    for job in answer.json()["jobs"] if answer.status_code == 202 else []:
        assert_readable(client, job_reads(job["id"], job["status"]))


@EXAMPLES
@given(free_form)
def test_an_accepted_schedule_reads_back(client: TestClient, redis: Redis, body: dict[str, Any]) -> None:
    redis.flushall()
    answer = client.put(
        "/schedules/s", content=raw({"task": "tests.anything", "cron": "0 3 * * *", **body}), headers=JSON
    )
    assert answer.status_code in (201, 422), answer.text[:300]
    if answer.status_code == 201:
        client.post("/schedules/s/trigger", headers=ADMIN)
        reads = ["/schedules", "/schedules/s", "/schedules/s/runs", "/dashboard/schedules", "/dashboard/schedules/s"]
        assert_readable(client, reads)

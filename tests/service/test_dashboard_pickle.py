"""A job hash written into Redis by hand, pickled in every field, runs nothing in the web process.

Each payload, if unpickled, would create a directory; every dashboard page and data
endpoint that names the job is opened, and the directory must not exist afterwards.
"""

from __future__ import annotations

import base64
import os
import pickle
import zlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from tests.support.keys import ADMIN

SAME_ORIGIN = {**ADMIN, "Origin": "http://testserver"}


class Exploit:
    """Unpickling this calls `os.mkdir(path)`: proof that pickle ran."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.mkdir, (str(self.path),)


def submitted_job(client: TestClient) -> str:
    answer = client.post("/jobs", json={"task": "tests.echo", "args": [1]}, headers=ADMIN)
    assert answer.status_code == 202
    return str(answer.json()["id"])


def poison(redis: Redis, job_id: str, fields: list[bytes], payload: bytes) -> None:
    """Overwrite `fields` of the job's hash with `payload`, and add a pickled result to its results stream."""
    redis.hset(f"rq:job:{job_id}", mapping=dict.fromkeys(fields, payload))
    encoded = base64.b64encode(payload)
    redis.xadd(f"rq:results:{job_id}", {"type": 1, "return_value": encoded, "exc_string": encoded})
    redis.zadd("rq:failed:default", {job_id: 1e12})


def pages(job_id: str) -> list[tuple[str, str]]:
    """Every dashboard page and data endpoint that names the job, reads first, then the actions."""
    reads = [
        f"/dashboard/0/view/job/{job_id}",
        f"/dashboard/0/data/job/{job_id}.json",
        "/dashboard/0/view/jobs/default/failed/8/asc/1",
        "/dashboard/0/view/jobs/default/queued/8/asc/1",
        *(f"/dashboard/0/data/jobs/default/{r}/8/asc/1.json" for r in ("queued", "failed")),
        "/dashboard/0/data/queues.json",
        "/dashboard/0/data/workers.json",
        "/dashboard/0/view/workers",
    ]
    actions = [f"/dashboard/job/{job_id}/requeue", "/dashboard/requeue/default", f"/dashboard/job/{job_id}/delete"]
    return [("GET", url) for url in reads] + [("POST", url) for url in actions]


@pytest.mark.parametrize("compressed", [False, True], ids=["raw", "zlib"])
def test_pickled_job_fields_run_nothing_and_answer_no_500(
    client: TestClient, redis: Redis, tmp_path: Path, compressed: bool
) -> None:
    # Given: one job per field, that field pickled, and one job with every field pickled
    marker = tmp_path / "pickle-ran"
    payload = pickle.dumps(Exploit(marker))
    payload = zlib.compress(payload) if compressed else payload
    template = submitted_job(client)
    fields = sorted(redis.hkeys(f"rq:job:{template}"))
    variants = [[field] for field in fields] + [fields]

    for poisoned_fields in variants:
        job_id = submitted_job(client)
        redis.lpush("rq:queue:default", job_id)
        poison(redis, job_id, poisoned_fields, payload)
        # When: every page that names the job is opened
        for method, url in pages(job_id):
            answer = client.request(method, url, headers=SAME_ORIGIN)
            # Then: no page fails with a 500, and the pickle never ran
            assert answer.status_code < 500, (method, url, poisoned_fields, answer.text[:300])
            assert not marker.exists(), (method, url, poisoned_fields)

"""POST /jobs and /jobs/batch called directly (service/direct.py) answer exactly as FastAPI's own handler does.

A body under `application/json; charset=utf-8` is not taken directly (FastAPI's handler takes
it), so each request sent both ways compares the two paths on the same input.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.keys import ADMIN

DIRECT = "application/json"
FASTAPI = "application/json; charset=utf-8"
VARYING = {"id", "enqueued_at", "scheduled_for"}  # a fresh job each time


def post(client: TestClient, path: str, body: Any, content_type: str, **headers: str) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(path, content=raw, headers={**ADMIN, "Content-Type": content_type, **headers})


def steady(answer: Any) -> Any:
    """An answer without what differs between two fresh jobs."""
    if isinstance(answer, dict):
        return {key: steady(value) for key, value in answer.items() if key not in VARYING}
    if isinstance(answer, list):
        return [steady(item) for item in answer]
    return answer


@pytest.mark.parametrize(
    "body",
    [
        {"task": "tests.echo", "args": [{"a": [None, 1.5], "b": "é"}]},
        {"task": "tests.echo", "queue": "low", "at_front": True, "retry": {"max": 2, "backoff": [1, 5]}},
        {"task": "tests.echo", "delay": 30, "timeout": 60, "result_ttl": 10},
    ],
)
def test_an_accepted_job_is_answered_alike(client: TestClient, body: dict[str, Any]) -> None:
    direct, fastapi = (post(client, "/jobs", body, kind) for kind in (DIRECT, FASTAPI))
    assert (direct.status_code, fastapi.status_code) == (202, 202), (direct.json(), fastapi.json())
    assert direct.headers["content-type"] == fastapi.headers["content-type"]
    assert list(direct.json()) == list(fastapi.json())
    assert steady(direct.json()) == steady(fastapi.json())


def test_a_batch_is_answered_alike(client: TestClient) -> None:
    body = {"jobs": [{"task": "tests.echo", "args": [n]} for n in range(3)]}
    direct, fastapi = (post(client, "/jobs/batch", body, kind) for kind in (DIRECT, FASTAPI))
    assert direct.status_code == fastapi.status_code == 202
    assert steady(direct.json()) == steady(fastapi.json())


def test_a_replay_answers_200_with_the_first_job_both_ways(client: TestClient) -> None:
    body = {"task": "tests.echo"}
    first = post(client, "/jobs", body, DIRECT, **{"Idempotency-Key": "once"})
    replays = [post(client, "/jobs", body, kind, **{"Idempotency-Key": "once"}) for kind in (DIRECT, FASTAPI)]
    assert first.status_code == 202
    assert [r.status_code for r in replays] == [200, 200]
    assert [r.json() for r in replays] == [first.json(), first.json()]


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ({"task": "tests.echo", "colour": "red"}, {}),
        ({"task": ""}, {}),
        ({"args": [1]}, {}),
        ([{"task": "tests.echo"}], {}),
        (b"{not json", {}),
        ({"task": "no.such.task"}, {}),
        ({"task": "tests.echo"}, {"Idempotency-Key": "k" * 201}),
    ],
)
def test_a_refusal_is_fastapis_word_for_word(client: TestClient, body: Any, headers: dict[str, str]) -> None:
    direct, fastapi = (post(client, "/jobs", body, kind, **headers) for kind in (DIRECT, FASTAPI))
    assert direct.status_code == fastapi.status_code == 422
    assert direct.json() == fastapi.json()

"""Hostile input: schemathesis throws schema-derived and schema-breaking requests at every operation.

No answer may be a server error (a 503 would only be right with Redis down, and here
it is up), and every answer must be one the OpenAPI document declares, in the shape
it declares. The case count is bounded so the test runs in about a minute.

The schema is read from `create_app(...).openapi()` at import (building the document
needs no Redis), and each case is sent to a live app whose lifespan has the suite's
Redis. `schemathesis.pytest.from_fixture` would be the natural way, but schemathesis
4.32.5 reads `request.node._nodeid` there, which pytest 9 no longer has.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from pydantic import SecretStr
from redis import Redis
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from service.app import create_app
from service.settings import ServiceSettings
from tests.support.keys import ADMIN, KEYS
from workers.core.datetimes import check_representable
from workers.jobs import submit as jobs
from workers.schedules import store as schedule_store
from workers.schedules.spec import ScheduleSpec

MAX_EXAMPLES = 30
CALLBACK_URL = "https://hooks.example.com/rqs?run=1"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
]

document = create_app(ServiceSettings(api_keys=KEYS, task_modules=["tests.tasks"])).openapi()
schema = schemathesis.openapi.from_dict(document)
schema.config.update(headers=ADMIN)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    database="none",
    deterministic=True,
)


def make_plausible(case: schemathesis.Case) -> None:
    """Give a positive case a registered task, no unknown dependency, one valid timing, a listed callback host.

    The schema cannot say which task names exist, that a schedule takes exactly one of
    cron, interval and at, which hosts CALLBACK_HOSTS lists, or that a time must lie
    between 0001-01-02 and 9999-12-30 in UTC, so without this nearly
    every positive submission is a 422 and the code behind a successful one (the store,
    the answer, the audit entry) is never hit with odd but valid values.
    """
    shorten_waits(case)
    body = case.body
    if not isinstance(body, dict):
        return
    path = case.operation.path
    items = body.get("jobs") if path == "/jobs/batch" else [body]
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            _plausible_job(item)
            _plausible_times(item)
    if path.startswith("/schedules"):
        _plausible_schedule(body, path)


def _plausible_job(item: dict[str, object]) -> None:
    item["task"] = "tests.anything"
    item.pop("depends_on", None)
    if item.get("delay") is not None:
        item.pop("at", None)
    if item.get("callback_url") is not None:
        item["callback_url"] = CALLBACK_URL


def _plausible_times(item: dict[str, object]) -> None:
    """A time the schema allows but every zone cannot show (year 1, say) moved into the range."""
    for name in ("at", "start_at"):
        value = item.get(name)
        if not isinstance(value, str):
            continue
        try:
            check_representable(datetime.fromisoformat(value), name)
        except (ValueError, OverflowError):
            item[name] = "2030-01-01T00:00:00Z"


def _plausible_schedule(body: dict[str, object], path: str) -> None:
    timing = next((name for name in ("interval", "at") if body.get(name) is not None), "cron")
    for name in {"interval", "at", "cron"} - {timing}:
        body.pop(name, None)
    if timing == "cron":
        body["cron"] = "0 3 * * *"
    if "timezone" in body:
        body["timezone"] = "Asia/Shanghai"
    if path == "/schedules/{name}":
        body.pop("name", None)


def shorten_waits(case: schemathesis.Case) -> None:
    """A valid wait on GET /jobs/events with no end to see is answered only after it (up to 60 s)."""
    if case.operation.path == "/jobs/events" and isinstance(case.query, dict) and case.query.get("wait"):
        case.query["wait"] = 0.1


@pytest.fixture
def live_app(settings: ServiceSettings, redis: Redis) -> Iterator[FastAPI]:
    """The app, with a schedule and a (canceled) job under the id generators try most: "0"."""
    schedule_store.upsert(redis, ScheduleSpec(name="0", task="tests.echo", cron="0 3 * * *"), time.time())
    jobs.cancel(redis, jobs.submit(redis, settings, jobs.JobSpec(task="tests.echo", job_id="0")).job.id)
    hooked = {"callback_hosts": ["hooks.example.com"], "callback_secret": SecretStr("s" * 16)}
    yield create_app(settings.model_copy(update=hooked))
    asgi.shutdown_lifespans()  # ends the app's lifespan, which closes its Redis clients


@schema.parametrize()
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # one app per operation
def test_api_holds_up_against_hostile_input(case: schemathesis.Case, live_app: FastAPI) -> None:
    if case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE:
        make_plausible(case)
    response = case.call(app=live_app)
    case.validate_response(response, checks=CHECKS)


def test_a_body_that_is_not_utf8_is_malformed_json(client: TestClient) -> None:
    answer = client.post("/jobs", content=b"\xff\xfe{", headers={**ADMIN, "Content-Type": "application/json"})
    assert answer.status_code == 422

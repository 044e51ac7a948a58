"""Dashboard access, decided on the route Flask matched: every rule x method x path variant x key x origin."""

from __future__ import annotations

import asyncio
import itertools
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from flask import Flask
from redis import Redis
from starlette.types import ASGIApp, Message

from service.auth import parse_keys
from service.dashboard.access import Access, RouteAccess, action_refusal, same_origin
from service.dashboard.mount import DashboardConfig, build_flask_app
from tests.support.keys import ADMIN_KEY, KEYS

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
KEY_NAMES = {"admin": ADMIN_KEY, "write": "test-write-key", "read": "test-read-key"}
ORIGINS = {"same": "http://testserver", "foreign": "https://evil.example", "none": None}


def flask_app(redis: Redis) -> Flask:
    config = DashboardConfig(lambda: redis, "redis://localhost/0", ["default"], parse_keys(KEYS), 100)
    return build_flask_app(config)


def concrete(rule: str, job_id: str) -> str:
    """A URL for `rule` whose values name things that exist."""
    values = {
        "instance_number": "0",
        "queue_name": "default",
        "registry_name": "failed",
        "per_page": "8",
        "order": "asc",
        "page": "1",
        "job_id": job_id,
        "filename": "css/bootstrap.min.css",
    }
    for name, value in values.items():
        rule = rule.replace(f"<{name}>", value).replace(f"<int:{name}>", value).replace(f"<path:{name}>", value)
    assert "<" not in rule, rule
    return rule


def variants(path: str) -> list[bytes]:
    """The raw paths a client may send for one route: Flask routes each to the same view."""
    inner = path.lstrip("/")
    return [
        f"/dashboard/{inner}".encode(),
        f"/dashboard//{inner}".encode(),
        f"/dashboard/./{inner}".encode(),
        f"/dashboard/{inner.replace('/', '%2F', 1)}".encode(),
        f"/dashboard/{inner}/".encode(),
    ]


async def asgi_status(app: ASGIApp, method: str, raw_path: bytes, headers: dict[str, str]) -> int:
    """Send one request straight into the ASGI app, raw path and all (an HTTP client would tidy it)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(raw_path.decode()),  # as uvicorn decodes it
        "raw_path": raw_path,
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *((k.lower().encode(), v.encode()) for k, v in headers.items())],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    statuses: list[int] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(int(message["status"]))

    await app(scope, receive, send)
    return statuses[0]


def failed_job(client: TestClient, redis: Redis) -> str:
    answer = client.post("/jobs", json={"task": "tests.echo", "args": [1]}, headers={"X-API-Key": ADMIN_KEY})
    job_id = str(answer.json()["id"])
    redis.lrem("rq:queue:default", 0, job_id)
    redis.hset(f"rq:job:{job_id}", "status", "failed")
    redis.zadd("rq:failed:default", {job_id: 1e12})
    return job_id


def test_every_rule_method_variant_key_and_origin(client: TestClient, redis: Redis) -> None:
    # Given: a failed job and a queued one, which any action that slips through would change
    job_id = failed_job(client, redis)
    queued = client.post("/jobs", json={"task": "tests.echo", "args": [2]}, headers={"X-API-Key": ADMIN_KEY})
    routes = flask_app(redis).url_map
    access = RouteAccess.of(routes)

    cases = itertools.product(routes.iter_rules(), METHODS, KEY_NAMES.items(), ORIGINS.items())
    for rule, method, (scope, key), (origin_name, origin) in cases:
        if scope == "admin" and origin_name == "same":
            continue  # the one combination allowed to act; tested below
        headers = {"X-API-Key": key, **({"Origin": origin} if origin else {})}
        for raw_path in variants(concrete(rule.rule, job_id)):
            # When: the request arrives, in any spelling
            status = asyncio.run(asgi_status(client.app, method, raw_path, headers))
            # Then: an action never goes through; a read is answered, never with a 500
            if access.of_endpoint(rule.endpoint) is Access.ACTION:
                assert status >= 300, (method, raw_path, scope, origin_name, status)
            assert status < 500, (method, raw_path, scope, origin_name, status)

    # Then: nothing changed, and no dashboard request was audited as an action
    assert redis.zscore("rq:failed:default", job_id) is not None
    assert redis.lrange("rq:queue:default", 0, -1) == [queued.json()["id"].encode()]
    actions = [e["action"] for e in client.get("/audit", headers={"X-API-Key": ADMIN_KEY}).json()["entries"]]
    assert [action for action in actions if action.startswith("dashboard.")] == []


def test_doubled_slash_requeue_with_a_read_key_is_refused(client: TestClient, redis: Redis) -> None:
    job_id = failed_job(client, redis)
    headers = {"X-API-Key": "test-read-key", "Origin": "https://evil.example"}
    answer = client.get("/dashboard//requeue/default", headers=headers)
    assert answer.status_code == 403
    assert redis.zscore("rq:failed:default", job_id) is not None


def test_admin_from_the_dashboard_acts_whatever_the_spelling(client: TestClient, redis: Redis) -> None:
    job_id = failed_job(client, redis)
    headers = {"X-API-Key": ADMIN_KEY, "Origin": "http://testserver"}
    status = asyncio.run(asgi_status(client.app, "GET", b"/dashboard//requeue/default", headers))
    assert status == 200
    assert redis.zscore("rq:failed:default", job_id) is None
    entries = client.get("/audit", headers={"X-API-Key": ADMIN_KEY}).json()["entries"]
    assert [e["action"] for e in entries if e["action"].startswith("dashboard.")] == [
        "dashboard.GET /dashboard/requeue/default"
    ]


def test_every_rule_is_classified_by_the_url_map(redis: Redis) -> None:
    access = RouteAccess.of(flask_app(redis).url_map)
    assert access.actions == {
        "rq_dashboard.delete_job_view",
        "rq_dashboard.requeue_job_view",
        "rq_dashboard.requeue_all",
        "rq_dashboard.empty_queue",
        "rq_dashboard.compact_queue",
    }
    assert access.of_endpoint("rq_dashboard.job_view") is Access.READ


def test_a_route_nobody_classified_is_refused_whatever_the_method(redis: Redis) -> None:
    # Given: an upgrade adds a GET route that changes state, unknown to the access rules
    app = flask_app(redis)
    ran: list[str] = []
    app.add_url_rule("/new-thing", "new_thing", lambda: ran.append("ran") or "done")
    # When: any key asks for it
    answers = [app.test_client().get("/new-thing", headers={"X-API-Key": key}) for key in KEY_NAMES.values()]
    # Then: refused, and it never ran
    assert [answer.status_code for answer in answers] == [403, 403, 403]
    assert ran == []


@pytest.mark.parametrize(
    "origin",
    [
        "http://testserver.evil.example",
        "http://evil.example/testserver",
        "http://evil.example/?http://testserver",
        "http://testserver@evil.example",
        "http://evil.example#testserver",
        "null",
        "testserver",
        "//testserver",
        "javascript://testserver",
        "",
    ],
)
def test_look_alike_origins_are_foreign(origin: str) -> None:
    assert not same_origin("testserver", origin)


def test_the_dashboard_itself_is_same_origin() -> None:
    assert same_origin("testserver", "http://testserver")
    assert same_origin("testserver:8000", "https://testserver:8000/dashboard/0/view/queues")


def test_a_referer_with_the_host_in_its_path_is_refused(client: TestClient) -> None:
    headers = {"X-API-Key": ADMIN_KEY, "Referer": "https://evil.example/http://testserver/dashboard/"}
    assert client.post("/dashboard/queue/default/queued/empty", headers=headers).status_code == 403


def test_only_admin_keys_act() -> None:
    reader, writer, admin = (parse_keys(KEYS)[i] for i in (1, 2, 0))
    assert action_refusal(reader, "h", "http://h") is not None
    assert action_refusal(writer, "h", "http://h") is not None
    assert action_refusal(admin, "h", "http://h") is None

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.auth import Scope, find_key, parse_keys
from service.settings import ServiceSettings
from tests.support.keys import KEYS

READ = {"X-API-Key": "test-read-key"}
WRITE = {"Authorization": "Bearer test-write-key"}
ADMIN = {"Authorization": "Bearer test-admin-key"}


def test_parse_keys() -> None:
    keys = parse_keys(["plain", "ci:write:secret", "ops:admin:with:colons"])
    assert [(k.name, k.scope) for k in keys] == [("key1", Scope.admin), ("ci", Scope.write), ("ops", Scope.admin)]
    assert keys[2].secret == "with:colons"
    assert find_key(keys, "secret") == keys[1]
    assert find_key(keys, "wrong") is None


@pytest.mark.parametrize(
    "entry",
    ["odd:nope:secret-key", "a:b:c", "only:one-colon", ":read:no-name", "empty:read:", "ci:Read:secret-key"],
)
def test_an_entry_that_is_neither_form_is_refused(entry: str) -> None:
    """A mistyped scope used to make an admin key; an entry with colons must be `name:scope:KEY`."""
    with pytest.raises(ValueError, match=r"API_KEYS entry 2 ") as refused:
        parse_keys(["plain", entry])
    assert "read, write or admin" in str(refused.value)
    assert entry not in str(refused.value)  # the entry may be a key: never echoed


def test_the_app_refuses_to_start_with_a_mistyped_scope(settings: ServiceSettings) -> None:
    bad = settings.model_copy(update={"api_keys": ["ci:wrtie:secret-key"]})
    with pytest.raises(ValueError, match="API_KEYS entry 1 ") as refused:
        create_app(bad)
    assert "secret-key" not in str(refused.value)


def test_missing_or_wrong_key_is_401(client: TestClient) -> None:
    for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic eDp5"}):
        answer = client.get("/jobs", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"


def test_open_endpoints(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "redis": "ok"}
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200


def test_scopes(client: TestClient) -> None:
    job = {"task": "tests.echo", "args": [1]}
    assert client.get("/jobs", headers=READ).status_code == 200
    assert client.post("/jobs", json=job, headers=READ).status_code == 403
    created = client.post("/jobs", json=job, headers=WRITE)
    assert created.status_code == 202
    assert client.delete(f"/jobs/{created.json()['id']}", headers=WRITE).status_code == 403
    assert client.delete(f"/jobs/{created.json()['id']}", headers=ADMIN).status_code == 200


def changing_routes() -> list[tuple[str, str]]:
    """Every non-GET operation of the app's own route table (its OpenAPI document), so a new one is tested too."""
    paths = create_app(ServiceSettings(api_keys=KEYS, task_modules=["tests.tasks"])).openapi()["paths"]
    return sorted((method.upper(), path) for path, item in paths.items() for method in item if method != "get")


CHANGING = changing_routes()
SUBMISSION = {("POST", "/jobs"), ("POST", "/jobs/batch")}  # the only changes a write key may make


def test_the_route_table_lists_the_schedule_actions() -> None:
    """Guards the derivation itself: an empty or partial table would make the scope test vacuous."""
    assert {("PUT", "/schedules/{name}"), ("POST", "/schedules/{name}/trigger")} <= set(CHANGING)


REFUSED = [pytest.param(READ, *route, id=f"read {route}") for route in CHANGING]
REFUSED += [pytest.param(WRITE, *route, id=f"write {route}") for route in CHANGING if route not in SUBMISSION]


@pytest.mark.parametrize(("headers", "method", "path"), REFUSED)
def test_every_changing_route_refuses_a_smaller_scope(
    client: TestClient, headers: dict[str, str], method: str, path: str
) -> None:
    url = path.replace("{job_id}", "some-job").replace("{name}", "some-schedule")
    answer = client.request(method, url, json={}, headers=headers)
    assert answer.status_code == 403, (method, url, answer.text)


def test_dashboard_auth(client: TestClient) -> None:
    refused = client.get("/dashboard/")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Basic")
    assert client.get("/dashboard/", auth=("anyone", "wrong")).status_code == 401
    page = client.get("/dashboard/", auth=("anyone", "test-read-key"))
    assert page.status_code == 200
    assert "content-security-policy" in page.headers
    data = client.get("/dashboard/0/data/queues.json", headers=ADMIN)
    assert data.status_code == 200
    assert "queues" in data.json()


def test_dashboard_refuses_cross_site_actions(client: TestClient) -> None:
    url = "/dashboard/queue/default/queued/empty"
    evil = client.post(url, headers={**ADMIN, "Origin": "https://evil.example"})
    assert evil.status_code == 403
    reader = client.post(url, headers={**READ, "Origin": "http://testserver"})
    assert reader.status_code == 403
    same_site = client.post(url, headers={**ADMIN, "Origin": "http://testserver"})
    assert same_site.status_code == 200


def test_dashboard_get_requeue_is_an_action(client: TestClient) -> None:
    assert client.get("/dashboard/requeue/default", headers=ADMIN).status_code == 403

"""Times a schedule cannot represent are refused before any write, and a stored one never breaks a read."""

import json
from dataclasses import asdict

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from tests.support.keys import ADMIN
from tests.workers.test_firing_errors import GOOD, store_raw
from workers.core import keys

READ = {"X-API-Key": "test-read-key"}
ECHO = {"task": "tests.echo"}
UNREPRESENTABLE = [
    ({**ECHO, "at": "9999-12-31T23:59:59-14:00"}, "at"),  # year 10000 in UTC
    ({**ECHO, "at": "0001-01-01T00:00:00+14:00"}, "at"),  # year 0 in UTC
    ({**ECHO, "interval": 86_400, "start_at": "9999-12-30T00:00:00Z"}, "start_at"),  # 9999-12-31 fits, then not
    ({**ECHO, "interval": 366 * 86_400, "start_at": "9999-01-01T00:00:00Z"}, "interval"),  # the second run overflows
    ({**ECHO, "cron": "0 3 * * *", "start_at": "9999-12-31T23:00:00-14:00"}, "start_at"),
    ({**ECHO, "cron": "0 0 30 2 *"}, "cron"),  # 30 February never comes
    ({**ECHO, "cron": "0 0 31 4 *"}, "cron"),  # nor 31 April
    ({**ECHO, "cron": "0 0 1 1 1#5"}, "cron"),
]


@pytest.mark.parametrize(("body", "field"), UNREPRESENTABLE)
def test_a_time_the_system_cannot_represent_is_refused_naming_the_field(
    client: TestClient, redis: Redis, body: dict[str, object], field: str
) -> None:
    answer = client.put("/schedules/far", json=body, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    assert field in json.dumps(answer.json()["detail"])
    assert redis.keys("*schedule*") == []


@pytest.mark.parametrize(("body", "field"), UNREPRESENTABLE)
def test_nothing_is_stored_so_every_read_still_answers(client: TestClient, body: dict[str, object], field: str) -> None:
    client.put("/schedules/far", json=body, headers=ADMIN)
    assert client.get("/schedules", headers=READ).status_code == 200
    assert client.get("/dashboard/schedules/", auth=("anyone", "test-read-key")).status_code == 200


STORED_BY_AN_OLDER_VERSION = [
    {"at": 253402351199.0, "interval": None},  # 9999-12-31T23:59:59-14:00
    {"at": -62135647200.0, "interval": None},  # 0001-01-01T00:00:00+14:00
    {"start_at": 253402214400.0, "interval": 366 * 86_400},  # next due times pass year 9999
    {"cron": "0 0 30 2 *", "interval": None},
    {"cron": "0 3 * * *", "interval": None, "timezone": "Mars/Base"},
]


@pytest.fixture(params=STORED_BY_AN_OLDER_VERSION)
def stored_bad(request: pytest.FixtureRequest, redis: Redis) -> str:
    """A definition the API now refuses, written straight to Redis, with an unrepresentable due time."""
    store_raw(redis, "old", json.dumps({**asdict(GOOD), "name": "old", **request.param}))
    redis.zadd(keys.SCHEDULES_DUE, {"old": 253402351199.0})
    return "old"


def test_a_stored_bad_definition_is_listed_without_upcoming_times(client: TestClient, stored_bad: str) -> None:
    listed = client.get("/schedules", headers=READ)
    assert listed.status_code == 200, listed.text
    assert [s["upcoming"] for s in listed.json()["schedules"]] == [[]]


def test_a_stored_bad_definition_reads_alone_with_nulls(client: TestClient, stored_bad: str) -> None:
    one = client.get(f"/schedules/{stored_bad}", headers=READ)
    assert one.status_code == 200, one.text
    assert one.json()["next_run_at"] is None


def test_a_stored_bad_definition_keeps_its_runs_readable(client: TestClient, stored_bad: str) -> None:
    assert client.get(f"/schedules/{stored_bad}/runs", headers=READ).status_code == 200


def test_a_stored_bad_definition_keeps_the_dashboard_pages_up(client: TestClient, stored_bad: str) -> None:
    auth = ("anyone", "test-read-key")
    assert client.get("/dashboard/schedules/", auth=auth).status_code == 200
    assert client.get(f"/dashboard/schedules/{stored_bad}", auth=auth).status_code == 200


def test_a_stored_bad_definition_pauses_but_resumes_only_once_replaced(client: TestClient, stored_bad: str) -> None:
    assert client.post(f"/schedules/{stored_bad}/pause", headers=ADMIN).status_code == 200
    assert client.post(f"/schedules/{stored_bad}/resume", headers=ADMIN).status_code == 422


UNREADABLE = [
    "not json at all",  # no version of the code can read it
    json.dumps({**asdict(GOOD), "name": "broken", "added_by_a_later_version": 1}),  # after a rollback
    json.dumps({**asdict(GOOD), "name": "broken", "timeout": "soon"}),  # a field of the wrong type
]


@pytest.fixture(params=UNREADABLE)
def unreadable(request: pytest.FixtureRequest, client: TestClient, redis: Redis) -> str:
    """A good schedule beside one whose stored definition this version cannot read or show."""
    assert client.put("/schedules/good", json={**ECHO, "interval": 10}, headers=ADMIN).status_code == 201
    store_raw(redis, "broken", request.param)
    return "broken"


def test_an_unreadable_definition_leaves_the_others_listed(client: TestClient, unreadable: str) -> None:
    listed = client.get("/schedules", headers=READ)
    assert listed.status_code == 200, listed.text
    assert [s["name"] for s in listed.json()["schedules"]] == ["good"]


def test_an_unreadable_definition_reads_as_not_found_saying_why(client: TestClient, unreadable: str) -> None:
    one = client.get(f"/schedules/{unreadable}", headers=READ)
    assert one.status_code == 404
    assert "cannot be read" in one.json()["detail"]


def test_an_unreadable_definition_leaves_the_dashboard_list_up(client: TestClient, unreadable: str) -> None:
    assert client.get("/dashboard/schedules/", auth=("anyone", "test-read-key")).status_code == 200


def test_an_unreadable_definition_is_healed_by_a_put(client: TestClient, unreadable: str) -> None:
    assert client.put(f"/schedules/{unreadable}", json={**ECHO, "interval": 10}, headers=ADMIN).status_code < 300
    assert client.get(f"/schedules/{unreadable}", headers=READ).json()["interval"] == 10


def test_a_put_without_start_at_replaces_a_stored_start_no_datetime_can_show(client: TestClient, redis: Redis) -> None:
    store_raw(redis, "old", json.dumps({**asdict(GOOD), "name": "old", "start_at": 253402351199.0}))
    assert client.put("/schedules/old", json={**ECHO, "interval": 10}, headers=ADMIN).status_code == 200


@pytest.mark.parametrize("spec", UNREADABLE[:2])  # the third the page can show: Jinja needs no types
def test_the_dashboard_says_why_it_cannot_show_an_unreadable_definition(
    client: TestClient, redis: Redis, spec: str
) -> None:
    store_raw(redis, "broken", spec)
    page = client.get("/dashboard/schedules/broken", auth=("anyone", "test-read-key"))
    assert page.status_code == 404
    assert "cannot be read" in page.text

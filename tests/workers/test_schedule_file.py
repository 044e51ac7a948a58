"""SCHEDULES_FILE in YAML and TOML, applied with the PUT upsert."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from redis import Redis

from service.app import create_app
from service.settings import ServiceSettings
from tests.support.keys import ADMIN
from workers.core import keys
from workers.schedules import store as schedule_store
from workers.schedules.file import apply_schedules_file, read_schedules_file

YAML = """
schedules:
  - name: nightly-report
    task: tests.echo
    args: [7]
    cron: "0 3 * * *"
    timezone: Asia/Shanghai
  - name: heartbeat
    task: tests.echo
    interval: 30
    start_at: 2026-01-01T00:00:00Z
"""

NOW = 1_800_000_000.0
ECHO = {"task": "tests.echo"}
JSON_ADMIN = {**ADMIN, "Content-Type": "application/json"}
TOML = """
[[schedules]]
name = "weekly"
task = "tests.echo"
cron = "0 9 * * 1"
timezone = "Europe/Berlin"
retry = {max = 2, backoff = 10}
"""


def test_yaml_and_toml(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(YAML)
    (tmp_path / "s.toml").write_text(TOML)
    yaml_specs = read_schedules_file(tmp_path / "s.yaml", NOW)
    assert [s.name for s in yaml_specs] == ["nightly-report", "heartbeat"]
    assert yaml_specs[1].start_at == 1767225600.0
    toml_specs = read_schedules_file(tmp_path / "s.toml", NOW)
    assert toml_specs[0].retry == {"max": 2, "backoff": 10}


def test_bad_entry_names_itself(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("- {name: ok, task: tests.echo, interval: 5}\n- {name: bad, task: tests.echo}\n")
    with pytest.raises(ValueError, match="schedule #2"):
        read_schedules_file(tmp_path / "bad.yaml", NOW)


def test_applying_twice_never_duplicates(tmp_path: Path, redis: Redis) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(YAML)
    apply_schedules_file(redis, path, now=1_800_000_000.0, audit_max_entries=100)
    first = {i.spec.name: i for i in schedule_store.list_all(redis)}
    apply_schedules_file(redis, path, now=1_800_000_100.0, audit_max_entries=100)
    second = {i.spec.name: i for i in schedule_store.list_all(redis)}
    assert list(second) == ["heartbeat", "nightly-report"]
    assert all(second[n].updated_at == first[n].updated_at for n in first)


def test_web_applies_the_file_at_start(tmp_path: Path, settings: ServiceSettings, redis: Redis) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(YAML)
    with TestClient(create_app(settings.model_copy(update={"schedules_file": path}))) as client:
        names = [s["name"] for s in client.get("/schedules", headers=ADMIN).json()["schedules"]]
    assert names == ["heartbeat", "nightly-report"]


def write_entries(path: Path, *entries: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({"schedules": list(entries)}))
    return path


def nothing_stored(redis: Redis) -> bool:
    return redis.exists(keys.SCHEDULE_NAMES) == 0 and redis.zcard(keys.SCHEDULES_DUE) == 0


# (entry, the field its error must name): out of the API's limits, or times it cannot show.
BEYOND_THE_LIMITS = [
    ({"interval": 1e18}, "interval"),
    ({"interval": 30, "timeout": -5}, "timeout"),
    ({"interval": 30, "retry": {"max": 100_000}}, "retry"),
    ({"interval": 30, "repeat": -1}, "repeat"),
    ({"at": "9999-12-31T23:59:59-14:00"}, "at"),
    ({"cron": "0 0 30 2 *"}, "cron"),
    ({"interval": 30, "queue": "no such queue!"}, "queue"),
    ({"interval": 30, "surprise": 1}, "surprise"),
]


NOT_NUMBERS = [  # YAML's .nan and .inf; the API's JSON bodies are another helper's (its 422 cannot echo them yet)
    ({"interval": float("nan")}, "interval"),
    ({"interval": 30, "misfire_grace_time": float("inf")}, "misfire_grace_time"),
]


@pytest.mark.parametrize(("fields", "field"), BEYOND_THE_LIMITS + NOT_NUMBERS)
def test_an_entry_beyond_the_api_limits_is_refused_naming_entry_and_field(
    tmp_path: Path, redis: Redis, fields: dict[str, Any], field: str
) -> None:
    path = write_entries(
        tmp_path / "s.yaml", {"name": "fine", **ECHO, "interval": 5}, {"name": "bad", **ECHO, **fields}
    )
    with pytest.raises(ValueError, match="schedule #2") as refused:
        apply_schedules_file(redis, path, now=1_800_000_000.0, audit_max_entries=100)
    assert "'bad'" in str(refused.value)
    assert field in str(refused.value)
    assert nothing_stored(redis)


def test_a_good_entry_before_a_bad_one_is_not_written(tmp_path: Path, redis: Redis) -> None:
    good, bad = {"name": "good", **ECHO, "interval": 5}, {"name": "bad", **ECHO, "at": "0001-01-01T00:00:00+14:00"}
    with pytest.raises(ValueError, match="schedule #2"):
        apply_schedules_file(
            redis, write_entries(tmp_path / "s.yaml", good, bad), now=1_800_000_000.0, audit_max_entries=100
        )
    assert nothing_stored(redis)


def test_an_entry_that_is_not_a_mapping_is_named(tmp_path: Path, redis: Redis) -> None:
    (tmp_path / "s.yaml").write_text("- just a string\n")
    with pytest.raises(ValueError, match="schedule #1"):
        apply_schedules_file(redis, tmp_path / "s.yaml", now=1_800_000_000.0, audit_max_entries=100)
    assert nothing_stored(redis)


@pytest.mark.parametrize(("fields", "field"), BEYOND_THE_LIMITS)
def test_the_api_refuses_the_same_entries_naming_the_same_field(
    client: TestClient, redis: Redis, fields: dict[str, Any], field: str
) -> None:
    answer = client.put("/schedules/bad", content=json.dumps({**ECHO, **fields}), headers=JSON_ADMIN)
    assert answer.status_code == 422, answer.text
    assert field in answer.text
    assert nothing_stored(redis)

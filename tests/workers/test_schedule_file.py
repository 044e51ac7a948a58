"""SCHEDULES_FILE in YAML and TOML, applied with the PUT upsert."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from service.app import create_app
from service.settings import ServiceSettings
from tests.support.keys import ADMIN
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
    yaml_specs = read_schedules_file(tmp_path / "s.yaml")
    assert [s.name for s in yaml_specs] == ["nightly-report", "heartbeat"]
    assert yaml_specs[1].start_at == 1767225600.0
    toml_specs = read_schedules_file(tmp_path / "s.toml")
    assert toml_specs[0].retry == {"max": 2, "backoff": 10}


def test_bad_entry_names_itself(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("- {name: ok, task: tests.echo, interval: 5}\n- {name: bad, task: tests.echo}\n")
    with pytest.raises(ValueError, match="schedule #2"):
        read_schedules_file(tmp_path / "bad.yaml")


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

"""A schedule's callback_url: checked against CALLBACK_HOSTS (API and SCHEDULES_FILE), carried by each run."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis import Redis

from workers.callbacks.hosts import parse_hosts
from workers.callbacks.state import callback_url
from workers.core.errors import InvalidJobError
from workers.core.settings import Settings
from workers.jobs import submit as jobs
from workers.schedules import store as schedule_store
from workers.schedules.file import read_schedules_file
from workers.schedules.firing import trigger
from workers.schedules.spec import ScheduleSpec, check_callback

NOW = 1_800_000_000.0
HOOKED = """
- name: hooked
  task: tests.echo
  interval: 60
  callback_url: https://hooks.example.com/rqs
"""


def test_a_file_entry_needs_a_listed_host(tmp_path: Path) -> None:
    path = tmp_path / "schedules.yaml"
    path.write_text(HOOKED)
    with pytest.raises(ValueError, match=r"schedule #1 \('hooked'\): callbacks are off"):
        read_schedules_file(path, NOW)
    with pytest.raises(ValueError, match="not listed in CALLBACK_HOSTS"):
        read_schedules_file(path, NOW, parse_hosts(["other.example.com"]))
    [spec] = read_schedules_file(path, NOW, parse_hosts(["hooks.example.com"]))
    assert spec.callback_url == "https://hooks.example.com/rqs"


def test_a_malformed_url_is_refused_whatever_the_hosts() -> None:
    with pytest.raises(InvalidJobError, match="http:// or https://"):
        ScheduleSpec(name="s", task="tests.echo", interval=60, callback_url="gopher://x/").validate()


def test_each_run_carries_the_callback(redis: Redis, settings: Settings) -> None:
    spec = ScheduleSpec(name="hooked", task="tests.echo", interval=60, callback_url="https://hooks.example.com/rqs")
    hooked = settings.model_copy(update={"callback_hosts": ["hooks.example.com"]})
    schedule_store.upsert(redis, check_callback(spec, hooked), NOW)
    job = jobs.fetch(redis, trigger(redis, settings, schedule_store.get(redis, "hooked").spec, NOW))
    assert callback_url(job.meta) == "https://hooks.example.com/rqs"


def test_a_definition_without_a_callback_stores_as_before() -> None:
    spec = ScheduleSpec(name="plain", task="tests.echo", interval=60)
    assert "callback_url" not in spec.to_json()
    assert ScheduleSpec.from_json(spec.to_json()) == spec
